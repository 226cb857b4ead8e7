import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';

/**
 * Clients may be injected; any that is not is built from the standard AWS environment
 * (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_PROFILE`, ...), with the SDK's adaptive retry for throttling.
 */
export interface ClientOptions {
  readonly iam?: IAMClient;
  readonly ec2?: EC2Client;
  readonly ssm?: SSMClient;
  readonly sts?: STSClient;
}

const shared = () => ({ retryMode: 'adaptive' as const, maxAttempts: 6 });

export const defaultIam = (o: ClientOptions = {}): IAMClient => o.iam ?? new IAMClient(shared());
export const defaultEc2 = (o: ClientOptions = {}): EC2Client => o.ec2 ?? new EC2Client(shared());
export const defaultSsm = (o: ClientOptions = {}): SSMClient => o.ssm ?? new SSMClient(shared());
export const defaultSts = (o: ClientOptions = {}): STSClient => o.sts ?? new STSClient(shared());
