import { describe, expect, it } from 'vitest';
import { lintPolicies } from '../src/policy-lint.js';

const customer = (i: number) => `arn:aws:iam::123456789012:policy/p${i}`;

describe('Function: lintPolicies', () => {
  it('refuses admin access unless allowAdmin', () => {
    // Prepare
    const input = {
      policies: ['arn:aws:iam::aws:policy/AdministratorAccess', 'arn:aws:iam::aws:policy/IAMFullAccess'],
      inlinePolicies: {
        star: {
          Version: '2012-10-17' as const,
          Statement: [{ Effect: 'Allow' as const, Action: '*:*', Resource: '*' }],
        },
        pass: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:Pass*', Resource: '*' }],
        }),
      },
    };

    // Act
    const refused = lintPolicies(input);
    const allowed = lintPolicies({ ...input, allowAdmin: true });

    // Assess
    expect(refused.map((p) => p.field)).toEqual([
      'policies[0]',
      'policies[1]',
      'inlinePolicies.star.Statement[0]',
      'inlinePolicies.pass.Statement[0]',
    ]);
    expect(refused.every((p) => p.rule.includes('allowAdmin'))).toBe(true);
    expect(allowed).toEqual([]);
  });

  it('allows iam:PassRole on a specific role', () => {
    // Act
    const problems = lintPolicies({
      inlinePolicies: {
        pass: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'iam:PassRole', Resource: 'arn:aws:iam::123456789012:role/app' },
          ],
        },
      },
    });

    // Assess
    expect(problems).toEqual([]);
  });

  it('refuses iam:PassRole on every role of an account or of any account unless allowAdmin', () => {
    // Prepare
    const pass = (Resource: string) => ({
      Version: '2012-10-17' as const,
      Statement: [{ Effect: 'Allow' as const, Action: 'iam:PassRole', Resource }],
    });
    const inlinePolicies = {
      own: pass('arn:aws:iam::123456789012:role/*'),
      any: pass('arn:aws:iam::*:role/*'),
      all: pass('arn:aws-us-gov:iam::123456789012:*'),
      prefixed: pass('arn:aws:iam::123456789012:role/app-*'),
    };

    // Act
    const refused = lintPolicies({ inlinePolicies });
    const allowed = lintPolicies({ inlinePolicies, allowAdmin: true });

    // Assess
    expect(refused.map((p) => p.field)).toEqual([
      'inlinePolicies.own.Statement[0]',
      'inlinePolicies.any.Statement[0]',
      'inlinePolicies.all.Statement[0]',
    ]);
    expect(allowed).toEqual([]);
  });

  it('reports more than 10 managed policies and says the quota can be raised to 20', () => {
    // Act
    const problems = lintPolicies({ policies: Array.from({ length: 11 }, (_, i) => customer(i)) });

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]?.hint).toMatch(/raised to 20/);
  });

  it('reports inline policies over 10,240 characters', () => {
    // Prepare
    const actions = Array.from({ length: 900 }, (_, i) => `s3:Action${i}`);

    // Act
    const problems = lintPolicies({
      inlinePolicies: {
        big: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] },
      },
    });

    // Assess
    expect(problems.map((p) => p.field)).toEqual(['inlinePolicies']);
    expect(problems[0]?.rule).toMatch(/10240/);
  });

  it('reports malformed ARNs, unknown presets with the nearest name, and duplicates together', () => {
    // Act
    const problems = lintPolicies({
      policies: [
        'arn:aws:s3:::bucket',
        'arn:aws:iam::12:policy/x',
        'iam-raed-only',
        's3-read-only',
        'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      ],
      permissionsBoundary: 'not-an-arn',
    });

    // Assess
    expect(problems.map((p) => p.field)).toEqual([
      'policies[0]',
      'policies[1]',
      'policies[2]',
      'policies[4]',
      'permissionsBoundary',
    ]);
    expect(problems[2]?.hint).toBe('did you mean "iam-read-only"?');
    expect(problems[3]?.rule).toMatch(/duplicate/);
  });

  it('reports an inline policy that is not a policy document', () => {
    // Act
    const problems = lintPolicies({ inlinePolicies: { 'bad name!': '{not json' } });

    // Assess
    expect(problems.map((p) => p.rule)).toEqual([
      'policy name: 1-128 characters of [\\w+=,.@-]',
      'must be a policy document: JSON with Statement entries whose Effect is Allow or Deny',
    ]);
  });
});
