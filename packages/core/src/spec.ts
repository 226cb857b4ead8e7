import { ec2Principal, isPartition, PARTITIONS, type Partition, parseArn, partitionOfRegion } from './arn.js';
import type { Problem } from './errors.js';
import { lintPolicies, PRESETS_POLICY_NAME, parsePolicyDocument } from './policy-lint.js';
import {
  type Expectations,
  findPreset,
  mergeExpectations,
  type PolicyDocument,
  type PolicyStatement,
  resolvePreset,
} from './presets.js';

/** The tag that marks what instance-role created (or adopted). */
export const OWNER_TAG = { key: 'managed-by', value: 'instance-role' } as const;

/** What the role and its instance profile should look like. */
export interface InstanceRoleSpec {
  /** Name of the role and of its instance profile: 1-64 characters of [\w+=,.@-]. */
  readonly name: string;
  /** Preset references (`s3-read-only`, `s3-read:BUCKET/PREFIX`) and/or managed policy ARNs. @default [] */
  readonly policies?: readonly string[];
  /** Inline policy name -> document (object or JSON text). @default {} */
  readonly inlinePolicies?: Readonly<Record<string, PolicyDocument | string>>;
  /** IAM path of a new role and profile. @default '/' */
  readonly path?: string;
  /** Role description; left as it is when not given. */
  readonly description?: string;
  /** Seconds, 3600-43200. @default 3600 for a new role; left as it is otherwise */
  readonly maxSessionDuration?: number;
  /** ARN of a managed policy used as permissions boundary. @default none */
  readonly permissionsBoundary?: string;
  /** Tags for the role and the profile (the ownership tag is added). @default {} */
  readonly tags?: Readonly<Record<string, string>>;
  /** Remove managed and inline policies, tags and a boundary that the spec does not list. @default false */
  readonly prune?: boolean;
  /** Take over a role/profile of that name that instance-role did not create. @default false */
  readonly adopt?: boolean;
  /** Permit admin access (`*:*`, AdministratorAccess, IAMFullAccess, iam:PassRole on `*`). @default false */
  readonly allowAdmin?: boolean;
  /** @default from the ARNs in the spec, else the region (`cn-*`, `us-gov-*`), else 'aws' */
  readonly partition?: Partition;
  /** Account of the DynamoDB/Logs ARNs that presets generate. @default the role's account */
  readonly accountId?: string;
  /** Region of the DynamoDB/Logs ARNs that presets generate. @default '*' */
  readonly region?: string;
}

/** A role trust policy that lets one service assume the role. */
export interface TrustPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly {
    readonly Effect: 'Allow';
    readonly Principal: { readonly Service: string };
    readonly Action: 'sts:AssumeRole';
  }[];
}

/** The spec resolved into exactly what AWS should hold. */
export interface DesiredRole {
  readonly name: string;
  readonly path: string;
  readonly partition: Partition;
  readonly description?: string;
  readonly maxSessionDuration?: number;
  readonly permissionsBoundary?: string;
  readonly trustPolicy: TrustPolicy;
  readonly managedPolicyArns: readonly string[];
  readonly inlinePolicies: Readonly<Record<string, PolicyDocument>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly prune: boolean;
  readonly adopt: boolean;
  readonly expect: Expectations;
}

const NAME = /^[\w+=,.@-]+$/;
const PATH = /^\/$|^\/[\u0021-\u007E]+\/$/;
const DESCRIPTION = /^[\t\n\r\u0020-\u007E\u00A1-\u00FF]*$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_USER_TAGS = 49;

/**
 * Check a spec without touching AWS and return every problem (empty when valid), including the
 * policy lint.
 *
 * @example
 * validateSpec({ name: 'web', maxSessionDuration: 60 });
 * // [{ field: 'maxSessionDuration', rule: 'an integer from 3600 to 43200 seconds', value: '60' }]
 */
export function validateSpec(spec: InstanceRoleSpec): Problem[] {
  const partition = spec.partition ?? partitionOfArns(spec);
  return [
    ...nameProblems(spec.name),
    ...optionalProblems(spec),
    ...tagProblems(spec.tags ?? {}),
    ...partitionProblems(spec),
    ...lintPolicies({
      policies: spec.policies,
      inlinePolicies: spec.inlinePolicies,
      permissionsBoundary: spec.permissionsBoundary,
      allowAdmin: spec.allowAdmin,
      partition: partition && isPartition(partition) ? partition : 'aws',
    }),
  ];
}

/**
 * The partition a spec works in: `spec.partition`, else that of its ARNs, else that of `region`.
 *
 * @example
 * specPartition({ name: 'web' }, 'cn-north-1'); // 'aws-cn'
 */
export function specPartition(spec: InstanceRoleSpec, region?: string): Partition {
  const fromArns = partitionOfArns(spec);
  return spec.partition ?? (fromArns && isPartition(fromArns) ? fromArns : partitionOfRegion(region));
}

/** True when a preset in the spec builds ARNs with the account ID (DynamoDB, Logs). */
export function needsAccountId(spec: InstanceRoleSpec): boolean {
  return (spec.policies ?? []).some(
    (ref) => findPreset(ref.split(':')[0]!)?.parameter === 'TABLE' || ref.startsWith('cloudwatch-logs:'),
  );
}

/**
 * Resolve a valid spec (see validateSpec) into the desired AWS state. Scoped presets are combined into
 * one inline policy, `instance-role-presets`, so a converged role is read with few calls.
 *
 * @example
 * resolveSpec({ name: 'web', policies: ['s3-read-only'] }, { partition: 'aws' }).managedPolicyArns;
 * // ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']
 */
export function resolveSpec(
  spec: InstanceRoleSpec,
  ctx: { partition: Partition; accountId?: string; region?: string },
): DesiredRole {
  const presetCtx = {
    partition: ctx.partition,
    accountId: spec.accountId ?? ctx.accountId,
    region: spec.region,
  };
  const refs = spec.policies ?? [];
  const presets = refs.filter((r) => !r.startsWith('arn:')).map((r) => resolvePreset(r, presetCtx));
  const managed = [
    ...refs.filter((r) => r.startsWith('arn:')),
    ...presets.flatMap((p) => p.managedPolicyArns),
  ];
  const inline: Record<string, PolicyDocument> = {};
  for (const [name, doc] of Object.entries(spec.inlinePolicies ?? {}))
    inline[name] = parsePolicyDocument(doc)!;
  const statements = presets.flatMap((p, i) =>
    Object.values(p.inlinePolicies).flatMap((d) => d.Statement.map((s) => withSid(s, i + 1))),
  );
  if (statements.length > 0) inline[PRESETS_POLICY_NAME] = { Version: '2012-10-17', Statement: statements };
  const onlyPresets =
    refs.every((r) => !r.startsWith('arn:')) && Object.keys(spec.inlinePolicies ?? {}).length === 0;
  const merged = mergeExpectations(presets.map((p) => p.expect));
  return {
    name: spec.name,
    path: spec.path ?? '/',
    partition: ctx.partition,
    description: spec.description,
    maxSessionDuration: spec.maxSessionDuration,
    permissionsBoundary: spec.permissionsBoundary,
    trustPolicy: ec2TrustPolicy(ctx.partition),
    managedPolicyArns: [...new Set(managed)],
    inlinePolicies: inline,
    tags: { ...(spec.tags ?? {}), [OWNER_TAG.key]: OWNER_TAG.value },
    prune: spec.prune ?? false,
    adopt: spec.adopt ?? false,
    // Denials are only known to hold when nothing but presets grants permissions.
    expect: onlyPresets ? merged : { ...merged, deny: [] },
  };
}

/**
 * The trust policy that lets EC2 assume the role.
 *
 * @example
 * ec2TrustPolicy('aws-cn').Statement[0]; // { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com.cn' }, Action: 'sts:AssumeRole' }
 */
export function ec2TrustPolicy(partition: Partition): TrustPolicy {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: ec2Principal(partition) }, Action: 'sts:AssumeRole' },
    ],
  };
}

function withSid(s: PolicyStatement, index: number): PolicyStatement {
  return { ...s, Sid: `${s.Sid ?? 'Preset'}${index}` };
}

function nameProblems(name: unknown): Problem[] {
  if (typeof name !== 'string' || name.length === 0) return [{ field: 'name', rule: 'required' }];
  const problems: Problem[] = [];
  if (name.length > 64 || !NAME.test(name)) {
    problems.push({ field: 'name', rule: 'role name: 1-64 characters of [\\w+=,.@-]', value: name });
  }
  if (name.length > 128) {
    problems.push({
      field: 'name',
      rule: 'instance profile name: 1-128 characters of [\\w+=,.@-]',
      value: name,
    });
  }
  return problems;
}

function optionalProblems(spec: InstanceRoleSpec): Problem[] {
  const problems: Problem[] = [];
  const { path, description, maxSessionDuration: seconds, accountId } = spec;
  if (path !== undefined && (path.length > 512 || !PATH.test(path) || path.includes('//'))) {
    problems.push({
      field: 'path',
      rule: 'starts and ends with /, at most 512 printable ASCII characters, no //',
      value: path,
    });
  }
  if (description !== undefined && (description.length > 1000 || !DESCRIPTION.test(description))) {
    problems.push({
      field: 'description',
      rule: 'at most 1000 characters, printable Latin-1',
      value: description,
    });
  }
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 3600 && seconds <= 43200)) {
    problems.push({
      field: 'maxSessionDuration',
      rule: 'an integer from 3600 to 43200 seconds',
      value: String(seconds),
    });
  }
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    problems.push({ field: 'accountId', rule: '12 digits', value: accountId });
  }
  return problems;
}

/**
 * Problems with tags: key 1-128, value 0-256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@], no `aws:` prefix,
 * at most 49 (the ownership tag is the 50th), keys unique ignoring case.
 *
 * @example
 * tagProblems({ 'aws:team': 'x' })[0]?.rule; // 'the aws: prefix is reserved for AWS'
 */
export function tagProblems(tags: Readonly<Record<string, string>>): Problem[] {
  const problems: Problem[] = [];
  const keys = Object.keys(tags);
  if (keys.length > MAX_USER_TAGS) {
    problems.push({
      field: 'tags',
      rule: `at most ${MAX_USER_TAGS} tags (IAM allows 50, one is ${OWNER_TAG.key})`,
      value: `${keys.length} tags`,
    });
  }
  const seen = new Map<string, string>();
  for (const key of keys) {
    const value = tags[key]!;
    const field = `tags.${key}`;
    if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key)) {
      problems.push({
        field,
        rule: 'tag key: 1-128 characters of letters, digits, spaces and _.:/=+-@',
        value: key,
      });
    }
    if (key.toLowerCase().startsWith('aws:'))
      problems.push({ field, rule: 'the aws: prefix is reserved for AWS', value: key });
    if (typeof value !== 'string' || value.length > 256 || !TAG_TEXT.test(value)) {
      problems.push({
        field,
        rule: 'tag value: 0-256 characters of letters, digits, spaces and _.:/=+-@',
        value: String(value),
      });
    }
    if (key === OWNER_TAG.key && value !== OWNER_TAG.value) {
      problems.push({
        field,
        rule: `reserved: instance-role sets ${OWNER_TAG.key}=${OWNER_TAG.value}`,
        value,
      });
    }
    const earlier = seen.get(key.toLowerCase());
    if (earlier !== undefined)
      problems.push({ field, rule: `duplicate tag key (IAM ignores case; also ${earlier})`, value: key });
    seen.set(key.toLowerCase(), key);
  }
  return problems;
}

function partitionProblems(spec: InstanceRoleSpec): Problem[] {
  const problems: Problem[] = [];
  if (spec.partition !== undefined && !isPartition(spec.partition)) {
    problems.push({ field: 'partition', rule: `one of ${PARTITIONS.join(', ')}`, value: spec.partition });
  }
  const expected = spec.partition ?? partitionOfArns(spec);
  for (const [field, arn] of specArns(spec)) {
    const partition = parseArn(arn)?.partition;
    if (partition && expected && partition !== expected) {
      problems.push({ field, rule: `every ARN must be in partition ${expected}`, value: arn });
    }
  }
  return problems;
}

function specArns(spec: InstanceRoleSpec): [string, string][] {
  const arns: [string, string][] = (spec.policies ?? []).flatMap((ref, i): [string, string][] =>
    typeof ref === 'string' && ref.startsWith('arn:') ? [[`policies[${i}]`, ref]] : [],
  );
  if (spec.permissionsBoundary) arns.push(['permissionsBoundary', spec.permissionsBoundary]);
  return arns;
}

function partitionOfArns(spec: InstanceRoleSpec): string | undefined {
  return specArns(spec)
    .map(([, arn]) => parseArn(arn)?.partition)
    .find((p) => p !== undefined);
}
