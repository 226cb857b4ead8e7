import { type Partition, parseArn, policyArnProblem, policyNameOfArn } from './arn.js';
import type { Problem } from './errors.js';
import { type PolicyDocument, type PolicyStatement, presetProblems, resolvePreset } from './presets.js';

/** IAM's limit on the inline policies of one role, in characters without whitespace. */
export const INLINE_POLICY_LIMIT = 10_240;
/** IAM's default quota of managed policies per role (can be raised to 20). */
export const MANAGED_POLICY_QUOTA = 10;
/** The inline policy that holds the statements of every scoped preset. */
export const PRESETS_POLICY_NAME = 'instance-role-presets';

const ADMIN_POLICIES = new Set(['AdministratorAccess', 'IAMFullAccess']);

/** What lintPolicies looks at. */
export interface PolicyLintInput {
  /** Preset references and/or managed policy ARNs. */
  readonly policies?: readonly string[];
  /** Inline policy name -> document (object or JSON text). */
  readonly inlinePolicies?: Readonly<Record<string, PolicyDocument | string>>;
  readonly permissionsBoundary?: string;
  /** @default false */
  readonly allowAdmin?: boolean;
  /** @default 'aws' */
  readonly partition?: Partition;
}

/**
 * Check policies before any write and return every problem: admin access (refused unless
 * `allowAdmin`), inline policies over 10,240 characters, more than 10 managed policies, malformed
 * ARNs, unknown presets (with the nearest name) and duplicates.
 *
 * @example
 * lintPolicies({ policies: ['arn:aws:iam::aws:policy/AdministratorAccess'] });
 * // [{ field: 'policies[0]', rule: 'admin access is refused unless allowAdmin (--allow-admin)', ... }]
 */
export function lintPolicies(input: PolicyLintInput): Problem[] {
  const problems: Problem[] = [];
  const arns = new Map<string, string>();
  const refs = input.policies ?? [];
  refs.forEach((ref, i) => {
    const field = `policies[${i}]`;
    if (typeof ref !== 'string' || ref === '') {
      problems.push({ field, rule: 'a preset name or a managed policy ARN', value: String(ref) });
      return;
    }
    const resolved = ref.startsWith('arn:')
      ? lintArn(ref, field, input, problems)
      : lintPreset(ref, field, input, problems);
    for (const arn of resolved) {
      const earlier = arns.get(arn);
      if (earlier) problems.push({ field, rule: `duplicate managed policy (also ${earlier})`, value: ref });
      else arns.set(arn, field);
    }
  });
  if (arns.size > MANAGED_POLICY_QUOTA) {
    problems.push({
      field: 'policies',
      rule: `at most ${MANAGED_POLICY_QUOTA} managed policies per role (IAM default quota)`,
      value: `${arns.size} managed policies`,
      hint: 'the quota can be raised to 20 through Service Quotas, or combine policies',
    });
  }
  if (input.permissionsBoundary !== undefined) {
    const problem = policyArnProblem(input.permissionsBoundary);
    if (problem)
      problems.push({ field: 'permissionsBoundary', rule: problem, value: input.permissionsBoundary });
  }
  problems.push(...lintInline(input, refs));
  return problems;
}

/** Parse an inline policy given as JSON text or an object; `undefined` when it is not a policy document. */
export function parsePolicyDocument(doc: PolicyDocument | string): PolicyDocument | undefined {
  let value: unknown = doc;
  if (typeof doc === 'string') {
    try {
      value = JSON.parse(doc);
    } catch {
      return undefined;
    }
  }
  const statement = (value as { Statement?: unknown } | null)?.Statement;
  if (typeof value !== 'object' || value === null || statement === undefined) return undefined;
  const list = Array.isArray(statement) ? statement : [statement];
  if (
    !list.every((s) => typeof s === 'object' && s !== null && (s.Effect === 'Allow' || s.Effect === 'Deny'))
  ) {
    return undefined;
  }
  return { ...(value as PolicyDocument), Statement: list };
}

/** Characters IAM counts toward the inline policy limit (whitespace is not counted). */
export function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).replace(/\s/g, '').length;
}

function lintArn(arn: string, field: string, input: PolicyLintInput, problems: Problem[]): string[] {
  const problem = policyArnProblem(arn);
  if (problem) {
    problems.push({ field, rule: problem, value: arn });
    return [];
  }
  if (ADMIN_POLICIES.has(policyNameOfArn(arn)) && parseArn(arn)?.account === 'aws' && !input.allowAdmin) {
    problems.push(adminProblem(field, arn, `${policyNameOfArn(arn)} grants admin access`));
  }
  return [arn];
}

function lintPreset(ref: string, field: string, input: PolicyLintInput, problems: Problem[]): string[] {
  const found = presetProblems(ref, field);
  if (found.length > 0) {
    problems.push(...found);
    return [];
  }
  return [...resolvePreset(ref, { partition: input.partition }).managedPolicyArns];
}

function lintInline(input: PolicyLintInput, refs: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  let total = 0;
  for (const [name, raw] of Object.entries(input.inlinePolicies ?? {})) {
    const field = `inlinePolicies.${name}`;
    if (!/^[\w+=,.@-]{1,128}$/.test(name))
      problems.push({ field, rule: 'policy name: 1-128 characters of [\\w+=,.@-]' });
    if (name === PRESETS_POLICY_NAME)
      problems.push({ field, rule: 'this name is reserved for the scoped presets' });
    const doc = parsePolicyDocument(raw);
    if (!doc) {
      problems.push({
        field,
        rule: 'must be a policy document: JSON with Statement entries whose Effect is Allow or Deny',
      });
      continue;
    }
    total += policySize(doc);
    if (!input.allowAdmin) problems.push(...adminStatements(doc, field));
  }
  const presetDocs = refs
    .filter(
      (r) => typeof r === 'string' && r !== '' && !r.startsWith('arn:') && presetProblems(r).length === 0,
    )
    .flatMap((r) => Object.values(resolvePreset(r, { partition: input.partition }).inlinePolicies));
  total += presetDocs.reduce((sum, d) => sum + policySize(d), 0);
  if (total > INLINE_POLICY_LIMIT) {
    problems.push({
      field: 'inlinePolicies',
      rule: `inline policies of a role may total at most ${INLINE_POLICY_LIMIT} characters (whitespace not counted)`,
      value: `${total} characters`,
      hint: 'move statements into a customer managed policy and attach its ARN',
    });
  }
  return problems;
}

function adminStatements(doc: PolicyDocument, field: string): Problem[] {
  return doc.Statement.flatMap((s, i) => {
    const reason = adminReason(s);
    return reason ? [adminProblem(`${field}.Statement[${i}]`, JSON.stringify(s), reason)] : [];
  });
}

function adminReason(s: PolicyStatement): string | undefined {
  if (s.Effect !== 'Allow') return undefined;
  const { NotAction, NotResource } = s as { NotAction?: string | string[]; NotResource?: unknown };
  const actions = toList(s.Action);
  // NotResource grants everything but the listed resources; `arn:*`, `arn:aws:*:*:*:*` are `*` too.
  if (NotResource === undefined && !toList(s.Resource).some(isEveryResource)) {
    // Passing any role of the account is as good as passing any role at all: the instance can hand an
    // admin role to a new instance or function it launches.
    if (actions.some((a) => globMatches(a, 'iam:PassRole')) && toList(s.Resource).some(isEveryRole))
      return 'iam:PassRole on every role (role/*) lets the role escalate';
    return undefined;
  }
  if (NotAction !== undefined && !toList(NotAction).some((a) => globMatches(a, 'iam:PassRole')))
    return 'NotAction on Resource "*" grants every other action, iam:PassRole included';
  if (actions.some((a) => a === '*' || a === '*:*')) return 'Action "*" on Resource "*" is admin access';
  if (actions.some((a) => globMatches(a, 'iam:PassRole')))
    return 'iam:PassRole on Resource "*" lets the role escalate';
  return undefined;
}

function isEveryRole(resource: string): boolean {
  return /^arn:[^:]+:iam::[^:]*:role\/\*$/.test(resource) || /^arn:[^:]+:iam::[^:]*:\*$/.test(resource);
}

function isEveryResource(resource: string): boolean {
  return resource === '*' || /^arn:(\*|[^:*]+:\*)(:\*)*$/.test(resource);
}

function adminProblem(field: string, value: string, why: string): Problem {
  return {
    field,
    rule: 'admin access is refused unless allowAdmin (--allow-admin)',
    value,
    hint: `${why}; grant only what the instance needs (see \`instance-role presets\`)`,
  };
}

function toList(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

function globMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(action);
}
