import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObservedInstanceProfile, ObservedRole, ObservedState } from '../src/observe.js';
import { type Change, planInstanceRole } from '../src/plan.js';
import type { InstanceRoleSpec } from '../src/spec.js';

const NAME = 'web';
const ARN = (n: string) => `arn:aws:iam::aws:policy/${n}`;
const POLICY_POOL = [
  ARN('AmazonS3ReadOnlyAccess'),
  ARN('IAMReadOnlyAccess'),
  ARN('ReadOnlyAccess'),
  ARN('Other'),
];
const PRESET_POOL = ['s3-read-only', 'iam-read-only', 's3-read:bucket-a/logs', 'dynamodb-read:orders'];

/** A small model of IAM's state transitions, used only to check that plans converge. */
function applyToModel(state: ObservedState, c: Change): ObservedState {
  const role = state.role;
  const profile = state.instanceProfile;
  const withRole = (patch: Partial<ObservedRole>): ObservedState => ({
    ...state,
    role: { ...role!, ...patch },
  });
  const withProfile = (patch: Partial<ObservedInstanceProfile>): ObservedState => ({
    ...state,
    instanceProfile: { ...profile!, ...patch },
  });
  switch (c.kind) {
    case 'create-role':
      return {
        ...state,
        role: {
          name: c.roleName,
          arn: `arn:aws:iam::123456789012:role/${c.roleName}`,
          path: c.path,
          description: c.description,
          maxSessionDuration: c.maxSessionDuration ?? 3600,
          trustPolicy: JSON.parse(JSON.stringify(c.trustPolicy)),
          permissionsBoundary: c.permissionsBoundary,
          tags: { ...c.tags },
          managedPolicyArns: [],
          inlinePolicyNames: [],
          inlinePolicies: {},
        },
      };
    case 'tag-role':
      return withRole({ tags: { ...role!.tags, ...c.tags } });
    case 'untag-role':
      return withRole({
        tags: Object.fromEntries(Object.entries(role!.tags).filter(([k]) => !c.keys.includes(k))),
      });
    case 'update-trust-policy':
      return withRole({ trustPolicy: c.trustPolicy });
    case 'update-role':
      return withRole({
        description: c.description ?? role!.description,
        maxSessionDuration: c.maxSessionDuration ?? role!.maxSessionDuration,
      });
    case 'set-permissions-boundary':
      return withRole({ permissionsBoundary: c.policyArn });
    case 'remove-permissions-boundary':
      return withRole({ permissionsBoundary: undefined });
    case 'put-inline-policy':
      return withRole({
        inlinePolicies: { ...role!.inlinePolicies, [c.policyName]: c.document },
        inlinePolicyNames: [...new Set([...(role!.inlinePolicyNames ?? []), c.policyName])],
      });
    case 'delete-inline-policy':
      return withRole({
        inlinePolicies: Object.fromEntries(
          Object.entries(role!.inlinePolicies).filter(([k]) => k !== c.policyName),
        ),
        inlinePolicyNames: (role!.inlinePolicyNames ?? []).filter((n) => n !== c.policyName),
      });
    case 'attach-policy':
      return withRole({ managedPolicyArns: [...role!.managedPolicyArns, c.policyArn] });
    case 'detach-policy':
      return withRole({ managedPolicyArns: role!.managedPolicyArns.filter((a) => a !== c.policyArn) });
    case 'create-instance-profile':
      return {
        ...state,
        instanceProfile: {
          name: c.profileName,
          arn: `arn:aws:iam::123456789012:instance-profile/${c.profileName}`,
          path: c.path,
          roles: [],
          tags: { ...c.tags },
        },
      };
    case 'tag-instance-profile':
      return withProfile({ tags: { ...profile!.tags, ...c.tags } });
    case 'untag-instance-profile':
      return withProfile({
        tags: Object.fromEntries(Object.entries(profile!.tags).filter(([k]) => !c.keys.includes(k))),
      });
    case 'remove-role-from-instance-profile':
      return withProfile({ roles: profile!.roles.filter((r) => r.name !== c.roleName) });
    case 'add-role-to-instance-profile':
      expect(profile!.roles).toEqual([]); // IAM: a profile holds at most one role
      return withProfile({ roles: [{ name: c.roleName, arn: role!.arn }] });
  }
}

const tags = fc.dictionary(
  fc.constantFrom('team', 'env', 'managed-by', 'owner'),
  fc.constantFrom('a', 'b', 'instance-role'),
);

const observedRole: fc.Arbitrary<ObservedRole> = fc.record({
  name: fc.constant(NAME),
  arn: fc.constant(`arn:aws:iam::123456789012:role/${NAME}`),
  path: fc.constant('/'),
  maxSessionDuration: fc.constantFrom(3600, 7200),
  description: fc.option(fc.constantFrom('x', 'web'), { nil: undefined }),
  trustPolicy: fc.constantFrom<unknown>(
    {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    },
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    },
  ),
  permissionsBoundary: fc.option(fc.constantFrom(ARN('ReadOnlyAccess'), ARN('Other')), { nil: undefined }),
  tags,
  managedPolicyArns: fc.uniqueArray(fc.constantFrom(...POLICY_POOL)),
  inlinePolicyNames: fc.constant(['by-hand']),
  inlinePolicies: fc.constant({}),
});

const observedProfile: fc.Arbitrary<ObservedInstanceProfile> = fc.record({
  name: fc.constant(NAME),
  arn: fc.constant(`arn:aws:iam::123456789012:instance-profile/${NAME}`),
  path: fc.constant('/'),
  roles: fc.constantFrom([], [{ name: NAME, arn: 'r' }], [{ name: 'other', arn: 'o' }]),
  tags,
});

const spec: fc.Arbitrary<InstanceRoleSpec> = fc.record({
  name: fc.constant(NAME),
  policies: fc.uniqueArray(fc.constantFrom(...PRESET_POOL)),
  tags: fc.dictionary(fc.constantFrom('team', 'env'), fc.constantFrom('a', 'b')),
  description: fc.option(fc.constant('web'), { nil: undefined }),
  maxSessionDuration: fc.option(fc.constantFrom(3600, 7200), { nil: undefined }),
  permissionsBoundary: fc.option(fc.constant(ARN('ReadOnlyAccess')), { nil: undefined }),
  prune: fc.boolean(),
  adopt: fc.constant(true),
});

const observed: fc.Arbitrary<ObservedState> = fc.record({
  role: fc.option(observedRole, { nil: undefined }),
  instanceProfile: fc.option(observedProfile, { nil: undefined }),
});

describe('Function: planInstanceRole (property)', () => {
  it('converges: after applying a plan, planning again finds nothing to do', () => {
    fc.assert(
      fc.property(spec, observed, (s, state) => {
        // Act
        const plan = planInstanceRole(s, state, { accountId: '123456789012' });
        const after = plan.changes.reduce(applyToModel, state);

        // Assess
        expect(planInstanceRole(s, after, { accountId: '123456789012' }).changes).toEqual([]);
        if (!s.prune) {
          expect(plan.changes.map((c) => c.kind)).not.toContain('detach-policy');
          expect(plan.changes.map((c) => c.kind)).not.toContain('delete-inline-policy');
        }
      }),
      { numRuns: 300 },
    );
  });
});
