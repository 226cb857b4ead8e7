import { describe, expect, it } from 'vitest';
import { resolveSpec, specPartition, validateSpec } from '../src/spec.js';

describe('Function: validateSpec', () => {
  it('returns no problems for a valid spec', () => {
    // Act
    const problems = validateSpec({
      name: 'web+app=1,2.3@x-y_z',
      path: '/apps/web/',
      maxSessionDuration: 43200,
      tags: { 'team name': 'web/ops', empty: '' },
      policies: ['s3-read-only', 'arn:aws:iam::123456789012:policy/team/custom'],
      permissionsBoundary: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
    });

    // Assess
    expect(problems).toEqual([]);
  });

  it('collects every problem at once', () => {
    // Act
    const problems = validateSpec({
      name: 'x'.repeat(65),
      path: 'apps',
      maxSessionDuration: 3599,
      description: 'é\u0001',
      accountId: '12',
      tags: { 'aws:owner': 'me', 'bad#key': 'v', 'managed-by': 'someone', Team: 'a', team: 'b' },
    });

    // Assess
    expect(problems.map((p) => p.field)).toEqual([
      'name',
      'path',
      'description',
      'maxSessionDuration',
      'accountId',
      'tags.aws:owner',
      'tags.bad#key',
      'tags.managed-by',
      'tags.team',
    ]);
  });

  it('reports the instance profile limit too for a name over 128 characters, and a missing name', () => {
    // Act & Assess
    expect(validateSpec({ name: 'a'.repeat(129) }).map((p) => p.rule)).toEqual([
      'role name: 1-64 characters of [\\w+=,.@-]',
      'instance profile name: 1-128 characters of [\\w+=,.@-]',
    ]);
    expect(validateSpec({ name: '' })).toEqual([{ field: 'name', rule: 'required' }]);
  });

  it('reports more than 49 tags and ARNs from another partition', () => {
    // Prepare
    const tags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));

    // Act
    const problems = validateSpec({
      name: 'web',
      tags,
      partition: 'aws-cn',
      policies: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
    });

    // Assess
    expect(problems.map((p) => p.field)).toEqual(['tags', 'policies[0]']);
  });
});

describe('Function: validateSpec (untyped callers)', () => {
  it('reports a policy that is not a string instead of crashing', () => {
    // Act
    const problems = validateSpec({ name: 'web', policies: [42 as unknown as string, ''] });

    // Assess
    expect(problems.map((p) => p.field)).toEqual(['policies[0]', 'policies[1]']);
  });
});

describe('Function: specPartition', () => {
  it('derives the partition from ARNs, then from the region', () => {
    // Assess
    expect(specPartition({ name: 'a', policies: ['arn:aws-us-gov:iam::aws:policy/X'] }, 'us-east-1')).toBe(
      'aws-us-gov',
    );
    expect(specPartition({ name: 'a' }, 'cn-north-1')).toBe('aws-cn');
    expect(specPartition({ name: 'a' }, undefined)).toBe('aws');
  });
});

describe('Function: resolveSpec', () => {
  it('merges scoped presets into one inline policy with unique Sids and drops denials when raw ARNs grant unknown rights', () => {
    // Act
    const desired = resolveSpec(
      {
        name: 'web',
        policies: ['s3-read:bucket-a', 's3-read:bucket-b', 'arn:aws:iam::123456789012:policy/custom'],
      },
      { partition: 'aws' },
    );

    // Assess
    const sids = desired.inlinePolicies['instance-role-presets']?.Statement.map((s) => s.Sid);
    expect(sids).toEqual(['ListBucket1', 'ReadObjects1', 'ListBucket2', 'ReadObjects2']);
    expect(desired.expect.deny).toEqual([]);
    expect(desired.tags).toEqual({ 'managed-by': 'instance-role' });
  });
});
