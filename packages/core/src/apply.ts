import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  type IAMClient,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagInstanceProfileCommand,
  TagRoleCommand,
  UntagInstanceProfileCommand,
  UntagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
  waitUntilInstanceProfileExists,
  waitUntilRoleExists,
} from '@aws-sdk/client-iam';
import { defaultIam } from './clients/iam.js';
import { AbortedError, AwsOperationError, PropagationTimeoutError } from './errors.js';
import type { Change, Plan } from './plan.js';

export interface ApplyOptions {
  readonly iam?: IAMClient;
  readonly signal?: AbortSignal;
  /** Called before (`start`) and after (`done`) each change. */
  readonly onChange?: (change: Change, status: 'start' | 'done') => void;
}

/** What applyPlan did. */
export interface ApplyResult {
  /** The changes made, in order. */
  readonly applied: readonly Change[];
  /**
   * Set when another writer got there first (the role or profile already exists, the profile already
   * holds a role, a concurrent modification): the remaining changes were not made; observe again and re-plan.
   */
  readonly interrupted?: { readonly change: Change; readonly awsCode: string };
  readonly roleArn?: string;
  readonly instanceProfileArn?: string;
}

/** IAM answers that mean "someone else changed this at the same time". */
const RACE_CODES: Readonly<Partial<Record<Change['kind'], readonly string[]>>> = {
  'create-role': ['EntityAlreadyExistsException'],
  'create-instance-profile': ['EntityAlreadyExistsException'],
  'add-role-to-instance-profile': ['LimitExceededException', 'EntityAlreadyExistsException'],
};

/** Removals whose target is already gone are done. */
const GONE_IS_DONE: ReadonlySet<Change['kind']> = new Set([
  'detach-policy',
  'delete-inline-policy',
  'remove-permissions-boundary',
  'remove-role-from-instance-profile',
  'untag-role',
  'untag-instance-profile',
]);

/**
 * Make the changes of a plan, in order. Stops early, without throwing, when another writer made the
 * same change concurrently (see ApplyResult.interrupted).
 *
 * @throws AwsOperationError when IAM refuses a change; AbortedError when `signal` aborts.
 * @example
 * const result = await applyPlan(planInstanceRole(spec, await observeInstanceRole({ name: spec.name })));
 * result.applied.length; // 4
 */
export async function applyPlan(plan: Plan, options: ApplyOptions = {}): Promise<ApplyResult> {
  const iam = defaultIam(options);
  const applied: Change[] = [];
  const arns: { roleArn?: string; instanceProfileArn?: string } = {};
  for (const change of plan.changes) {
    if (options.signal?.aborted) throw new AbortedError(`applying ${change.kind}`, options.signal.reason);
    options.onChange?.(change, 'start');
    try {
      Object.assign(arns, await send(iam, change, options.signal));
    } catch (err) {
      const error = err instanceof NotRetried ? err.cause : err;
      const awsCode = (error as { name?: string }).name ?? '';
      if (awsCode === 'ConcurrentModificationException' || RACE_CODES[change.kind]?.includes(awsCode)) {
        return { applied, interrupted: { change, awsCode }, ...arns };
      }
      if (!(GONE_IS_DONE.has(change.kind) && awsCode === 'NoSuchEntityException'))
        throw failure(change, error, options.signal);
    }
    applied.push(change);
    options.onChange?.(change, 'done');
  }
  return { applied, ...arns };
}

/** Options of waitUntilReadable. */
export interface WaitOptions {
  readonly iam?: IAMClient;
  readonly signal?: AbortSignal;
  /** @default 120 */
  readonly maxWaitSeconds?: number;
}

/**
 * Wait until IAM serves the role and the instance profile, and the profile lists the role. Uses the
 * SDK waiters and a jittered poll with a deadline, never a fixed sleep.
 *
 * @throws PropagationTimeoutError after `maxWaitSeconds`; AbortedError when `signal` aborts.
 * @example
 * await waitUntilReadable('web', { signal: AbortSignal.timeout(60_000) });
 */
export async function waitUntilReadable(name: string, options: WaitOptions = {}): Promise<void> {
  const iam = defaultIam(options);
  const maxWaitTime = options.maxWaitSeconds ?? 120;
  const started = Date.now();
  const config = { client: iam, maxWaitTime, minDelay: 1, maxDelay: 5, abortSignal: options.signal };
  try {
    await waitUntilRoleExists(config, { RoleName: name });
    await waitUntilInstanceProfileExists(config, { InstanceProfileName: name });
  } catch (err) {
    if (options.signal?.aborted) throw new AbortedError(`waiting for role ${name}`, err);
    throw new PropagationTimeoutError(
      `role and instance profile ${name} to be readable`,
      Date.now() - started,
      0,
      err,
    );
  }
  await pollUntil(
    async () => {
      const out = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }), {
        abortSignal: options.signal,
      });
      return (out.InstanceProfile?.Roles ?? []).some((r) => r.RoleName === name);
    },
    {
      what: `instance profile ${name} to list role ${name}`,
      deadline: started + maxWaitTime * 1000,
      signal: options.signal,
    },
  );
}

/**
 * Call `check` until it returns true, with jittered exponential backoff, until `deadline` (epoch ms).
 *
 * @example
 * await pollUntil(async () => (await fetch(url)).ok, { what: 'the server', deadline: Date.now() + 10_000 });
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  options: {
    what: string;
    deadline: number;
    signal?: AbortSignal;
    firstDelayMs?: number;
    maxDelayMs?: number;
  },
): Promise<void> {
  const started = Date.now();
  let last: unknown;
  for (
    let attempt = 1, delay = options.firstDelayMs ?? 200;
    ;
    attempt++, delay = Math.min(delay * 2, options.maxDelayMs ?? 5000)
  ) {
    if (options.signal?.aborted) throw new AbortedError(`waiting for ${options.what}`, options.signal.reason);
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    const wait = delay / 2 + Math.random() * (delay / 2);
    if (Date.now() + wait > options.deadline)
      throw new PropagationTimeoutError(options.what, Date.now() - started, attempt, last);
    await sleep(wait, options.signal);
  }
}

/** Resolve after `ms`, or reject with AbortedError when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('waiting', signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Arns = { roleArn?: string; instanceProfileArn?: string };

async function send(iam: IAMClient, c: Change, signal: AbortSignal | undefined): Promise<Arns> {
  const opts = { abortSignal: signal };
  switch (c.kind) {
    case 'create-role': {
      const out = await iam.send(
        final(
          new CreateRoleCommand({
            RoleName: c.roleName,
            Path: c.path,
            AssumeRolePolicyDocument: JSON.stringify(c.trustPolicy),
            Description: c.description,
            MaxSessionDuration: c.maxSessionDuration,
            PermissionsBoundary: c.permissionsBoundary,
            Tags: toTags(c.tags),
          }),
        ),
        opts,
      );
      return { roleArn: out.Role?.Arn };
    }
    case 'tag-role':
      await iam.send(final(new TagRoleCommand({ RoleName: c.roleName, Tags: toTags(c.tags) })), opts);
      return {};
    case 'untag-role':
      await iam.send(final(new UntagRoleCommand({ RoleName: c.roleName, TagKeys: [...c.keys] })), opts);
      return {};
    case 'update-trust-policy':
      await iam.send(
        final(
          new UpdateAssumeRolePolicyCommand({
            RoleName: c.roleName,
            PolicyDocument: JSON.stringify(c.trustPolicy),
          }),
        ),
        opts,
      );
      return {};
    case 'update-role':
      await iam.send(
        final(
          new UpdateRoleCommand({
            RoleName: c.roleName,
            Description: c.description,
            MaxSessionDuration: c.maxSessionDuration,
          }),
        ),
        opts,
      );
      return {};
    case 'set-permissions-boundary':
      await iam.send(
        final(
          new PutRolePermissionsBoundaryCommand({ RoleName: c.roleName, PermissionsBoundary: c.policyArn }),
        ),
        opts,
      );
      return {};
    case 'put-inline-policy':
      await iam.send(
        final(
          new PutRolePolicyCommand({
            RoleName: c.roleName,
            PolicyName: c.policyName,
            PolicyDocument: JSON.stringify(c.document),
          }),
        ),
        opts,
      );
      return {};
    case 'attach-policy':
      await iam.send(
        final(new AttachRolePolicyCommand({ RoleName: c.roleName, PolicyArn: c.policyArn })),
        opts,
      );
      return {};
    case 'detach-policy':
      await iam.send(
        final(new DetachRolePolicyCommand({ RoleName: c.roleName, PolicyArn: c.policyArn })),
        opts,
      );
      return {};
    case 'delete-inline-policy':
      await iam.send(
        final(new DeleteRolePolicyCommand({ RoleName: c.roleName, PolicyName: c.policyName })),
        opts,
      );
      return {};
    case 'remove-permissions-boundary':
      await iam.send(final(new DeleteRolePermissionsBoundaryCommand({ RoleName: c.roleName })), opts);
      return {};
    case 'create-instance-profile': {
      const out = await iam.send(
        final(
          new CreateInstanceProfileCommand({
            InstanceProfileName: c.profileName,
            Path: c.path,
            Tags: toTags(c.tags),
          }),
        ),
        opts,
      );
      return { instanceProfileArn: out.InstanceProfile?.Arn };
    }
    case 'tag-instance-profile':
      await iam.send(
        final(new TagInstanceProfileCommand({ InstanceProfileName: c.profileName, Tags: toTags(c.tags) })),
        opts,
      );
      return {};
    case 'untag-instance-profile':
      await iam.send(
        final(new UntagInstanceProfileCommand({ InstanceProfileName: c.profileName, TagKeys: [...c.keys] })),
        opts,
      );
      return {};
    case 'remove-role-from-instance-profile':
      await iam.send(
        final(
          new RemoveRoleFromInstanceProfileCommand({
            InstanceProfileName: c.profileName,
            RoleName: c.roleName,
          }),
        ),
        opts,
      );
      return {};
    case 'add-role-to-instance-profile':
      await iam.send(
        final(
          new AddRoleToInstanceProfileCommand({ InstanceProfileName: c.profileName, RoleName: c.roleName }),
        ),
        opts,
      );
      return {};
  }
}

type Handler = (args: unknown) => Promise<unknown>;
type WithStack = {
  readonly middlewareStack: {
    add(
      middleware: (next: Handler) => Handler,
      options: { step: 'finalizeRequest'; priority: 'low'; name: string },
    ): void;
  };
};

/** An IAM answer that must reach applyPlan at once, not after the SDK's retries. */
class NotRetried extends Error {
  override name = 'NotRetried';
}

/**
 * The SDK classifies IAM's LimitExceeded as throttling and retries it for about 25 s. For a write it
 * means "the profile already holds a role" (a concurrent ensure did it) or "a quota is reached": no
 * retry changes that, so the error goes straight to applyPlan (unwrapped there).
 */
function final<C extends object>(command: C): C {
  (command as unknown as WithStack).middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if ((err as { name?: string }).name === 'LimitExceededException')
          throw new NotRetried('LimitExceeded', { cause: err });
        throw err;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'limitExceededIsFinal' },
  );
  return command;
}

const OPERATIONS: Readonly<Record<Change['kind'], string>> = {
  'create-role': 'CreateRole',
  'tag-role': 'TagRole',
  'untag-role': 'UntagRole',
  'update-trust-policy': 'UpdateAssumeRolePolicy',
  'update-role': 'UpdateRole',
  'set-permissions-boundary': 'PutRolePermissionsBoundary',
  'put-inline-policy': 'PutRolePolicy',
  'attach-policy': 'AttachRolePolicy',
  'detach-policy': 'DetachRolePolicy',
  'delete-inline-policy': 'DeleteRolePolicy',
  'remove-permissions-boundary': 'DeleteRolePermissionsBoundary',
  'create-instance-profile': 'CreateInstanceProfile',
  'tag-instance-profile': 'TagInstanceProfile',
  'untag-instance-profile': 'UntagInstanceProfile',
  'remove-role-from-instance-profile': 'RemoveRoleFromInstanceProfile',
  'add-role-to-instance-profile': 'AddRoleToInstanceProfile',
};

function failure(change: Change, err: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new AbortedError(`applying ${change.kind}`, err);
  const code = (err as { name?: string }).name;
  const detail =
    code === 'NoSuchEntityException' && 'policyArn' in change
      ? `policy ${change.policyArn} does not exist in this account`
      : code === 'AccessDeniedException' || code === 'AccessDenied'
        ? `the caller needs iam:${OPERATIONS[change.kind]}`
        : undefined;
  return new AwsOperationError(OPERATIONS[change.kind], err, detail);
}

function toTags(tags: Readonly<Record<string, string>>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
