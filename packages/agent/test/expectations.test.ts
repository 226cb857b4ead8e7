import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentUsageError } from '../src/errors.js';
import { parseExpectations, planProbes, presetExpectations, readExpectFile } from '../src/expectations.js';

describe('Function: presetExpectations', () => {
  it('reads s3-read-only from core preset data', () => {
    const e = presetExpectations(['s3-read-only']);
    expect(e.allow.map((s) => s.action)).toContain('s3:ListAllMyBuckets');
    expect(e.deny.map((s) => s.action)).toEqual(
      expect.arrayContaining(['dynamodb:ListTables', 'iam:ListRoles']),
    );
  });

  it('lists every unknown preset in one usage error', () => {
    expect(() => presetExpectations(['s3-raed-only', 'nope'])).toThrow(AgentUsageError);
    try {
      presetExpectations(['s3-raed-only', 'nope']);
    } catch (error) {
      expect((error as AgentUsageError).problems).toHaveLength(2);
      expect((error as AgentUsageError).problems[0]).toContain('s3-raed-only');
    }
  });
});

describe('Function: planProbes', () => {
  it('runs the default read-only probes expecting anything in discovery mode', () => {
    const plan = planProbes(null, {}, false);
    expect(plan.map((p) => [p.spec.action, p.expected])).toEqual([
      ['sts:GetCallerIdentity', 'allow'],
      ['s3:ListAllMyBuckets', 'any'],
      ['dynamodb:ListTables', 'any'],
      ['iam:ListRoles', 'any'],
    ]);
  });

  it('applies expectations to the default probes and adds targeted ones', () => {
    const plan = planProbes(
      presetExpectations(['s3-read-only']),
      { bucket: 'b', key: 'k', table: 't', roleName: 'r' },
      false,
    );
    const byAction = Object.fromEntries(
      plan.map((p) => [`${p.spec.action} ${p.spec.resource ?? ''}`.trim(), p.expected]),
    );
    expect(byAction).toMatchObject({
      's3:ListAllMyBuckets': 'allow',
      'dynamodb:ListTables': 'deny',
      'iam:ListRoles': 'deny',
      's3:ListBucket b': 'any',
      's3:GetObject b/k': 'any',
      'dynamodb:DescribeTable t': 'any',
      'iam:GetRole r': 'any',
    });
  });

  it('probes writes only when asked to', () => {
    const expect_ = {
      allow: [],
      deny: [],
      writes: [{ service: 's3' as const, action: 's3:PutObject', resource: 'b/p' }],
    };
    expect(planProbes(expect_, {}, false).some((p) => p.spec.action === 's3:PutObject')).toBe(false);
    expect(planProbes(expect_, {}, true).find((p) => p.spec.action === 's3:PutObject')?.expected).toBe(
      'allow',
    );
  });
});

describe('Function: readExpectFile', () => {
  it('accepts a whole ensure manifest and takes the role name from it', () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'agent-expect-')), 'm.json');
    const manifest = {
      role: { name: 'app', arn: 'arn:aws:iam::123456789012:role/app' },
      expect: {
        role: 'app',
        allow: [{ service: 's3', action: 's3:ListAllMyBuckets' }],
        deny: [],
        writes: [],
      },
    };
    writeFileSync(path, JSON.stringify(manifest));
    // Act
    const file = readExpectFile(path);
    // Assess
    expect(file.role).toBe('app');
    expect(file.expect.allow).toEqual([{ service: 's3', action: 's3:ListAllMyBuckets' }]);
  });

  it('lists every malformed entry', () => {
    const bad = { allow: [{ service: 'ec2', action: 'ec2:X' }], deny: 'x', writes: [{ service: 's3' }] };
    try {
      parseExpectations(bad, 'test');
      expect.unreachable();
    } catch (error) {
      expect((error as AgentUsageError).problems).toHaveLength(3);
    }
  });
});
