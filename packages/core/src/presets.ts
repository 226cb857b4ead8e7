import { awsManagedPolicyArn, type Partition } from './arn.js';
import { type Problem, ValidationError } from './errors.js';

export type { Partition } from './arn.js';

/** One action the agent probes on the instance. */
export interface ProbeSpec {
  readonly service: 's3' | 'dynamodb' | 'iam' | 'sts' | 'logs';
  /** IAM action name, e.g. `s3:ListBucket`. */
  readonly action: string;
  /** s3: `bucket`, `bucket/prefix` or `bucket/key`; dynamodb: table; iam: role; logs: log group. */
  readonly resource?: string;
}

/** What a role should and should not be able to do, as data the agent verifies. */
export interface Expectations {
  /** Must be allowed. */
  readonly allow: readonly ProbeSpec[];
  /** Read-only actions that must be denied. */
  readonly deny: readonly ProbeSpec[];
  /** Write actions that are allowed, probed only when asked to (`--write-probes`). */
  readonly writes: readonly ProbeSpec[];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** A preset after its parameter is filled in. */
export interface ResolvedPreset {
  /** As given, e.g. `s3-read:my-bucket/logs`. */
  readonly ref: string;
  /** The preset name, e.g. `s3-read`. */
  readonly name: string;
  readonly managedPolicyArns: readonly string[];
  /** Inline policy name -> document. */
  readonly inlinePolicies: Readonly<Record<string, PolicyDocument>>;
  readonly expect: Expectations;
}

export type PresetParameter = 'BUCKET[/PREFIX]' | 'TABLE' | 'LOG_GROUP';

/** A preset as listed by `instance-role presets`. */
export interface PresetDefinition {
  /** Stable kebab-case name used on the command line. */
  readonly name: string;
  /** `managed`: attaches an AWS managed policy; `scoped`: generates a least-privilege inline policy. */
  readonly kind: 'managed' | 'scoped';
  readonly summary: string;
  /** The value after the colon, for scoped presets, e.g. `s3-read:BUCKET[/PREFIX]`. */
  readonly parameter?: PresetParameter;
  /** The AWS managed policy name, for managed presets. */
  readonly managedPolicy?: string;
}

/** Where presets resolve: partition for ARNs, account and region for DynamoDB and Logs ARNs. */
export interface PresetContext {
  /** @default 'aws' */
  readonly partition?: Partition;
  /** @default '*' */
  readonly accountId?: string;
  /** @default '*' */
  readonly region?: string;
}

const freeze = <T>(value: T): T => deepFreeze(value);

/** Every preset, frozen. */
export const PRESETS: readonly PresetDefinition[] = freeze([
  {
    name: 's3-read-only',
    kind: 'managed',
    summary: 'read every S3 bucket (AmazonS3ReadOnlyAccess)',
    managedPolicy: 'AmazonS3ReadOnlyAccess',
  },
  {
    name: 'dynamodb-full-access',
    kind: 'managed',
    summary: 'full DynamoDB access (AmazonDynamoDBFullAccess)',
    managedPolicy: 'AmazonDynamoDBFullAccess',
  },
  {
    name: 'iam-read-only',
    kind: 'managed',
    summary: 'read IAM (IAMReadOnlyAccess)',
    managedPolicy: 'IAMReadOnlyAccess',
  },
  {
    name: 'cloudwatch-agent',
    kind: 'managed',
    summary: 'run the CloudWatch agent (CloudWatchAgentServerPolicy)',
    managedPolicy: 'CloudWatchAgentServerPolicy',
  },
  {
    name: 'ssm-managed-instance',
    kind: 'managed',
    summary: 'be managed by Systems Manager (AmazonSSMManagedInstanceCore)',
    managedPolicy: 'AmazonSSMManagedInstanceCore',
  },
  {
    name: 's3-read',
    kind: 'scoped',
    summary: 'list and read objects in one bucket, optionally under a prefix',
    parameter: 'BUCKET[/PREFIX]',
  },
  {
    name: 's3-read-write',
    kind: 'scoped',
    summary: 'list, read, write and delete objects in one bucket, optionally under a prefix',
    parameter: 'BUCKET[/PREFIX]',
  },
  {
    name: 'dynamodb-read',
    kind: 'scoped',
    summary: 'read one DynamoDB table and its indexes',
    parameter: 'TABLE',
  },
  {
    name: 'dynamodb-read-write',
    kind: 'scoped',
    summary: 'read and write one DynamoDB table and its indexes',
    parameter: 'TABLE',
  },
  {
    name: 'cloudwatch-logs',
    kind: 'scoped',
    summary: 'write log streams and events to one log group',
    parameter: 'LOG_GROUP',
  },
] satisfies PresetDefinition[]);

const LIST_ALL_BUCKETS: ProbeSpec = { service: 's3', action: 's3:ListAllMyBuckets' };
const LIST_TABLES: ProbeSpec = { service: 'dynamodb', action: 'dynamodb:ListTables' };
const LIST_ROLES: ProbeSpec = { service: 'iam', action: 'iam:ListRoles' };
const CALLER_IDENTITY: ProbeSpec = { service: 'sts', action: 'sts:GetCallerIdentity' };
const DESCRIBE_LOG_GROUPS: ProbeSpec = { service: 'logs', action: 'logs:DescribeLogGroups' };

const MANAGED_EXPECT: Readonly<Record<string, Expectations>> = {
  's3-read-only': { allow: [LIST_ALL_BUCKETS], deny: [LIST_TABLES, LIST_ROLES], writes: [] },
  // AmazonDynamoDBFullAccess also grants iam:GetRole and iam:ListRoles on * (for Auto Scaling and Data Pipeline).
  // AmazonDynamoDBFullAccess also grants iam:ListRoles and iam:GetRole (for auto scaling and DAX set-up)
  'dynamodb-full-access': { allow: [LIST_TABLES, LIST_ROLES], deny: [LIST_ALL_BUCKETS], writes: [] },
  'iam-read-only': { allow: [LIST_ROLES], deny: [LIST_ALL_BUCKETS, LIST_TABLES], writes: [] },
  'cloudwatch-agent': {
    allow: [DESCRIBE_LOG_GROUPS],
    deny: [LIST_ALL_BUCKETS, LIST_TABLES, LIST_ROLES],
    writes: [],
  },
  'ssm-managed-instance': {
    allow: [CALLER_IDENTITY],
    deny: [LIST_ALL_BUCKETS, LIST_TABLES, LIST_ROLES],
    writes: [],
  },
};

/** The key the agent reads (and, with write probes, writes) under a scoped S3 prefix. */
export const S3_PROBE_KEY = 'instance-role-probe';

/**
 * Resolve a preset reference such as `s3-read-only` or `s3-read:my-bucket/logs` into managed policy
 * ARNs, inline policy documents and expectations.
 *
 * @throws ValidationError for an unknown name (with the nearest name), a missing or extra parameter,
 * or a bad bucket, table or log group name.
 * @example
 * const p = resolvePreset('s3-read:my-bucket/logs', { partition: 'aws' });
 * p.inlinePolicies; // { 'instance-role-s3-read-my-bucket-logs': { Version: '2012-10-17', Statement: [...] } }
 */
export function resolvePreset(ref: string, ctx: PresetContext = {}): ResolvedPreset {
  const { name, param, problems } = parseRef(ref);
  assertNone(problems);
  const definition = findPreset(name)!;
  const partition = ctx.partition ?? 'aws';
  if (definition.kind === 'managed') {
    return freeze({
      ref,
      name,
      managedPolicyArns: [awsManagedPolicyArn(partition, definition.managedPolicy!)],
      inlinePolicies: {},
      expect: MANAGED_EXPECT[name]!,
    });
  }
  const scoped = SCOPED[name]!(param!, {
    partition,
    accountId: ctx.accountId ?? '*',
    region: ctx.region ?? '*',
  });
  return freeze({ ref, name, managedPolicyArns: [], ...scoped });
}

/**
 * Every problem with a preset reference, without throwing. Empty when `ref` resolves.
 *
 * @example
 * presetProblems('s3-raed-only')[0]?.hint; // 'did you mean "s3-read-only"?'
 */
export function presetProblems(ref: string, field = 'policies'): Problem[] {
  return parseRef(ref, field).problems;
}

/** The preset with this exact name. */
export function findPreset(name: string): PresetDefinition | undefined {
  return PRESETS.find((p) => p.name === name);
}

/**
 * Combine the expectations of several presets: allows and writes are united, and a denial is dropped
 * when another preset allows (or writes) the same action.
 *
 * @example
 * mergeExpectations([resolvePreset('s3-read-only').expect, resolvePreset('iam-read-only').expect]).deny;
 * // [{ service: 'dynamodb', action: 'dynamodb:ListTables' }]
 */
export function mergeExpectations(list: readonly Expectations[]): Expectations {
  const allow = unique(list.flatMap((e) => e.allow));
  const writes = unique(list.flatMap((e) => e.writes));
  const granted = new Set([...allow, ...writes].map((p) => p.action));
  const deny = unique(list.flatMap((e) => e.deny)).filter((p) => !granted.has(p.action));
  return { allow, deny, writes };
}

/**
 * The candidate closest to `input` by edit distance, if it is close enough to be a likely typo.
 *
 * @example
 * nearestName('s3-raed', ['s3-read', 'iam-read-only']); // 's3-read'
 */
export function nearestName(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(input.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(3, Math.floor(input.length / 2)) ? best : undefined;
}

function parseRef(ref: string, field = 'policies'): { name: string; param?: string; problems: Problem[] } {
  const colon = ref.indexOf(':');
  const name = colon < 0 ? ref : ref.slice(0, colon);
  const param = colon < 0 ? undefined : ref.slice(colon + 1);
  const definition = findPreset(name);
  if (!definition) {
    const near = nearestName(
      name,
      PRESETS.map((p) => p.name),
    );
    return {
      name,
      problems: [
        {
          field,
          rule: 'unknown preset (see `instance-role presets`)',
          value: ref,
          hint: near ? `did you mean "${near}"?` : `known presets: ${PRESETS.map((p) => p.name).join(', ')}`,
        },
      ],
    };
  }
  if (definition.kind === 'managed') {
    const problems =
      param === undefined
        ? []
        : [{ field, rule: `preset ${name} takes no parameter`, value: ref, hint: `use "${name}"` }];
    return { name, problems };
  }
  if (!param) {
    return {
      name,
      problems: [
        {
          field,
          rule: `preset ${name} needs a parameter`,
          value: ref,
          hint: `use "${name}:${definition.parameter}"`,
        },
      ],
    };
  }
  return { name, param, problems: parameterProblems(definition.parameter!, param, field, ref) };
}

function parameterProblems(kind: PresetParameter, param: string, field: string, ref: string): Problem[] {
  if (kind === 'TABLE') {
    return /^[a-zA-Z0-9_.-]{3,255}$/.test(param)
      ? []
      : [{ field, rule: 'table name: 3-255 characters of [a-zA-Z0-9_.-]', value: ref }];
  }
  if (kind === 'LOG_GROUP') {
    return /^[.\-_/#A-Za-z0-9]{1,512}$/.test(param)
      ? []
      : [{ field, rule: 'log group name: 1-512 characters of [.-_/#A-Za-z0-9]', value: ref }];
  }
  const { bucket, prefix } = splitBucket(param);
  const problems: Problem[] = [];
  if (!isBucketName(bucket)) {
    problems.push({
      field,
      rule: 'bucket name: 3-63 characters of [a-z0-9.-], starting and ending with a letter or digit, no "..", not an IP address, no reserved prefix (xn--, sthree-, amzn-s3-demo-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)',
      value: ref,
    });
  }
  if (/[*?]|\$\{/.test(prefix) || prefix.length > 1024) {
    problems.push({
      field,
      rule: 'prefix: no wildcards (* ?) or IAM policy variables, at most 1024 characters',
      value: ref,
    });
  }
  return problems;
}

function isBucketName(bucket: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) &&
    !bucket.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(bucket) &&
    !/^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(bucket)
  );
}

/** `bucket/logs` -> bucket `bucket`, prefix `logs/`; `bucket` -> prefix ''. */
function splitBucket(param: string): { bucket: string; prefix: string } {
  const slash = param.indexOf('/');
  if (slash < 0) return { bucket: param, prefix: '' };
  const rest = param.slice(slash + 1).replace(/^\/+/, '');
  return { bucket: param.slice(0, slash), prefix: rest === '' || rest.endsWith('/') ? rest : `${rest}/` };
}

interface ScopedContext {
  readonly partition: Partition;
  readonly accountId: string;
  readonly region: string;
}

type Scoped = Pick<ResolvedPreset, 'inlinePolicies' | 'expect'>;

const S3_READ = ['s3:GetObject', 's3:GetObjectVersion'];
const S3_WRITE = ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'];
const DDB_READ = [
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
];
const DDB_WRITE = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

const SCOPED: Readonly<Record<string, (param: string, ctx: ScopedContext) => Scoped>> = {
  's3-read': (param, ctx) => s3Scoped('s3-read', param, ctx, false),
  's3-read-write': (param, ctx) => s3Scoped('s3-read-write', param, ctx, true),
  'dynamodb-read': (param, ctx) => dynamoScoped('dynamodb-read', param, ctx, false),
  'dynamodb-read-write': (param, ctx) => dynamoScoped('dynamodb-read-write', param, ctx, true),
  'cloudwatch-logs': (param, ctx) => logsScoped(param, ctx),
};

function s3Scoped(name: string, param: string, ctx: ScopedContext, write: boolean): Scoped {
  const { bucket, prefix } = splitBucket(param);
  const bucketArn = `arn:${ctx.partition}:s3:::${bucket}`;
  const list: PolicyStatement = prefix
    ? {
        Sid: 'ListPrefix',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': [prefix, `${prefix}*`] } },
      }
    : { Sid: 'ListBucket', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn };
  const objects: PolicyStatement = {
    Sid: write ? 'ReadWriteObjects' : 'ReadObjects',
    Effect: 'Allow',
    Action: write ? [...S3_READ, ...S3_WRITE] : S3_READ,
    Resource: `${bucketArn}/${prefix}*`,
  };
  const where = prefix ? `${bucket}/${prefix.slice(0, -1)}` : bucket;
  const key = `${bucket}/${prefix}${S3_PROBE_KEY}`;
  return {
    inlinePolicies: { [inlineName(name, param)]: { Version: '2012-10-17', Statement: [list, objects] } },
    expect: {
      allow: [
        { service: 's3', action: 's3:ListBucket', resource: where },
        { service: 's3', action: 's3:GetObject', resource: key },
      ],
      deny: [LIST_ALL_BUCKETS, LIST_TABLES, LIST_ROLES],
      writes: write ? [{ service: 's3', action: 's3:PutObject', resource: key }] : [],
    },
  };
}

function dynamoScoped(name: string, table: string, ctx: ScopedContext, write: boolean): Scoped {
  const tableArn = `arn:${ctx.partition}:dynamodb:${ctx.region}:${ctx.accountId}:table/${table}`;
  return {
    inlinePolicies: {
      [inlineName(name, table)]: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: write ? 'ReadWriteTable' : 'ReadTable',
            Effect: 'Allow',
            Action: write ? [...DDB_READ, ...DDB_WRITE] : DDB_READ,
            Resource: [tableArn, `${tableArn}/index/*`],
          },
        ],
      },
    },
    expect: {
      allow: [{ service: 'dynamodb', action: 'dynamodb:DescribeTable', resource: table }],
      deny: [LIST_TABLES, LIST_ALL_BUCKETS, LIST_ROLES],
      writes: write ? [{ service: 'dynamodb', action: 'dynamodb:PutItem', resource: table }] : [],
    },
  };
}

function logsScoped(group: string, ctx: ScopedContext): Scoped {
  const groupArn = `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:${group}`;
  return {
    inlinePolicies: {
      [inlineName('cloudwatch-logs', group)]: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'WriteLogGroup',
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            Resource: [groupArn, `${groupArn}:*`],
          },
        ],
      },
    },
    expect: {
      allow: [{ service: 'logs', action: 'logs:DescribeLogStreams', resource: group }],
      deny: [LIST_ALL_BUCKETS, LIST_TABLES, LIST_ROLES],
      writes: [{ service: 'logs', action: 'logs:PutLogEvents', resource: group }],
    },
  };
}

/** A valid IAM policy name (1-128 of [\w+=,.@-]) that is stable for a preset and its parameter. */
function inlineName(preset: string, param: string): string {
  const base = `instance-role-${preset}-${param.replace(/\/+$/, '')}`.replace(/[^\w+=,.@-]/g, '-');
  return base.length <= 128 ? base : `${base.slice(0, 119)}-${hash(base)}`;
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function unique(probes: readonly ProbeSpec[]): ProbeSpec[] {
  const seen = new Set<string>();
  return probes.filter((p) => {
    const key = `${p.action} ${p.resource ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

function assertNone(problems: readonly Problem[]): void {
  if (problems.length > 0) throw new ValidationError(problems);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
