import { STSClient } from '@aws-sdk/client-sts';
import { type ClientOptions, SDK_DEFAULTS } from '../clients.js';

/** The injected `sts` client, or one built from the standard AWS environment. */
export const defaultSts = (o: ClientOptions = {}): STSClient => o.sts ?? new STSClient(SDK_DEFAULTS);
