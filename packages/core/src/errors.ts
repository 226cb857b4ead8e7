/** Stable codes users can switch on. */
export type InstanceRoleErrorCode =
  | 'VALIDATION'
  | 'NOT_OWNED'
  | 'AWS_OPERATION'
  | 'PROPAGATION_TIMEOUT'
  | 'PASS_ROLE_DENIED'
  | 'ASSOCIATION_CONFLICT'
  | 'NOT_FOUND'
  | 'ABORTED'
  | 'SSH'
  | 'AGENT'
  | 'FLEET';

/** Base class of every error this package throws. The original error, if any, is kept as `cause`. */
export class InstanceRoleError extends Error {
  override name = 'InstanceRoleError';
  readonly code: InstanceRoleErrorCode;
  constructor(code: InstanceRoleErrorCode, message: string, options?: { cause?: unknown }) {
    super(redactSecrets(message), options);
    this.code = code;
    redactCause(options?.cause);
  }
}

/**
 * An SDK error can quote what the server sent back (its `message`, `Error.Message`): redact those in
 * place, so that logging `err.cause` is as safe as logging `err`.
 */
function redactCause(cause: unknown): void {
  if (!(cause instanceof Error)) return;
  try {
    cause.message = redactSecrets(cause.message);
    if (typeof cause.stack === 'string') cause.stack = redactSecrets(cause.stack);
    for (const [key, value] of Object.entries(cause)) {
      if (typeof value === 'string')
        (cause as unknown as Record<string, unknown>)[key] = redactSecrets(value);
      else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
        for (const [k, v] of Object.entries(value))
          if (typeof v === 'string') (value as Record<string, unknown>)[k] = redactSecrets(v);
    }
  } catch {
    // a frozen error stays as it is; our own message is redacted anyway
  }
}

/** One broken rule in the input. */
export interface Problem {
  /** The input field, e.g. `name`, `policies[2]`, `tags.Owner`. */
  readonly field: string;
  /** The rule, e.g. `1-64 characters of [\w+=,.@-]`. */
  readonly rule: string;
  /** What was given (shortened), when it helps. */
  readonly value?: string;
  /** e.g. `did you mean "s3-read-only"?` */
  readonly hint?: string;
}

export function formatProblem(p: Problem): string {
  const value = p.value === undefined ? '' : ` (got ${JSON.stringify(shorten(p.value))})`;
  return `${shorten(p.field)}: ${p.rule}${value}${p.hint ? `; ${p.hint}` : ''}`;
}

/** Bad input. Thrown before any AWS write; lists every problem at once. */
export class ValidationError extends InstanceRoleError {
  override name = 'ValidationError';
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    const lines = problems.map((p) => `  - ${formatProblem(p)}`).join('\n');
    super(
      'VALIDATION',
      `Invalid input (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines}`,
    );
    this.problems = problems;
  }
}

/** Throw a ValidationError when `problems` is not empty. */
export function assertNoProblems(problems: readonly Problem[]): void {
  if (problems.length > 0) throw new ValidationError(problems);
}

/** An AWS call failed. `operation` is the API action, e.g. `CreateRole`. */
export class AwsOperationError extends InstanceRoleError {
  override name = 'AwsOperationError';
  readonly operation: string;
  readonly awsCode: string | undefined;
  constructor(operation: string, cause: unknown, detail?: string) {
    const awsCode = (cause as { name?: string } | undefined)?.name;
    const msg = (cause as { message?: string } | undefined)?.message ?? String(cause);
    super(
      'AWS_OPERATION',
      `${operation} failed: ${awsCode ? `${awsCode}: ` : ''}${msg}${detail ? ` (${detail})` : ''}`,
      {
        cause,
      },
    );
    this.operation = operation;
    this.awsCode = awsCode;
  }
}

/** A role or instance profile of that name exists but was not created by instance-role (no ownership tag). */
export class NotOwnedError extends InstanceRoleError {
  override name = 'NotOwnedError';
  readonly kind: 'role' | 'instance-profile';
  readonly resourceName: string;
  constructor(kind: 'role' | 'instance-profile', resourceName: string, tag: string) {
    super(
      'NOT_OWNED',
      `${kind === 'role' ? 'Role' : 'Instance profile'} ${resourceName} exists but is not managed by instance-role (no ${tag} tag); it was left untouched. To manage it from now on, pass --adopt (CLI) or adopt: true (library), or choose another name.`,
    );
    this.kind = kind;
    this.resourceName = resourceName;
  }
}

/** A wait for IAM's eventual consistency ran past its deadline; `waitedFor` says what never became true. */
export class PropagationTimeoutError extends InstanceRoleError {
  override name = 'PropagationTimeoutError';
  readonly waitedFor: string;
  readonly elapsedMs: number;
  readonly attempts: number;
  constructor(waitedFor: string, elapsedMs: number, attempts: number, cause?: unknown) {
    const last = (cause as { message?: string } | undefined)?.message;
    super(
      'PROPAGATION_TIMEOUT',
      `Gave up after ${Math.round(elapsedMs / 1000)} s (${attempts} attempts) waiting for ${waitedFor}${last ? `; last error: ${last}` : ''}`,
      { cause },
    );
    this.waitedFor = waitedFor;
    this.elapsedMs = elapsedMs;
    this.attempts = attempts;
  }
}

/** EC2 refused to hand a role to an instance because the caller may not `iam:PassRole` it. */
export class PassRoleDeniedError extends InstanceRoleError {
  override name = 'PassRoleDeniedError';
  readonly roleArn: string | undefined;
  constructor(operation: string, roleArn: string | undefined, cause?: unknown) {
    const target = roleArn ?? "the instance profile's role";
    super(
      'PASS_ROLE_DENIED',
      `${operation} was denied: the caller needs iam:PassRole on ${target} (allow "iam:PassRole" on Resource "${roleArn ?? 'arn:aws:iam::ACCOUNT:role/ROLE'}", optionally with Condition StringEquals iam:PassedToService = ec2.amazonaws.com)`,
      { cause },
    );
    this.roleArn = roleArn;
  }
}

/** The instance already has another instance profile and `replace` was not set. */
export class AssociationConflictError extends InstanceRoleError {
  override name = 'AssociationConflictError';
  readonly instanceId: string;
  readonly currentProfileArn: string;
  constructor(instanceId: string, currentProfileArn: string, wantedProfile: string) {
    super(
      'ASSOCIATION_CONFLICT',
      `Instance ${instanceId} already has instance profile ${currentProfileArn}; to replace it with ${wantedProfile}, pass --replace (CLI) or replace: true (library)`,
    );
    this.instanceId = instanceId;
    this.currentProfileArn = currentProfileArn;
  }
}

/** An instance or instance profile named in the input does not exist. */
export class ResourceNotFoundError extends InstanceRoleError {
  override name = 'ResourceNotFoundError';
  readonly kind: 'instance' | 'instance-profile';
  readonly id: string;
  constructor(kind: 'instance' | 'instance-profile', id: string, cause?: unknown, hint?: string) {
    super(
      'NOT_FOUND',
      `${kind === 'instance' ? 'Instance' : 'Instance profile'} ${id} was not found${hint ? `; ${hint}` : ''}`,
      {
        cause,
      },
    );
    this.kind = kind;
    this.id = id;
  }
}

/** An operation was cancelled through its AbortSignal. */
export class AbortedError extends InstanceRoleError {
  override name = 'AbortedError';
  constructor(what: string, cause?: unknown) {
    super('ABORTED', `Aborted while ${what}`, { cause });
  }
}

/** Why an SSH session to the instance failed before the agent could answer. */
export type SshFailure =
  | 'ssh-missing'
  | 'auth'
  | 'host-key'
  | 'unreachable'
  | 'node-missing'
  | 'timeout'
  | 'other';

/** The SSH connection failed; `reason` says how, the message says what to do. */
export class SshError extends InstanceRoleError {
  override name = 'SshError';
  readonly reason: SshFailure;
  readonly host: string;
  readonly exitCode: number | null;
  constructor(reason: SshFailure, host: string, message: string, exitCode: number | null, cause?: unknown) {
    super('SSH', message, { cause });
    this.reason = reason;
    this.host = host;
    this.exitCode = exitCode;
  }
}

/** Why the agent gave no usable report. */
export type AgentFailure = 'no-role' | 'usage' | 'malformed-output' | 'bundle-missing';

/** The agent ran but gave no usable report (no role attached, bad arguments, unreadable output). */
export class AgentError extends InstanceRoleError {
  override name = 'AgentError';
  readonly reason: AgentFailure;
  readonly exitCode: number | null;
  constructor(reason: AgentFailure, message: string, exitCode: number | null = null, cause?: unknown) {
    super('AGENT', message, { cause });
    this.reason = reason;
    this.exitCode = exitCode;
  }
}

function shorten(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

const SECRET_PATTERNS: readonly RegExp[] = [
  // secret access keys: 40 base64-ish characters standing alone
  /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
  // session tokens: long base64 runs
  /[A-Za-z0-9/+]{100,}={0,2}/g,
  // private keys
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
];

/**
 * Remove secret-looking material (secret keys, session tokens, private keys) from text, and shorten
 * access key IDs to their last 4 characters. Applied to every error message this package makes.
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const re of SECRET_PATTERNS) out = out.replace(re, '[REDACTED]');
  return out.replace(/\b(AKIA|ASIA)[A-Z0-9]{12}([A-Z0-9]{4})\b/g, '$1…$2');
}
