import { GetPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { type ApplyResult, applyPlan, sleep, waitUntilReadable } from './apply.js';
import { defaultIam } from './clients/iam.js';
import { defaultSts } from './clients/sts.js';
import {
  AbortedError,
  AwsOperationError,
  assertNoProblems,
  InstanceRoleError,
  type Problem,
} from './errors.js';
import { type ObservedState, observeInstanceRole } from './observe.js';
import { accountOf, type Change, type Plan, planFromDesired } from './plan.js';
import { PRESETS_POLICY_NAME } from './policy-lint.js';
import type { Expectations, Partition } from './presets.js';
import { type InstanceRoleSpec, needsAccountId, resolveSpec, specPartition, validateSpec } from './spec.js';

export interface EnsureOptions {
  /** @default a client from the environment (AWS_REGION, AWS_ENDPOINT_URL, ...) */
  readonly iam?: IAMClient;
  /** Used only to learn the account ID when a new role needs it for preset ARNs. @default from the environment */
  readonly sts?: STSClient;
  /** Return the plan without writing. @default false */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  /** Progress, for CLIs and logs. */
  readonly onEvent?: (event: EnsureEvent) => void;
  /** How long to wait for a new role and profile to become readable. @default 120 */
  readonly maxWaitSeconds?: number;
}

export type EnsureEvent =
  | { readonly type: 'observed'; readonly observed: ObservedState }
  | { readonly type: 'planned'; readonly plan: Plan }
  | { readonly type: 'change'; readonly change: Change; readonly status: 'start' | 'done' }
  | { readonly type: 'concurrent-change'; readonly change: Change; readonly awsCode: string }
  | { readonly type: 'waiting'; readonly name: string };

/** The `expect` manifest the agent verifies on the instance. */
export interface RoleExpectations extends Expectations {
  /** The role name. */
  readonly role: string;
}

/** What ensureInstanceRole found and did. `ensure --json` prints this object. */
export interface EnsureResult {
  /** The changes that were needed when ensure started. */
  readonly plan: Plan;
  /** The changes made (empty for a dry run or a converged role). */
  readonly applied: readonly Change[];
  readonly changed: boolean;
  readonly dryRun: boolean;
  /** `arn` is '' only in a dry run for a role that does not exist and an account that is unknown. */
  readonly role: { readonly name: string; readonly arn: string };
  readonly instanceProfile: { readonly name: string; readonly arn: string };
  readonly partition: Partition;
  readonly expect: RoleExpectations;
  readonly warnings: readonly string[];
}

const MAX_ROUNDS = 6;
/** After these, wait until IAM serves the role and profile. */
const CREATES: ReadonlySet<Change['kind']> = new Set([
  'create-role',
  'create-instance-profile',
  'add-role-to-instance-profile',
]);

/**
 * Make IAM match the spec: a role EC2 can assume, its policies, tags and boundary, and an instance
 * profile holding it. Observe, plan, apply; re-running on a converged role makes no writes and at most
 * 5 reads: GetRole, GetInstanceProfile, ListAttachedRolePolicies, ListRolePolicies (only with `prune`)
 * and one GetRolePolicy per inline policy (all scoped presets share one), so a spec with `prune` and
 * more than one inline policy costs one read more per extra policy. A concurrent writer doing the same
 * is tolerated: ensure re-observes and continues.
 *
 * @throws ValidationError (nothing written) for a bad spec; NotOwnedError when the role/profile exists
 * without the ownership tag and `adopt` is not set; AwsOperationError when IAM refuses a change.
 * @example
 * const result = await ensureInstanceRole({ name: 'web', policies: ['s3-read:my-bucket/logs'] });
 * console.log(formatPlan(result.plan), result.instanceProfile.arn);
 */
export async function ensureInstanceRole(
  spec: InstanceRoleSpec,
  options: EnsureOptions = {},
): Promise<EnsureResult> {
  assertNoProblems(validateSpec(spec));
  const iam = defaultIam(options);
  const partition = specPartition(spec, await regionOf(iam));
  const emit = options.onEvent ?? (() => {});
  const applied: Change[] = [];
  const created: { roleArn?: string; instanceProfileArn?: string } = {};
  let first: Plan | undefined;
  for (let round = 1; ; round++) {
    const { plan, observed, accountId } = await observeAndPlan(spec, partition, iam, options);
    first ??= plan;
    emit({ type: 'planned', plan });
    if (round === 1) assertNoProblems(await missingPolicies(plan, iam, options.signal));
    if (options.dryRun || plan.changes.length === 0) {
      return result(spec, first, applied, observed, created, accountId, options, plan.warnings);
    }
    const out: ApplyResult = await applyPlan(plan, {
      iam,
      signal: options.signal,
      onChange: (change, status) => emit({ type: 'change', change, status }),
    });
    applied.push(...out.applied);
    Object.assign(created, definedOnly({ roleArn: out.roleArn, instanceProfileArn: out.instanceProfileArn }));
    if (!out.interrupted) {
      if (applied.some((c) => CREATES.has(c.kind))) {
        emit({ type: 'waiting', name: spec.name });
        await waitUntilReadable(spec.name, {
          iam,
          signal: options.signal,
          maxWaitSeconds: options.maxWaitSeconds,
        });
      }
      return result(spec, first, applied, observed, created, accountId, options, plan.warnings);
    }
    emit({ type: 'concurrent-change', change: out.interrupted.change, awsCode: out.interrupted.awsCode });
    if (round >= MAX_ROUNDS) {
      throw new InstanceRoleError(
        'AWS_OPERATION',
        `Gave up after ${round} rounds: another writer keeps changing role ${spec.name} (last: ${out.interrupted.awsCode} on ${out.interrupted.change.kind})`,
      );
    }
    await sleep(50 * round + Math.random() * 200 * round, options.signal);
  }
}

async function observeAndPlan(
  spec: InstanceRoleSpec,
  partition: Partition,
  iam: IAMClient,
  options: EnsureOptions,
) {
  if (options.signal?.aborted) throw new AbortedError(`observing role ${spec.name}`, options.signal.reason);
  const inlineNames = [
    ...Object.keys(spec.inlinePolicies ?? {}),
    ...(Object.keys(resolveSpec(spec, { partition }).inlinePolicies).includes(PRESETS_POLICY_NAME)
      ? [PRESETS_POLICY_NAME]
      : []),
  ];
  const observed = await observeInstanceRole(
    { name: spec.name, inlinePolicyNames: inlineNames, listInlinePolicies: spec.prune === true },
    { iam, signal: options.signal },
  );
  options.onEvent?.({ type: 'observed', observed });
  const accountId =
    spec.accountId ??
    accountOf(observed) ??
    (needsAccountId(spec) ? await callerAccount(options) : undefined);
  const desired = resolveSpec(spec, { partition, accountId });
  return { plan: planFromDesired(desired, observed), observed, accountId };
}

function result(
  spec: InstanceRoleSpec,
  plan: Plan,
  applied: readonly Change[],
  observed: ObservedState,
  created: { roleArn?: string; instanceProfileArn?: string },
  accountId: string | undefined,
  options: EnsureOptions,
  warnings: readonly string[],
): EnsureResult {
  const desired = resolveSpec(spec, { partition: plan.partition, accountId });
  const predicted = (kind: string) =>
    accountId ? `arn:${plan.partition}:iam::${accountId}:${kind}${desired.path}${spec.name}` : '';
  return {
    plan,
    applied,
    changed: applied.length > 0,
    dryRun: options.dryRun ?? false,
    role: { name: spec.name, arn: observed.role?.arn ?? created.roleArn ?? predicted('role') },
    instanceProfile: {
      name: spec.name,
      arn: observed.instanceProfile?.arn ?? created.instanceProfileArn ?? predicted('instance-profile'),
    },
    partition: plan.partition,
    expect: { role: spec.name, ...desired.expect },
    warnings,
  };
}

/**
 * Managed policies the plan attaches (or uses as boundary) that do not exist: bad input, found before any
 * write. A caller who may not call iam:GetPolicy skips this check; the write then reports the problem.
 */
async function missingPolicies(
  plan: Plan,
  iam: IAMClient,
  signal: AbortSignal | undefined,
): Promise<Problem[]> {
  const wanted = new Map<string, string>();
  for (const c of plan.changes) {
    if (c.kind === 'attach-policy') wanted.set(c.policyArn, 'policies');
    if (c.kind === 'set-permissions-boundary') wanted.set(c.policyArn, 'permissionsBoundary');
    if (c.kind === 'create-role' && c.permissionsBoundary)
      wanted.set(c.permissionsBoundary, 'permissionsBoundary');
  }
  const missing = await Promise.all(
    [...wanted].map(async ([arn, field]): Promise<Problem | undefined> => {
      try {
        await iam.send(new GetPolicyCommand({ PolicyArn: arn }), { abortSignal: signal });
        return undefined;
      } catch (err) {
        if (signal?.aborted) throw new AbortedError('checking managed policies', err);
        if ((err as { name?: string }).name !== 'NoSuchEntityException') return undefined;
        return { field, rule: 'managed policy does not exist in this account and partition', value: arn };
      }
    }),
  );
  return missing.filter((p) => p !== undefined);
}

async function regionOf(iam: IAMClient): Promise<string | undefined> {
  try {
    return await iam.config.region();
  } catch {
    return undefined;
  }
}

/**
 * The caller's account, for preset ARNs of a role that does not exist yet. Failing is safer than a
 * wildcard account in a least-privilege ARN, so an STS failure stops the run before any write.
 */
async function callerAccount(options: EnsureOptions): Promise<string> {
  try {
    const out = await defaultSts(options).send(new GetCallerIdentityCommand({}), {
      abortSignal: options.signal,
    });
    if (out.Account) return out.Account;
    throw new Error('GetCallerIdentity returned no account');
  } catch (err) {
    throw new AwsOperationError(
      'GetCallerIdentity',
      err,
      'the account ID goes into DynamoDB and CloudWatch Logs preset ARNs; set accountId in the spec to skip this call',
    );
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
