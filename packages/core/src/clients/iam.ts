import { IAMClient } from '@aws-sdk/client-iam';
import { type ClientOptions, SDK_DEFAULTS } from '../clients.js';

/** The injected `iam` client, or one built from the standard AWS environment. */
export const defaultIam = (o: ClientOptions = {}): IAMClient => o.iam ?? new IAMClient(SDK_DEFAULTS);
