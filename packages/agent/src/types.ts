/** AWS service a probe talks to. */
export type ProbeService = 's3' | 'dynamodb' | 'iam' | 'sts' | 'logs';

/** One action to try, same shape as core's `ProbeSpec`. */
export interface ProbeSpec {
  readonly service: ProbeService;
  /** IAM action name, e.g. `s3:ListAllMyBuckets`. */
  readonly action: string;
  /** s3: `bucket`, `bucket/prefix` or `bucket/key`; dynamodb: table; iam: role name; logs: log group. */
  readonly resource?: string;
}

/** What the role must allow, must not allow, and may write. Same shape as core's `Expectations`. */
export interface Expectations {
  readonly allow: readonly ProbeSpec[];
  readonly deny: readonly ProbeSpec[];
  readonly writes: readonly ProbeSpec[];
}

export type Expected = 'allow' | 'deny' | 'any';
export type Outcome = 'allowed' | 'denied' | 'error' | 'skipped';
export type Severity = 'info' | 'warn' | 'fail';
export type Verdict = 'pass' | 'fail' | 'error';

/** Stable finding codes users can switch on. */
export type FindingCode =
  | 'STATIC_KEYS_ENV'
  | 'ENV_KEYS_OVERRIDE_ROLE'
  | 'STATIC_KEYS_FILE'
  | 'STATIC_KEYS_USER_DATA'
  | 'IMDSV1_ENABLED'
  | 'HOP_LIMIT_SUSPECTED'
  | 'NO_ROLE_ATTACHED'
  | 'ROLE_MISMATCH'
  | 'CLOCK_SKEW'
  | 'CREDENTIALS_EXPIRED'
  | 'PROXY_INTERCEPTS_IMDS'
  | 'IMDS_DISABLED'
  | 'IMDS_UNREACHABLE'
  | 'NO_CREDENTIALS'
  | 'DEADLINE_EXCEEDED';

/** Something on the instance that undermines the role, with what to do about it. */
export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** One sentence that says what is wrong and what to do. Never contains key material. */
  readonly message: string;
}

/** The result of one probe. */
export interface Check {
  readonly service: ProbeService;
  readonly action: string;
  readonly resource: string | null;
  readonly expected: Expected;
  readonly outcome: Outcome;
  /** `true` when the outcome meets the expectation (always `true` for `any`). */
  readonly ok: boolean;
  readonly errorCode: string | null;
  readonly httpStatus: number | null;
  readonly durationMs: number;
  readonly note?: string;
}

/** What the raw IMDS diagnostics saw. */
export interface ImdsReport {
  readonly endpoint: string;
  readonly disabled: boolean;
  readonly reachable: boolean;
  /** The token PUT answered. */
  readonly v2: boolean;
  /** A GET without a token answered 200. `null` when not known. */
  readonly v1Open: boolean | null;
  readonly hopLimitSuspected: boolean;
  readonly roleAttached: boolean | null;
  readonly durationMs: number;
}

/** What `verify` returns and `--json` prints. See `schema/report.schema.json`. */
export interface Report {
  readonly schemaVersion: 1;
  readonly verdict: Verdict;
  readonly role: {
    readonly name: string | null;
    readonly arn: string | null;
    readonly instanceProfileArn: string | null;
  };
  readonly instance: {
    readonly id: string | null;
    readonly region: string | null;
    readonly accountId: string | null;
  };
  readonly imds: ImdsReport;
  readonly checks: readonly Check[];
  readonly findings: readonly Finding[];
  readonly durationMs: number;
}
