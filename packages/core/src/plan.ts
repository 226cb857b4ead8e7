import { parseArn } from './arn.js';
import { assertNoProblems, NotOwnedError } from './errors.js';
import type { ObservedInstanceProfile, ObservedRole, ObservedState } from './observe.js';
import type { Partition, PolicyDocument } from './presets.js';
import {
  type DesiredRole,
  type InstanceRoleSpec,
  OWNER_TAG,
  resolveSpec,
  specPartition,
  type TrustPolicy,
  validateSpec,
} from './spec.js';

/** One change to make in IAM. */
export type Change =
  | {
      readonly kind: 'create-role';
      readonly roleName: string;
      readonly path: string;
      readonly trustPolicy: TrustPolicy;
      readonly description?: string;
      readonly maxSessionDuration?: number;
      readonly permissionsBoundary?: string;
      readonly tags: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'tag-role'; readonly roleName: string; readonly tags: Readonly<Record<string, string>> }
  | { readonly kind: 'untag-role'; readonly roleName: string; readonly keys: readonly string[] }
  | { readonly kind: 'update-trust-policy'; readonly roleName: string; readonly trustPolicy: TrustPolicy }
  | {
      readonly kind: 'update-role';
      readonly roleName: string;
      readonly description?: string;
      readonly maxSessionDuration?: number;
    }
  | { readonly kind: 'set-permissions-boundary'; readonly roleName: string; readonly policyArn: string }
  | {
      readonly kind: 'put-inline-policy';
      readonly roleName: string;
      readonly policyName: string;
      readonly document: PolicyDocument;
      readonly replaces: boolean;
    }
  | { readonly kind: 'attach-policy'; readonly roleName: string; readonly policyArn: string }
  | { readonly kind: 'detach-policy'; readonly roleName: string; readonly policyArn: string }
  | { readonly kind: 'delete-inline-policy'; readonly roleName: string; readonly policyName: string }
  | { readonly kind: 'remove-permissions-boundary'; readonly roleName: string; readonly policyArn: string }
  | {
      readonly kind: 'create-instance-profile';
      readonly profileName: string;
      readonly path: string;
      readonly tags: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'tag-instance-profile';
      readonly profileName: string;
      readonly tags: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'untag-instance-profile';
      readonly profileName: string;
      readonly keys: readonly string[];
    }
  | {
      readonly kind: 'remove-role-from-instance-profile';
      readonly profileName: string;
      readonly roleName: string;
    }
  | {
      readonly kind: 'add-role-to-instance-profile';
      readonly profileName: string;
      readonly roleName: string;
    };

export type ChangeKind = Change['kind'];

/** The changes that make IAM match a spec, in the order they are applied. */
export interface Plan {
  readonly roleName: string;
  readonly profileName: string;
  readonly partition: Partition;
  readonly changes: readonly Change[];
  /** Differences that cannot be changed in place (e.g. the path of an existing role). */
  readonly warnings: readonly string[];
}

/** Where the plan resolves presets. */
export interface PlanContext {
  /** @default from the spec's ARNs, else 'aws' */
  readonly partition?: Partition;
  /** @default the account in the observed role's ARN */
  readonly accountId?: string;
}

/**
 * Safe order: ownership first, then grants before revocations (a running instance keeps working),
 * and the profile last, so the role is complete before an instance can use it.
 */
const ORDER: readonly ChangeKind[] = [
  'create-role',
  'tag-role',
  'untag-role',
  'update-trust-policy',
  'update-role',
  'set-permissions-boundary',
  'put-inline-policy',
  'attach-policy',
  'detach-policy',
  'delete-inline-policy',
  'remove-permissions-boundary',
  'create-instance-profile',
  'tag-instance-profile',
  'untag-instance-profile',
  'remove-role-from-instance-profile',
  'add-role-to-instance-profile',
];

/**
 * Compare a spec with what exists and return the changes, without any AWS call.
 *
 * @throws ValidationError for an invalid spec; NotOwnedError when the role or profile exists without
 * the ownership tag and `adopt` is not set.
 * @example
 * const plan = planInstanceRole({ name: 'web', policies: ['s3-read-only'] }, {});
 * plan.changes.map((c) => c.kind); // ['create-role', 'attach-policy', 'create-instance-profile', 'add-role-to-instance-profile']
 */
export function planInstanceRole(
  spec: InstanceRoleSpec,
  observed: ObservedState,
  context: PlanContext = {},
): Plan {
  assertNoProblems(validateSpec(spec));
  const partition = context.partition ?? specPartition(spec);
  const accountId = context.accountId ?? accountOf(observed);
  return planFromDesired(resolveSpec(spec, { partition, accountId }), observed);
}

/**
 * Plan from an already resolved desired state (see resolveSpec).
 *
 * @example
 * planFromDesired(resolveSpec({ name: 'web' }, { partition: 'aws' }), {}).changes.length; // 3
 */
export function planFromDesired(desired: DesiredRole, observed: ObservedState): Plan {
  const warnings: string[] = [];
  const changes = [
    ...(observed.role ? roleChanges(desired, observed.role, warnings) : createRole(desired)),
    ...profileChanges(desired, observed.instanceProfile, warnings),
  ];
  const rank = (c: Change) => ORDER.indexOf(c.kind);
  return {
    roleName: desired.name,
    profileName: desired.name,
    partition: desired.partition,
    changes: changes
      .map((c, i) => [c, i] as const)
      .sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1])
      .map(([c]) => c),
    warnings,
  };
}

/** The account ID in the ARN of the observed role or profile, if any. */
export function accountOf(observed: ObservedState): string | undefined {
  const account = parseArn(observed.role?.arn ?? observed.instanceProfile?.arn ?? '')?.account;
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

function createRole(d: DesiredRole): Change[] {
  const roleName = d.name;
  return [
    {
      kind: 'create-role',
      roleName,
      path: d.path,
      trustPolicy: d.trustPolicy,
      description: d.description,
      maxSessionDuration: d.maxSessionDuration,
      permissionsBoundary: d.permissionsBoundary,
      tags: d.tags,
    },
    ...Object.entries(d.inlinePolicies).map(
      ([policyName, document]): Change => ({
        kind: 'put-inline-policy',
        roleName,
        policyName,
        document,
        replaces: false,
      }),
    ),
    ...d.managedPolicyArns.map((policyArn): Change => ({ kind: 'attach-policy', roleName, policyArn })),
  ];
}

function roleChanges(d: DesiredRole, role: ObservedRole, warnings: string[]): Change[] {
  if (role.tags[OWNER_TAG.key] !== OWNER_TAG.value && !d.adopt) {
    throw new NotOwnedError('role', role.name, `${OWNER_TAG.key}=${OWNER_TAG.value}`);
  }
  const roleName = d.name;
  if (role.path !== d.path) {
    warnings.push(
      `role ${roleName} has path ${role.path}, not ${d.path}; IAM cannot change a role's path (recreate it to move it)`,
    );
  }
  const changes: Change[] = [
    ...tagChanges(
      d,
      role.tags,
      (tags) => ({ kind: 'tag-role', roleName, tags }),
      (keys) => ({ kind: 'untag-role', roleName, keys }),
    ),
  ];
  if (!sameDocument(role.trustPolicy, d.trustPolicy)) {
    changes.push({ kind: 'update-trust-policy', roleName, trustPolicy: d.trustPolicy });
  }
  const description =
    d.description !== undefined && d.description !== (role.description ?? '') ? d.description : undefined;
  const seconds =
    d.maxSessionDuration !== undefined && d.maxSessionDuration !== role.maxSessionDuration
      ? d.maxSessionDuration
      : undefined;
  if (description !== undefined || seconds !== undefined) {
    changes.push({ kind: 'update-role', roleName, description, maxSessionDuration: seconds });
  }
  changes.push(...boundaryChanges(d, role), ...inlineChanges(d, role), ...managedChanges(d, role));
  return changes;
}

function boundaryChanges(d: DesiredRole, role: ObservedRole): Change[] {
  const roleName = d.name;
  if (d.permissionsBoundary !== undefined && d.permissionsBoundary !== role.permissionsBoundary) {
    return [{ kind: 'set-permissions-boundary', roleName, policyArn: d.permissionsBoundary }];
  }
  if (d.permissionsBoundary === undefined && role.permissionsBoundary !== undefined && d.prune) {
    return [{ kind: 'remove-permissions-boundary', roleName, policyArn: role.permissionsBoundary }];
  }
  return [];
}

function inlineChanges(d: DesiredRole, role: ObservedRole): Change[] {
  const roleName = d.name;
  const changes: Change[] = [];
  for (const [policyName, document] of Object.entries(d.inlinePolicies)) {
    const current = role.inlinePolicies[policyName];
    if (current === undefined || !sameDocument(current, document)) {
      changes.push({
        kind: 'put-inline-policy',
        roleName,
        policyName,
        document,
        replaces: current !== undefined,
      });
    }
  }
  if (d.prune) {
    for (const policyName of role.inlinePolicyNames ?? []) {
      if (!(policyName in d.inlinePolicies))
        changes.push({ kind: 'delete-inline-policy', roleName, policyName });
    }
  }
  return changes;
}

function managedChanges(d: DesiredRole, role: ObservedRole): Change[] {
  const roleName = d.name;
  const attached = new Set(role.managedPolicyArns);
  const wanted = new Set(d.managedPolicyArns);
  return [
    ...d.managedPolicyArns
      .filter((a) => !attached.has(a))
      .map((policyArn): Change => ({ kind: 'attach-policy', roleName, policyArn })),
    ...(d.prune
      ? role.managedPolicyArns
          .filter((a) => !wanted.has(a))
          .map((policyArn): Change => ({ kind: 'detach-policy', roleName, policyArn }))
      : []),
  ];
}

function profileChanges(
  d: DesiredRole,
  profile: ObservedInstanceProfile | undefined,
  warnings: string[],
): Change[] {
  const profileName = d.name;
  const add: Change = { kind: 'add-role-to-instance-profile', profileName, roleName: d.name };
  if (!profile) return [{ kind: 'create-instance-profile', profileName, path: d.path, tags: d.tags }, add];
  if (profile.tags[OWNER_TAG.key] !== OWNER_TAG.value && !d.adopt) {
    throw new NotOwnedError('instance-profile', profile.name, `${OWNER_TAG.key}=${OWNER_TAG.value}`);
  }
  if (profile.path !== d.path) {
    warnings.push(
      `instance profile ${profileName} has path ${profile.path}, not ${d.path}; IAM cannot change it`,
    );
  }
  const changes = tagChanges(
    d,
    profile.tags,
    (tags) => ({ kind: 'tag-instance-profile', profileName, tags }),
    (keys) => ({ kind: 'untag-instance-profile', profileName, keys }),
  );
  for (const role of profile.roles) {
    if (role.name !== d.name)
      changes.push({ kind: 'remove-role-from-instance-profile', profileName, roleName: role.name });
  }
  if (!profile.roles.some((r) => r.name === d.name)) changes.push(add);
  return changes;
}

function tagChanges(
  d: DesiredRole,
  current: Readonly<Record<string, string>>,
  tag: (tags: Record<string, string>) => Change,
  untag: (keys: string[]) => Change,
): Change[] {
  const missing = Object.fromEntries(Object.entries(d.tags).filter(([k, v]) => current[k] !== v));
  const extra = d.prune ? Object.keys(current).filter((k) => !(k in d.tags)) : [];
  return [
    ...(Object.keys(missing).length > 0 ? [tag(missing)] : []),
    ...(extra.length > 0 ? [untag(extra)] : []),
  ];
}

/**
 * Compare two policy documents by meaning: key order, Sids, one-element arrays versus strings, and
 * the order of statements and of values in arrays do not matter.
 *
 * @example
 * sameDocument({ Statement: [{ Action: ['a'] }] }, { Statement: { Action: 'a' } }); // true
 */
export function sameDocument(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown, key = ''): string {
  if (Array.isArray(value)) {
    const items = value.map((v) => canonical(v, key)).sort();
    return items.length === 1 && key !== 'Statement' ? items[0]! : `[${items.join(',')}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => k !== 'Sid' && v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(
        ([k, v]) => `${JSON.stringify(k)}:${canonical(k === 'Statement' && !Array.isArray(v) ? [v] : v, k)}`,
      );
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The plan as a readable diff: `+` create/attach/add, `~` update, `-` detach/delete/remove.
 *
 * @example
 * console.log(formatPlan(plan));
 * // Role web:
 * //   + create role web (path /, trusted by ec2.amazonaws.com)
 * //   + attach arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess
 * // Instance profile web:
 * //   + create instance profile web
 * //   + add role web to instance profile web
 */
export function formatPlan(plan: Plan): string {
  const warnings = plan.warnings.map((w) => `! ${w}`);
  if (plan.changes.length === 0) {
    return [
      `No changes: role ${plan.roleName} and instance profile ${plan.profileName} match the spec.`,
      ...warnings,
    ].join('\n');
  }
  const role = plan.changes.filter((c) => 'roleName' in c && !('profileName' in c));
  const profile = plan.changes.filter((c) => 'profileName' in c);
  const lines: string[] = [];
  if (role.length > 0) lines.push(`Role ${plan.roleName}:`, ...role.map((c) => `  ${describeChange(c)}`));
  if (profile.length > 0)
    lines.push(`Instance profile ${plan.profileName}:`, ...profile.map((c) => `  ${describeChange(c)}`));
  return [...lines, ...warnings].join('\n');
}

/**
 * One change as a diff line.
 *
 * @example
 * describeChange({ kind: 'detach-policy', roleName: 'web', policyArn: 'arn:aws:iam::aws:policy/X' }); // '- detach arn:aws:iam::aws:policy/X'
 */
export function describeChange(c: Change): string {
  switch (c.kind) {
    case 'create-role':
      return `+ create role ${c.roleName} (path ${c.path}, trusted by ${c.trustPolicy.Statement[0]?.Principal.Service}${c.permissionsBoundary ? `, boundary ${c.permissionsBoundary}` : ''})`;
    case 'tag-role':
    case 'tag-instance-profile':
      return `~ tag ${formatTags(c.tags)}`;
    case 'untag-role':
    case 'untag-instance-profile':
      return `- untag ${c.keys.join(', ')}`;
    case 'update-trust-policy':
      return `~ trust policy: only ${c.trustPolicy.Statement[0]?.Principal.Service} may assume the role`;
    case 'update-role':
      return `~ ${[
        c.description !== undefined ? `description ${JSON.stringify(c.description)}` : '',
        c.maxSessionDuration !== undefined ? `max session ${c.maxSessionDuration} s` : '',
      ]
        .filter(Boolean)
        .join(', ')}`;
    case 'set-permissions-boundary':
      return `~ permissions boundary ${c.policyArn}`;
    case 'put-inline-policy':
      return `${c.replaces ? '~ update' : '+ put'} inline policy ${c.policyName}`;
    case 'attach-policy':
      return `+ attach ${c.policyArn}`;
    case 'detach-policy':
      return `- detach ${c.policyArn}`;
    case 'delete-inline-policy':
      return `- delete inline policy ${c.policyName}`;
    case 'remove-permissions-boundary':
      return `- remove permissions boundary ${c.policyArn}`;
    case 'create-instance-profile':
      return `+ create instance profile ${c.profileName} (path ${c.path})`;
    case 'remove-role-from-instance-profile':
      return `- remove role ${c.roleName} from instance profile ${c.profileName}`;
    case 'add-role-to-instance-profile':
      return `+ add role ${c.roleName} to instance profile ${c.profileName}`;
  }
}

function formatTags(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
