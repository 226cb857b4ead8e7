import { SSMClient } from '@aws-sdk/client-ssm';
import { type ClientOptions, SDK_DEFAULTS } from '../clients.js';

/** The injected `ssm` client, or one built from the standard AWS environment. */
export const defaultSsm = (o: ClientOptions = {}): SSMClient => o.ssm ?? new SSMClient(SDK_DEFAULTS);
