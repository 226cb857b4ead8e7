import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import { type AttachEvent, type AttachRoleResult, attachRole } from './attach-role.js';
import { hopLimitProblems, instanceIdProblems } from './ec2-ids.js';
import { type EnsureEvent, type EnsureResult, ensureInstanceRole } from './ensure-instance-role.js';
import { assertNoProblems, type Problem } from './errors.js';
import { type InstanceRoleSpec, validateSpec } from './spec.js';

export interface AttachTargets {
  /** Instances to give the role, attached one after another. */
  readonly instances: readonly string[];
  /** Replace another profile already on an instance. @default false */
  readonly replace?: boolean;
  /** Also require IMDSv2 on each instance with this hop limit. @default not changed */
  readonly metadata?: { readonly hopLimit?: number };
}

export interface EnsureAndAttachOptions {
  readonly iam?: IAMClient;
  readonly ec2?: EC2Client;
  readonly sts?: STSClient;
  readonly signal?: AbortSignal;
  /** Deadline for each propagation wait. @default 120_000 */
  readonly deadlineMs?: number;
  readonly onEvent?: (event: EnsureEvent | AttachEvent) => void;
}

export interface EnsureAndAttachResult {
  readonly ensure: EnsureResult;
  /** One per instance, in the order given. */
  readonly attachments: readonly AttachRoleResult[];
}

/**
 * Ensure the role and its instance profile, then attach the profile to each instance: the whole of
 * "give these instances this role" in one call. Every instance ID is checked before any write; the
 * first attach waits for EC2 to see a freshly created profile, the others then go straight through.
 * Stops at the first instance that fails.
 *
 * @throws ValidationError (nothing written) for a bad spec or instance ID.
 * @example
 * const { ensure, attachments } = await ensureAndAttach(
 *   { name: 'web', policies: ['s3-read-only'] },
 *   { instances: ['i-0123456789abcdef0'], metadata: { hopLimit: 1 } },
 * );
 */
export async function ensureAndAttach(
  spec: InstanceRoleSpec,
  targets: AttachTargets,
  options: EnsureAndAttachOptions = {},
): Promise<EnsureAndAttachResult> {
  assertNoProblems([...validateSpec(spec), ...targetProblems(targets)]);
  const ensure = await ensureInstanceRole(spec, {
    iam: options.iam,
    sts: options.sts,
    signal: options.signal,
    onEvent: options.onEvent,
  });
  const attachments: AttachRoleResult[] = [];
  for (const instanceId of targets.instances) {
    const input = { instanceId, instanceProfile: ensure.instanceProfile.name, replace: targets.replace };
    attachments.push(
      await attachRole(targets.metadata ? { ...input, metadata: targets.metadata } : input, {
        ec2: options.ec2,
        iam: options.iam,
        sts: options.sts,
        signal: options.signal,
        deadlineMs: options.deadlineMs,
        onEvent: options.onEvent,
        profileJustCreated: ensure.changed,
        knownProfile: { arn: ensure.instanceProfile.arn, roleArn: ensure.role.arn },
      }),
    );
  }
  return { ensure, attachments };
}

function targetProblems(targets: AttachTargets): Problem[] {
  const list = targets?.instances ?? [];
  const problems = list.flatMap((id, i) => instanceIdProblems(id, `instances[${i}]`));
  if (list.length === 0) problems.push({ field: 'instances', rule: 'at least one instance ID' });
  return [...problems, ...hopLimitProblems(targets?.metadata?.hopLimit, 'metadata.hopLimit')];
}
