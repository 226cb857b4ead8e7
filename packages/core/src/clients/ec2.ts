import { EC2Client } from '@aws-sdk/client-ec2';
import { type ClientOptions, SDK_DEFAULTS } from '../clients.js';

/** The injected `ec2` client, or one built from the standard AWS environment. */
export const defaultEc2 = (o: ClientOptions = {}): EC2Client => o.ec2 ?? new EC2Client(SDK_DEFAULTS);
