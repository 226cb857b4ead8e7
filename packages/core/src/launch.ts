import {
  type EC2Client,
  type Instance,
  type InstanceMetadataOptionsRequest,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import { defaultEc2 } from './clients/ec2.js';
import { defaultIam } from './clients/iam.js';
import { explainEc2Error, isNoSuchEntity, isPropagationError } from './ec2-errors.js';
import { hopLimitProblems, parseProfileRef, profileProblems } from './ec2-ids.js';
import { assertNoProblems, ResourceNotFoundError } from './errors.js';
import { retryWhilePropagating, type WaitEvent } from './retry.js';

export interface WithInstanceRoleOptions {
  /** Instance profile name or ARN. */
  readonly instanceProfile: string;
  /** The instance runs containers that read IMDS: hop limit 2 instead of 1. @default false */
  readonly containers?: boolean;
  /** Explicit PUT response hop limit (1..64); wins over `containers`. */
  readonly hopLimit?: number;
}

/**
 * Return `input` with the instance profile set and IMDSv2 required: `MetadataOptions` gets
 * `HttpTokens: 'required'`, `HttpEndpoint: 'enabled'` and `HttpPutResponseHopLimit` 1 (2 with `containers`).
 * Metadata options already in `input` are kept over these defaults; `hopLimit` wins over both. Pure: no AWS call.
 *
 * @throws ValidationError for a malformed profile or hop limit.
 * @example
 * const input = withInstanceRole({ ImageId: 'ami-12c6146b', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }, {
 *   instanceProfile: 'web',
 * });
 * input.MetadataOptions; // { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' }
 */
export function withInstanceRole(
  input: RunInstancesCommandInput,
  options: WithInstanceRoleOptions,
): RunInstancesCommandInput {
  assertNoProblems([...profileProblems(options.instanceProfile), ...hopLimitProblems(options.hopLimit)]);
  const ref = parseProfileRef(options.instanceProfile);
  const defaults: InstanceMetadataOptionsRequest = {
    HttpTokens: 'required',
    HttpPutResponseHopLimit: options.containers ? 2 : 1,
    HttpEndpoint: 'enabled',
  };
  return {
    ...input,
    IamInstanceProfile: ref.arn ? { Arn: ref.arn } : { Name: ref.name },
    MetadataOptions: {
      ...defaults,
      ...input.MetadataOptions,
      ...(options.hopLimit === undefined ? {} : { HttpPutResponseHopLimit: options.hopLimit }),
    },
  };
}

export interface LaunchWithRoleOptions extends WithInstanceRoleOptions {
  readonly signal?: AbortSignal;
  /** Deadline for waiting until EC2 sees the profile. @default 120_000 */
  readonly deadlineMs?: number;
  readonly onEvent?: (event: WaitEvent) => void;
}

export interface LaunchClients {
  readonly ec2?: EC2Client;
  readonly iam?: IAMClient;
  /** Used only to decode an encoded "not authorized" message. */
  readonly sts?: STSClient;
}

export interface LaunchResult {
  readonly instanceIds: readonly string[];
  readonly reservationId?: string;
  readonly instances: readonly Instance[];
  /** The input that was sent, with the role and metadata options. */
  readonly input: RunInstancesCommandInput;
}

/**
 * Launch instances with an instance profile and IMDSv2 required (see {@link withInstanceRole}), retrying
 * only while EC2 cannot yet see a freshly created profile. An unknown profile fails before launching.
 *
 * @throws ResourceNotFoundError when IAM has no such instance profile.
 * @throws PassRoleDeniedError when the caller may not pass the profile's role.
 * @throws PropagationTimeoutError when EC2 still cannot see the profile at the deadline.
 * @example
 * const { instanceIds } = await launchWithRole(
 *   { ImageId: 'ami-12c6146b', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 },
 *   { instanceProfile: 'web', containers: true },
 * );
 */
export async function launchWithRole(
  input: RunInstancesCommandInput,
  options: LaunchWithRoleOptions,
  clients: LaunchClients = {},
): Promise<LaunchResult> {
  const request = withInstanceRole(input, options);
  const ref = parseProfileRef(options.instanceProfile);
  const roleArn = await roleOfProfile(ref.name, options.instanceProfile, clients.iam);
  const ec2 = defaultEc2(clients);
  try {
    const out = await retryWhilePropagating(() => ec2.send(new RunInstancesCommand(request)), {
      waitingFor: `EC2 to see instance profile "${ref.name}" (RunInstances)`,
      isRetryable: isPropagationError,
      deadlineMs: options.deadlineMs,
      signal: options.signal,
      onEvent: options.onEvent,
    });
    const instances = out.Instances ?? [];
    return {
      instanceIds: instances.map((i) => i.InstanceId ?? ''),
      reservationId: out.ReservationId,
      instances,
      input: request,
    };
  } catch (err) {
    throw await explainEc2Error(err, {
      operation: 'RunInstances',
      profile: options.instanceProfile,
      roleArn,
      sts: clients.sts,
    });
  }
}

/** The profile's role ARN from IAM; undefined when the caller may not read it. */
async function roleOfProfile(
  name: string,
  given: string,
  iam: IAMClient | undefined,
): Promise<string | undefined> {
  try {
    const out = await defaultIam({ iam }).send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    return out.InstanceProfile?.Roles?.[0]?.Arn;
  } catch (err) {
    if (isNoSuchEntity(err)) throw new ResourceNotFoundError('instance-profile', given, err);
    return undefined;
  }
}
