import { describe, expect, it } from 'vitest';
import { NotOwnedError } from '../src/errors.js';
import type { ObservedRole, ObservedState } from '../src/observe.js';
import { formatPlan, planInstanceRole, sameDocument } from '../src/plan.js';
import { ec2TrustPolicy } from '../src/spec.js';

const OWNED = { 'managed-by': 'instance-role' };
const S3 = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';

function converged(name: string, role: Partial<ObservedRole> = {}): ObservedState {
  return {
    role: {
      name,
      arn: `arn:aws:iam::123456789012:role/${name}`,
      path: '/',
      maxSessionDuration: 3600,
      trustPolicy: ec2TrustPolicy('aws'),
      tags: OWNED,
      managedPolicyArns: [S3],
      inlinePolicyNames: [],
      inlinePolicies: {},
      ...role,
    },
    instanceProfile: {
      name,
      arn: `arn:aws:iam::123456789012:instance-profile/${name}`,
      path: '/',
      roles: [{ name, arn: `arn:aws:iam::123456789012:role/${name}` }],
      tags: OWNED,
    },
  };
}

describe('Function: planInstanceRole', () => {
  it('plans a tagged role and profile in a safe order when nothing exists', () => {
    // Act
    const plan = planInstanceRole({ name: 'web', policies: ['s3-read-only', 's3-read:bucket-1'] }, {});

    // Assess
    expect(plan.changes.map((c) => c.kind)).toEqual([
      'create-role',
      'put-inline-policy',
      'attach-policy',
      'create-instance-profile',
      'add-role-to-instance-profile',
    ]);
    expect(plan.changes[0]).toMatchObject({ tags: OWNED, path: '/' });
  });

  it('plans nothing when the observed state matches', () => {
    // Act
    const plan = planInstanceRole({ name: 'web', policies: ['s3-read-only'], prune: true }, converged('web'));

    // Assess
    expect(plan.changes).toEqual([]);
    expect(formatPlan(plan)).toMatch(/^No changes/);
  });

  it('treats the URL-decoded trust policy with other key order and array forms as equal', () => {
    // Prepare
    const trust = {
      Statement: [
        {
          Action: ['sts:AssumeRole'],
          Principal: { Service: ['ec2.amazonaws.com'] },
          Effect: 'Allow',
          Sid: 'x',
        },
      ],
      Version: '2012-10-17',
    };

    // Act
    const plan = planInstanceRole(
      { name: 'web', policies: ['s3-read-only'] },
      converged('web', { trustPolicy: trust }),
    );

    // Assess
    expect(plan.changes).toEqual([]);
  });

  it('uses the China EC2 principal in the aws-cn partition', () => {
    // Act
    const plan = planInstanceRole({ name: 'web', partition: 'aws-cn' }, {});

    // Assess
    expect(plan.changes[0]).toMatchObject({
      kind: 'create-role',
      trustPolicy: { Statement: [{ Principal: { Service: 'ec2.amazonaws.com.cn' } }] },
    });
  });

  it('keeps a foreign managed policy unless prune, and detaches after attaching', () => {
    // Prepare
    const observed = converged('web', { managedPolicyArns: ['arn:aws:iam::aws:policy/Other'] });

    // Act
    const kept = planInstanceRole({ name: 'web', policies: ['s3-read-only'] }, observed);
    const pruned = planInstanceRole({ name: 'web', policies: ['s3-read-only'], prune: true }, observed);

    // Assess
    expect(kept.changes.map((c) => c.kind)).toEqual(['attach-policy']);
    expect(pruned.changes.map((c) => c.kind)).toEqual(['attach-policy', 'detach-policy']);
  });

  it('throws NotOwnedError for an untagged role unless adopt, which tags it', () => {
    // Prepare
    const observed = converged('web', { tags: {} });

    // Act
    const refuse = () => planInstanceRole({ name: 'web', policies: ['s3-read-only'] }, observed);
    const adopt = planInstanceRole({ name: 'web', policies: ['s3-read-only'], adopt: true }, observed);

    // Assess
    expect(refuse).toThrow(NotOwnedError);
    expect(adopt.changes).toEqual([{ kind: 'tag-role', roleName: 'web', tags: OWNED }]);
  });

  it('removes a foreign role from the profile before adding its own', () => {
    // Prepare
    const observed = converged('web');
    const state: ObservedState = {
      ...observed,
      instanceProfile: {
        ...observed.instanceProfile!,
        roles: [{ name: 'other', arn: 'arn:aws:iam::1:role/other' }],
      },
    };

    // Act
    const plan = planInstanceRole({ name: 'web', policies: ['s3-read-only'] }, state);

    // Assess
    expect(plan.changes.map((c) => c.kind)).toEqual([
      'remove-role-from-instance-profile',
      'add-role-to-instance-profile',
    ]);
  });

  it('warns instead of changing when the path of an existing role differs', () => {
    // Act
    const plan = planInstanceRole(
      { name: 'web', policies: ['s3-read-only'], path: '/apps/' },
      converged('web'),
    );

    // Assess
    expect(plan.changes).toEqual([]);
    expect(plan.warnings[0]).toMatch(/path/);
  });

  it('sets a boundary and updates description and session duration', () => {
    // Act
    const plan = planInstanceRole(
      {
        name: 'web',
        policies: ['s3-read-only'],
        permissionsBoundary: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
        description: 'd',
        maxSessionDuration: 7200,
      },
      converged('web'),
    );

    // Assess
    expect(plan.changes).toEqual([
      { kind: 'update-role', roleName: 'web', description: 'd', maxSessionDuration: 7200 },
      {
        kind: 'set-permissions-boundary',
        roleName: 'web',
        policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      },
    ]);
  });
});

describe('Function: formatPlan', () => {
  it('prints the plan as a diff with + ~ and - lines', () => {
    // Prepare
    const observed = converged('web', {
      managedPolicyArns: ['arn:aws:iam::aws:policy/Other'],
      trustPolicy: { Version: '2012-10-17', Statement: [] },
    });

    // Act
    const text = formatPlan(
      planInstanceRole({ name: 'web', policies: ['s3-read-only'], prune: true }, observed),
    );

    // Assess
    expect(text).toBe(
      [
        'Role web:',
        '  ~ trust policy: only ec2.amazonaws.com may assume the role',
        `  + attach ${S3}`,
        '  - detach arn:aws:iam::aws:policy/Other',
      ].join('\n'),
    );
  });
});

describe('Function: sameDocument', () => {
  it('tells different actions apart', () => {
    // Assess
    expect(
      sameDocument({ Statement: [{ Action: 's3:GetObject' }] }, { Statement: [{ Action: 's3:PutObject' }] }),
    ).toBe(false);
    expect(sameDocument({ Statement: [{ Action: ['a', 'b'] }] }, { Statement: { Action: ['b', 'a'] } })).toBe(
      true,
    );
  });
});
