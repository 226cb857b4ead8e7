import {
  type EC2Client,
  type InstanceMetadataOptionsResponse,
  ModifyInstanceMetadataOptionsCommand,
} from '@aws-sdk/client-ec2';
import { defaultEc2 } from './clients/ec2.js';
import { explainEc2Error } from './ec2-errors.js';
import { hopLimitProblems, instanceIdProblems } from './ec2-ids.js';
import { assertNoProblems } from './errors.js';

export interface RequireImdsV2Options {
  /** PUT response hop limit: 1 keeps tokens on the instance; 2 lets containers (one extra hop) reach IMDS. @default 1 */
  readonly hopLimit?: number;
  readonly ec2?: EC2Client;
}

export interface ImdsV2Result {
  readonly instanceId: string;
  readonly httpTokens: 'required';
  readonly hopLimit: number;
  /** As EC2 answered (its `State` is `pending` until the change is applied). */
  readonly metadataOptions?: InstanceMetadataOptionsResponse;
}

/**
 * Require IMDSv2 (session tokens) on a running or stopped instance, in place, with
 * `ModifyInstanceMetadataOptions`: `HttpTokens: 'required'`, `HttpEndpoint: 'enabled'`, and the hop limit.
 *
 * @throws ValidationError for a malformed instance ID or a hop limit outside 1..64, before any call.
 * @throws ResourceNotFoundError when the instance does not exist.
 * @example
 * await requireImdsV2('i-0123456789abcdef0', { hopLimit: 2 }); // the instance runs containers
 */
export async function requireImdsV2(
  instanceId: string,
  options: RequireImdsV2Options = {},
): Promise<ImdsV2Result> {
  assertNoProblems([...instanceIdProblems(instanceId), ...hopLimitProblems(options.hopLimit)]);
  const hopLimit = options.hopLimit ?? 1;
  const command = new ModifyInstanceMetadataOptionsCommand({
    InstanceId: instanceId,
    HttpTokens: 'required',
    HttpEndpoint: 'enabled',
    HttpPutResponseHopLimit: hopLimit,
  });
  try {
    const out = await defaultEc2(options).send(command);
    return { instanceId, httpTokens: 'required', hopLimit, metadataOptions: out.InstanceMetadataOptions };
  } catch (err) {
    throw await explainEc2Error(err, { operation: 'ModifyInstanceMetadataOptions', instanceId });
  }
}
