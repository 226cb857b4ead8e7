import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';

/**
 * Clients may be injected; any that is not is built from the standard AWS environment
 * (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_PROFILE`, ...), with the SDK's adaptive retry for throttling.
 * Each default lives in its own module (`clients/iam.ts`, ...) so a command loads only the SDK clients it uses.
 */
export interface ClientOptions {
  readonly iam?: IAMClient;
  readonly ec2?: EC2Client;
  readonly ssm?: SSMClient;
  readonly sts?: STSClient;
}

/** Throttling is the SDK's job: adaptive client-side rate limiting, 6 attempts. */
export const SDK_DEFAULTS = { retryMode: 'adaptive', maxAttempts: 6 } as const;
