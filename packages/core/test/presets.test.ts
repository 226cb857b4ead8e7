import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.js';
import { mergeExpectations, PRESETS, presetProblems, resolvePreset } from '../src/presets.js';

describe('Function: resolvePreset', () => {
  it('refuses a prefix with a wildcard or an IAM policy variable, which would widen the grant', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template
    for (const ref of ['s3-read:logs-bucket/app/*', 's3-read-write:logs-bucket/home/${aws:username}']) {
      const error = (() => {
        try {
          resolvePreset(ref);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).problems[0]?.rule).toContain('IAM policy variables');
    }
  });

  it('returns the AWS managed policy ARN of a managed preset in the given partition', () => {
    // Act
    const aws = resolvePreset('s3-read-only');
    const cn = resolvePreset('s3-read-only', { partition: 'aws-cn' });

    // Assess
    expect(aws.managedPolicyArns).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']);
    expect(cn.managedPolicyArns).toEqual(['arn:aws-cn:iam::aws:policy/AmazonS3ReadOnlyAccess']);
    expect(aws.expect.allow.map((p) => p.action)).toEqual(['s3:ListAllMyBuckets']);
    expect(aws.expect.deny.map((p) => p.action)).toEqual(['dynamodb:ListTables', 'iam:ListRoles']);
  });

  it('scopes ListBucket with an s3:prefix condition when s3-read has a prefix', () => {
    // Act
    const preset = resolvePreset('s3-read:my-bucket/logs', { partition: 'aws-us-gov' });

    // Assess
    const [doc] = Object.values(preset.inlinePolicies);
    expect(doc?.Statement[0]).toEqual({
      Sid: 'ListPrefix',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws-us-gov:s3:::my-bucket',
      Condition: { StringLike: { 's3:prefix': ['logs/', 'logs/*'] } },
    });
    expect(doc?.Statement[1]?.Resource).toBe('arn:aws-us-gov:s3:::my-bucket/logs/*');
    expect(preset.expect.writes).toEqual([]);
    expect(Object.keys(preset.inlinePolicies)[0]).toMatch(/^[\w+=,.@-]{1,128}$/);
  });

  it('lists PutObject as a write only for s3-read-write', () => {
    // Act
    const preset = resolvePreset('s3-read-write:my-bucket');

    // Assess
    expect(preset.expect.writes).toEqual([
      { service: 's3', action: 's3:PutObject', resource: 'my-bucket/instance-role-probe' },
    ]);
    expect(Object.values(preset.inlinePolicies)[0]?.Statement[0]?.Condition).toBeUndefined();
  });

  it('includes the table indexes for dynamodb presets', () => {
    // Act
    const preset = resolvePreset('dynamodb-read:orders', { accountId: '123456789012', region: 'eu-west-1' });

    // Assess
    expect(Object.values(preset.inlinePolicies)[0]?.Statement[0]?.Resource).toEqual([
      'arn:aws:dynamodb:eu-west-1:123456789012:table/orders',
      'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/index/*',
    ]);
  });

  it('throws a ValidationError with the nearest name when the name is unknown', () => {
    // Act
    const act = () => resolvePreset('s3-raed-only');

    // Assess
    expect(act).toThrow(ValidationError);
    expect(act).toThrow(/did you mean "s3-read-only"/);
  });

  it('reports a bad bucket name and a missing parameter', () => {
    // Act & Assess
    expect(presetProblems('s3-read:Bad_Bucket')[0]?.rule).toMatch(/bucket name/);
    expect(presetProblems('dynamodb-read')[0]?.hint).toBe('use "dynamodb-read:TABLE"');
    expect(presetProblems('iam-read-only:x')[0]?.rule).toMatch(/takes no parameter/);
  });

  it('freezes the preset table', () => {
    // Assess
    expect(Object.isFrozen(PRESETS)).toBe(true);
    expect(Object.isFrozen(PRESETS[0])).toBe(true);
    expect(PRESETS.map((p) => p.name)).toContain('cloudwatch-logs');
  });
});

describe('Function: mergeExpectations', () => {
  it('drops a denial that another preset allows', () => {
    // Act
    const merged = mergeExpectations([
      resolvePreset('s3-read-only').expect,
      resolvePreset('dynamodb-full-access').expect,
    ]);

    // Assess
    expect(merged.allow.map((p) => p.action)).toEqual([
      's3:ListAllMyBuckets',
      'dynamodb:ListTables',
      'iam:ListRoles',
    ]);
    // s3-read-only denies dynamodb:ListTables and iam:ListRoles; AmazonDynamoDBFullAccess grants both.
    expect(merged.deny.map((p) => p.action)).toEqual([]);
  });
});
