import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  DisassociateIamInstanceProfileCommand,
  type EC2Client,
  type IamInstanceProfileAssociation,
  type IamInstanceProfileSpecification,
  ReplaceIamInstanceProfileAssociationCommand,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import { defaultEc2 } from './clients/ec2.js';
import { defaultIam } from './clients/iam.js';
import { explainEc2Error, isNoSuchEntity, isPropagationError } from './ec2-errors.js';
import {
  hopLimitProblems,
  instanceIdProblems,
  type ProfileRef,
  parseProfileRef,
  profileNameOfArn,
  profileProblems,
} from './ec2-ids.js';
import {
  AssociationConflictError,
  AwsOperationError,
  assertNoProblems,
  InstanceRoleError,
  ResourceNotFoundError,
  ValidationError,
} from './errors.js';
import { type ImdsV2Result, requireImdsV2 } from './imds-options.js';
import { retryWhilePropagating, type WaitEvent } from './retry.js';

export interface AttachRoleInput {
  /** `i-` and 8 or 17 hex digits. */
  readonly instanceId: string;
  /** Instance profile name or ARN. */
  readonly instanceProfile: string;
  /** Replace another profile already on the instance. Without it, that case is an AssociationConflictError. @default false */
  readonly replace?: boolean;
  /** Also require IMDSv2 on the instance, with this hop limit (1, or 2 for containers). @default not changed */
  readonly metadata?: { readonly hopLimit?: number };
}

/** A write attachRole is about to make. */
export interface AttachWriteEvent {
  readonly type: 'write';
  readonly operation: string;
  readonly instanceId: string;
}

export type AttachEvent = WaitEvent | AttachWriteEvent;

export interface AttachRoleOptions {
  readonly ec2?: EC2Client;
  readonly iam?: IAMClient;
  /** Used only to decode an encoded "not authorized" message, to tell a PassRole denial apart. */
  readonly sts?: STSClient;
  readonly signal?: AbortSignal;
  /** Deadline for each wait (IAM propagation, settling associations). @default 120_000 */
  readonly deadlineMs?: number;
  readonly onEvent?: (event: AttachEvent) => void;
  /** The profile was created moments ago: treat IAM's NoSuchEntity for it as propagation too. @default false */
  readonly profileJustCreated?: boolean;
  /**
   * The profile's ARN and role ARN, when the caller has just read them (ensureAndAttach does): saves the
   * IAM read. @default read with iam:GetInstanceProfile
   */
  readonly knownProfile?: { readonly arn: string; readonly roleArn: string };
}

export interface ProfileSummary {
  readonly name: string;
  readonly arn: string;
}

export interface AttachRoleResult {
  readonly instanceId: string;
  readonly action: 'unchanged' | 'associated' | 'replaced';
  readonly instanceProfile: ProfileSummary;
  readonly associationId: string;
  /** EC2's state of the association when we returned: `associating` right after a write. */
  readonly state: string;
  /** The profile that was on the instance before a replace. */
  readonly previousProfile?: ProfileSummary;
  /** How a replace was done: in place (running instance) or disassociate + associate (stopped instance). */
  readonly method?: 'replace' | 'disassociate-associate';
  /** Set when `metadata` was given. */
  readonly metadata?: ImdsV2Result;
}

interface Context {
  readonly input: AttachRoleInput;
  readonly options: AttachRoleOptions;
  readonly ec2: EC2Client;
  readonly ref: ProfileRef;
  profileArn?: string;
  roleArn?: string;
}

const SETTLED = new Set(['associated']);
const ACTIVE = new Set(['associating', 'associated', 'disassociating']);
const STOPPED = new Set(['stopped', 'stopping', 'shutting-down']);

/**
 * Give an instance its role: make `instanceProfile` the instance's one IAM instance profile. Reads
 * `DescribeIamInstanceProfileAssociations` (the authoritative source), then does nothing (`unchanged`),
 * associates (`associated`) or, only with `replace: true`, replaces (`replaced`, with the previous profile).
 * A stopped instance is handled like Terraform does: disassociate, then associate. EC2 errors that mean
 * "instance profile not visible yet" are retried with backoff under a deadline; nothing else is.
 *
 * @throws ValidationError for malformed input, before any call.
 * @throws ResourceNotFoundError for an unknown instance or instance profile.
 * @throws AssociationConflictError when another profile is attached and `replace` is not set.
 * @throws PassRoleDeniedError when the caller may not pass the profile's role to EC2.
 * @throws PropagationTimeoutError when EC2 still cannot see the profile at the deadline.
 * @example
 * const result = await attachRole({ instanceId: 'i-0123456789abcdef0', instanceProfile: 'web' }, {
 *   onEvent: (e) => e.type === 'waiting' && console.error(`waiting for ${e.waitingFor}`),
 * });
 * result.action; // 'associated'
 */
export async function attachRole(
  input: AttachRoleInput,
  options: AttachRoleOptions = {},
): Promise<AttachRoleResult> {
  validateAttachInput(input);
  const ctx: Context = {
    input,
    options,
    ec2: defaultEc2(options),
    ref: parseProfileRef(input.instanceProfile),
  };
  if (options.knownProfile)
    [ctx.profileArn, ctx.roleArn] = [options.knownProfile.arn, options.knownProfile.roleArn];
  else await readProfile(ctx);
  const current = await settledAssociation(ctx);
  // The instance's state matters only when something must be written (a stopped instance is
  // disassociated, then associated); an existing association already proves the instance exists.
  const done = current && isSameProfile(ctx, current.IamInstanceProfile?.Arn ?? '');
  const result = await converge(ctx, current, done ? 'unknown' : await readInstanceState(ctx));
  if (!input.metadata) return result;
  return {
    ...result,
    metadata: await requireImdsV2(input.instanceId, { hopLimit: input.metadata.hopLimit, ec2: ctx.ec2 }),
  };
}

/** Throw one ValidationError listing every problem with the input. */
export function validateAttachInput(input: AttachRoleInput): void {
  assertNoProblems([
    ...instanceIdProblems(input?.instanceId),
    ...profileProblems(input?.instanceProfile),
    ...hopLimitProblems(input?.metadata?.hopLimit, 'metadata.hopLimit'),
  ]);
}

async function converge(
  ctx: Context,
  current: IamInstanceProfileAssociation | undefined,
  state: string,
): Promise<AttachRoleResult> {
  const wanted = { name: ctx.ref.name, arn: ctx.profileArn ?? ctx.ref.arn ?? '' };
  if (!current) return associate(ctx, 'associated');
  const currentArn = current.IamInstanceProfile?.Arn ?? '';
  if (isSameProfile(ctx, currentArn)) {
    return unchanged(ctx, current, { name: wanted.name, arn: currentArn });
  }
  if (!ctx.input.replace)
    throw new AssociationConflictError(ctx.input.instanceId, currentArn, ctx.input.instanceProfile);
  const previousProfile = { name: profileNameOfArn(currentArn), arn: currentArn };
  if (STOPPED.has(state)) return { ...(await disassociateThenAssociate(ctx, current)), previousProfile };
  return { ...(await replaceInPlace(ctx, current)), previousProfile };
}

function unchanged(
  ctx: Context,
  current: IamInstanceProfileAssociation,
  profile: ProfileSummary,
): AttachRoleResult {
  return {
    instanceId: ctx.input.instanceId,
    action: 'unchanged',
    instanceProfile: profile,
    associationId: current.AssociationId ?? '',
    state: current.State ?? 'associated',
  };
}

function isSameProfile(ctx: Context, arn: string): boolean {
  const wantedArn = ctx.profileArn ?? ctx.ref.arn;
  return wantedArn ? arn === wantedArn : profileNameOfArn(arn) === ctx.ref.name;
}

function spec(ctx: Context): IamInstanceProfileSpecification {
  return ctx.ref.arn ? { Arn: ctx.ref.arn } : { Name: ctx.ref.name };
}

async function associate(ctx: Context, action: 'associated' | 'replaced'): Promise<AttachRoleResult> {
  const { instanceId } = ctx.input;
  try {
    const out = await propagating(ctx, 'AssociateIamInstanceProfile', () =>
      ctx.ec2.send(
        new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: spec(ctx) }),
      ),
    );
    return written(ctx, action, out.IamInstanceProfileAssociation);
  } catch (err) {
    if ((err as { name?: string }).name !== 'IncorrectState') throw err;
    // a retried request that had already succeeded, or a concurrent writer: trust the associations
    const now = await settledAssociation(ctx);
    if (now && isSameProfile(ctx, now.IamInstanceProfile?.Arn ?? '')) return written(ctx, action, now);
    throw await explainEc2Error(err, { operation: 'AssociateIamInstanceProfile', instanceId });
  }
}

async function replaceInPlace(
  ctx: Context,
  current: IamInstanceProfileAssociation,
): Promise<AttachRoleResult> {
  try {
    const out = await propagating(ctx, 'ReplaceIamInstanceProfileAssociation', () =>
      ctx.ec2.send(
        new ReplaceIamInstanceProfileAssociationCommand({
          AssociationId: current.AssociationId,
          IamInstanceProfile: spec(ctx),
        }),
      ),
    );
    return { ...written(ctx, 'replaced', out.IamInstanceProfileAssociation), method: 'replace' };
  } catch (err) {
    // EC2 refuses to replace on an instance that stopped since we looked ("not the active association")
    if ((err as { name?: string }).name !== 'IncorrectState') throw err;
    return disassociateThenAssociate(ctx, current);
  }
}

async function disassociateThenAssociate(
  ctx: Context,
  current: IamInstanceProfileAssociation,
): Promise<AttachRoleResult> {
  const { instanceId } = ctx.input;
  ctx.options.onEvent?.({ type: 'write', operation: 'DisassociateIamInstanceProfile', instanceId });
  try {
    await ctx.ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: current.AssociationId }));
  } catch (err) {
    throw await explainEc2Error(err, { operation: 'DisassociateIamInstanceProfile', instanceId });
  }
  await settledAssociation(ctx);
  return { ...(await associate(ctx, 'replaced')), method: 'disassociate-associate' };
}

function written(
  ctx: Context,
  action: 'associated' | 'replaced',
  a: IamInstanceProfileAssociation | undefined,
): AttachRoleResult {
  const arn = a?.IamInstanceProfile?.Arn ?? ctx.profileArn ?? ctx.ref.arn ?? '';
  return {
    instanceId: ctx.input.instanceId,
    action,
    instanceProfile: { name: ctx.ref.name, arn },
    associationId: a?.AssociationId ?? '',
    state: a?.State ?? 'associating',
  };
}

/** Run an EC2 write naming the profile, retrying only while EC2 cannot see the profile yet. */
async function propagating<T>(ctx: Context, operation: string, send: () => Promise<T>): Promise<T> {
  const { instanceId } = ctx.input;
  ctx.options.onEvent?.({ type: 'write', operation, instanceId });
  try {
    return await retryWhilePropagating(send, {
      waitingFor: `EC2 to see instance profile "${ctx.ref.name}" (${operation} on ${instanceId})`,
      isRetryable: isPropagationError,
      deadlineMs: ctx.options.deadlineMs,
      signal: ctx.options.signal,
      onEvent: ctx.options.onEvent,
    });
  } catch (err) {
    if ((err as { name?: string }).name === 'IncorrectState') throw err;
    throw await explainEc2Error(err, {
      operation,
      instanceId,
      profile: ctx.input.instanceProfile,
      roleArn: ctx.roleArn,
      sts: ctx.options.sts,
    });
  }
}

async function readInstanceState(ctx: Context): Promise<string> {
  const { instanceId } = ctx.input;
  try {
    const out = await ctx.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const instance = out.Reservations?.[0]?.Instances?.[0];
    if (!instance) throw new ResourceNotFoundError('instance', instanceId);
    const state = instance.State?.Name ?? 'unknown';
    if (state === 'terminated')
      throw new ResourceNotFoundError('instance', instanceId, undefined, 'it is terminated');
    return state;
  } catch (err) {
    throw await explainEc2Error(err, { operation: 'DescribeInstances', instanceId });
  }
}

/** Learn the profile's ARN and role from IAM; an unknown profile fails here, before any write. */
async function readProfile(ctx: Context): Promise<void> {
  const iam = defaultIam(ctx.options);
  const read = () => iam.send(new GetInstanceProfileCommand({ InstanceProfileName: ctx.ref.name }));
  try {
    const out = ctx.options.profileJustCreated
      ? await retryWhilePropagating(read, {
          waitingFor: `IAM to return instance profile "${ctx.ref.name}"`,
          isRetryable: isNoSuchEntity,
          deadlineMs: ctx.options.deadlineMs,
          signal: ctx.options.signal,
          onEvent: ctx.options.onEvent,
        })
      : await read();
    ctx.profileArn = out.InstanceProfile?.Arn;
    ctx.roleArn = out.InstanceProfile?.Roles?.[0]?.Arn;
    if (ctx.ref.arn && ctx.profileArn && ctx.ref.arn !== ctx.profileArn) throw profileArnMismatch(ctx);
    if (!ctx.roleArn && !ctx.options.profileJustCreated) throw emptyProfile(ctx);
  } catch (err) {
    if (isNoSuchEntity(err))
      throw new ResourceNotFoundError('instance-profile', ctx.input.instanceProfile, err);
    if (isDenied(err)) return; // may attach without iam:GetInstanceProfile; EC2 will judge the profile
    throw err instanceof InstanceRoleError ? err : new AwsOperationError('GetInstanceProfile', err);
  }
}

function emptyProfile(ctx: Context): ValidationError {
  return new ValidationError([
    {
      field: 'instanceProfile',
      rule: 'must contain a role',
      value: ctx.input.instanceProfile,
      hint: 'add one with `instance-role ensure` or iam add-role-to-instance-profile',
    },
  ]);
}

function profileArnMismatch(ctx: Context): ValidationError {
  return new ValidationError([
    {
      field: 'instanceProfile',
      rule: `must match the profile's ARN in IAM (${ctx.profileArn})`,
      value: ctx.input.instanceProfile,
    },
  ]);
}

function isDenied(err: unknown): boolean {
  const name = (err as { name?: string }).name ?? '';
  return name === 'AccessDenied' || name === 'AccessDeniedException';
}

async function describeAssociations(ctx: Context): Promise<IamInstanceProfileAssociation[]> {
  try {
    const out = await ctx.ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [ctx.input.instanceId] }],
      }),
    );
    return (out.IamInstanceProfileAssociations ?? []).filter((a) => ACTIVE.has(a.State ?? ''));
  } catch (err) {
    throw await explainEc2Error(err, {
      operation: 'DescribeIamInstanceProfileAssociations',
      instanceId: ctx.input.instanceId,
    });
  }
}

class NotSettled extends Error {
  override name = 'NotSettled';
}

/** The instance's association once none is `associating` or `disassociating`; undefined when it has none. */
async function settledAssociation(ctx: Context): Promise<IamInstanceProfileAssociation | undefined> {
  return retryWhilePropagating(
    async () => {
      const active = await describeAssociations(ctx);
      const moving = active.find((a) => !SETTLED.has(a.State ?? ''));
      if (moving) throw new NotSettled(`association ${moving.AssociationId} is ${moving.State}`);
      return active[0];
    },
    {
      waitingFor: `the IAM instance profile association of ${ctx.input.instanceId} to settle`,
      isRetryable: (err) => err instanceof NotSettled,
      deadlineMs: ctx.options.deadlineMs,
      signal: ctx.options.signal,
      onEvent: ctx.options.onEvent,
    },
  );
}
