import { randomUUID } from 'node:crypto';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  AssociateIamInstanceProfileCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AwsCall, type AwsProxy, startAwsProxy } from '../src/proxy.js';

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

function clients(endpoint: string) {
  const config = { endpoint, region: 'us-east-1', maxAttempts: 1 };
  return {
    iam: new IAMClient(config),
    ec2: new EC2Client(config),
    sts: new STSClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    dynamodb: new DynamoDBClient(config),
    ssm: new SSMClient(config),
  };
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ name: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

const IMAGE = 'ami-12c6146b';

describe('Function: startAwsProxy', () => {
  let proxy: AwsProxy;
  let aws: ReturnType<typeof clients>;
  let direct: ReturnType<typeof clients>;

  beforeAll(async () => {
    proxy = await startAwsProxy({ target: inject('motoEndpoint'), seed: 7 });
    aws = clients(proxy.endpoint);
    direct = clients(inject('motoEndpoint'));
  });
  afterEach(() => {
    proxy.setFaults([]);
    proxy.setPropagationDelay(0);
    proxy.resetCounts();
  });
  afterAll(() => proxy.close());

  it('counts query, JSON and S3 REST calls by service and action when real SDK clients call through it', async () => {
    // Prepare
    const bucket = unique('bucket');
    // Act
    await aws.iam.send(new ListRolesCommand({}));
    await aws.iam.send(new ListRolesCommand({}));
    await aws.sts.send(new GetCallerIdentityCommand({}));
    await aws.ec2.send(new DescribeInstancesCommand({}));
    await aws.dynamodb.send(new ListTablesCommand({}));
    await aws.ssm
      .send(
        new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-0123456789abcdef0'] }),
      )
      .catch(() => undefined);
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'hello' }));
    const got = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
    const text = await got.Body?.transformToString();
    await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
    await aws.s3.send(new ListBucketsCommand({}));
    // Assess
    expect(text).toBe('hello');
    expect(proxy.counts()).toEqual({
      'iam:ListRoles': 2,
      'sts:GetCallerIdentity': 1,
      'ec2:DescribeInstances': 1,
      'dynamodb:ListTables': 1,
      'ssm:SendCommand': 1,
      's3:CreateBucket': 1,
      's3:PutObject': 1,
      's3:GetObject': 1,
      's3:ListObjectsV2': 1,
      's3:ListBuckets': 1,
    });
    expect(proxy.calls().every((c) => c.fault === undefined && c.at > 0)).toBe(true);
  });

  it('answers a throttled call with each service’s own throttling error, retryable by the SDK', async () => {
    // Prepare
    proxy.setFaults([{ kind: 'throttle' }]);
    // Act
    const iam = await failure(aws.iam.send(new ListRolesCommand({})));
    const sts = await failure(aws.sts.send(new GetCallerIdentityCommand({})));
    const ec2 = await failure(aws.ec2.send(new DescribeInstancesCommand({})));
    const ddb = await failure(aws.dynamodb.send(new ListTablesCommand({})));
    const s3 = await failure(aws.s3.send(new ListBucketsCommand({})));
    // Assess
    expect(iam).toMatchObject({ name: 'Throttling', status: 400, message: 'Rate exceeded' });
    expect(sts).toMatchObject({ name: 'Throttling', status: 400 });
    expect(ec2).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
    expect(ddb).toMatchObject({ name: 'ThrottlingException', status: 400 });
    expect(s3).toMatchObject({ name: 'SlowDown', status: 503 });
    expect(proxy.calls().map((c) => c.fault)).toEqual([
      'throttle',
      'throttle',
      'throttle',
      'throttle',
      'throttle',
    ]);
  });

  it('never forwards a faulted call: a throttled CreateRole leaves no role in moto', async () => {
    // Prepare
    const roleName = unique('throttled');
    proxy.setFaults([{ kind: 'throttle', service: 'iam', action: 'CreateRole' }]);
    // Act
    const err = await failure(
      aws.iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: TRUST })),
    );
    const lookup = await failure(direct.iam.send(new GetRoleCommand({ RoleName: roleName })));
    // Assess
    expect(err.name).toBe('Throttling');
    expect(lookup.name).toBe('NoSuchEntityException');
    expect(proxy.counts()).toEqual({ 'iam:CreateRole': 1 });
  });

  it('returns HTTP 500 and 503 errors the SDK sees as server faults', async () => {
    // Prepare
    proxy.setFaults([
      { kind: 'http500', service: 'iam' },
      { kind: 'http503', service: 'ec2' },
    ]);
    // Act
    const iam = await failure(aws.iam.send(new ListRolesCommand({})));
    const ec2 = await failure(aws.ec2.send(new DescribeInstancesCommand({})));
    // Assess
    expect(iam).toMatchObject({ name: 'ServiceFailureException', status: 500 });
    expect(ec2).toMatchObject({ name: 'Unavailable', status: 503 });
    expect(proxy.calls().map((c) => [c.status, c.fault])).toEqual([
      [500, 'http500'],
      [503, 'http503'],
    ]);
  });

  it('succeeds after faults when the SDK retries them', async () => {
    // Prepare
    proxy.setFaults([{ kind: 'http503', nth: [1, 2] }]);
    const sts = new STSClient({ endpoint: proxy.endpoint, region: 'us-east-1', maxAttempts: 3 });
    // Act
    const out = await sts.send(new GetCallerIdentityCommand({}));
    // Assess
    expect(out.Account).toMatch(/^\d{12}$/);
    expect(proxy.counts()).toEqual({ 'sts:GetCallerIdentity': 3 });
  });

  it('drops the connection without an answer when the fault is drop', async () => {
    // Prepare
    proxy.setFaults([{ kind: 'drop', action: 'GetCallerIdentity' }]);
    // Act
    const err = await failure(aws.sts.send(new GetCallerIdentityCommand({})));
    // Assess
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/socket hang up|ECONNRESET/);
    expect(proxy.calls()).toMatchObject([
      { service: 'sts', action: 'GetCallerIdentity', status: 0, fault: 'drop' },
    ]);
  });

  it('delays and then forwards a call when the fault is latency', async () => {
    // Prepare
    proxy.setFaults([{ kind: 'latency', latencyMs: 300 }]);
    const started = Date.now();
    // Act
    const out = await aws.sts.send(new GetCallerIdentityCommand({}));
    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(out.Arn).toContain('arn:aws');
    expect(proxy.calls()).toMatchObject([{ status: 200, fault: 'latency' }]);
  });

  it('fires only on the nth matching calls, counting only calls the rule matches', async () => {
    // Prepare
    proxy.setFaults([{ kind: 'throttle', service: 'iam', action: /^List/, nth: [2, 3] }]);
    // Act
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      await aws.sts.send(new GetCallerIdentityCommand({}));
      outcomes.push(
        await aws.iam.send(new ListRolesCommand({})).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      );
    }
    // Assess
    expect(outcomes).toEqual(['ok', 'Throttling', 'Throttling', 'ok']);
  });

  it('fires on about the given share of calls, the same ones for the same seed', async () => {
    // Prepare
    const pattern = async (seed: number) => {
      const p = await startAwsProxy({
        target: inject('motoEndpoint'),
        seed,
        faults: [{ kind: 'throttle', rate: 0.3 }],
      });
      const sts = new STSClient({ endpoint: p.endpoint, region: 'us-east-1', maxAttempts: 1 });
      for (let i = 0; i < 40; i++) await sts.send(new GetCallerIdentityCommand({})).catch(() => undefined);
      const faults = p.calls().map((c) => (c.fault ? 1 : 0));
      await p.close();
      return faults.join('');
    };
    // Act
    const [a, b, c] = [await pattern(42), await pattern(42), await pattern(43)];
    // Assess
    const share = [...a].filter((x) => x === '1').length / a.length;
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.55);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('tells listeners about every call and stops when unsubscribed', async () => {
    // Prepare
    const seen: AwsCall[] = [];
    const off = proxy.onCall((call) => seen.push(call));
    // Act
    await aws.sts.send(new GetCallerIdentityCommand({}));
    off();
    await aws.sts.send(new GetCallerIdentityCommand({}));
    // Assess
    expect(seen).toMatchObject([{ service: 'sts', action: 'GetCallerIdentity', status: 200 }]);
    expect(proxy.calls()).toHaveLength(2);
  });
});

describe('Function: startAwsProxy (propagation delay)', () => {
  let proxy: AwsProxy;
  let aws: ReturnType<typeof clients>;

  beforeAll(async () => {
    proxy = await startAwsProxy({ target: inject('motoEndpoint'), propagationDelayMs: 1500 });
    aws = clients(proxy.endpoint);
  });
  afterAll(() => proxy.close());

  async function profileWithRole(name: string): Promise<void> {
    await aws.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }));
    await aws.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
    await aws.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
  }

  it('refuses EC2 calls naming a new profile with the real EC2 error until the delay has passed', async () => {
    // Prepare
    const name = unique('fresh');
    const image = IMAGE;
    const run = await aws.ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1 }));
    const instanceId = run.Instances?.[0]?.InstanceId ?? '';
    await profileWithRole(name);
    const created = proxy.calls().find((c) => c.action === 'CreateInstanceProfile')?.at ?? 0;
    // Act
    const early = await failure(
      aws.ec2.send(
        new AssociateIamInstanceProfileCommand({
          InstanceId: instanceId,
          IamInstanceProfile: { Name: name },
        }),
      ),
    );
    const earlyRun = await failure(
      aws.ec2.send(
        new RunInstancesCommand({
          ImageId: image,
          MinCount: 1,
          MaxCount: 1,
          IamInstanceProfile: { Arn: `arn:aws:iam::123456789012:instance-profile/${name}` },
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, created + 1600 - Date.now())));
    const late = await aws.ec2.send(
      new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: { Name: name } }),
    );
    // Assess
    expect(early).toMatchObject({
      name: 'InvalidParameterValue',
      status: 400,
      message: `Value (${name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
    });
    expect(earlyRun.name).toBe('InvalidParameterValue');
    expect(late.IamInstanceProfileAssociation?.State).toBe('associating');
    const faults = proxy.calls().filter((c) => c.service === 'ec2' && c.action !== 'DescribeInstances');
    expect(faults.map((c) => c.fault)).toEqual([undefined, 'propagation', 'propagation', undefined]);
  });

  it('gives the "has no associated IAM Roles" error when only the role was added recently', async () => {
    // Prepare
    const name = unique('readd');
    await aws.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }));
    await aws.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
    proxy.setPropagationDelay(0);
    const run = await aws.ec2.send(new RunInstancesCommand({ ImageId: IMAGE, MinCount: 1, MaxCount: 1 }));
    await new Promise((r) => setTimeout(r, 300));
    proxy.setPropagationDelay(250);
    await aws.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
    // Act
    const err = await failure(
      aws.ec2.send(
        new AssociateIamInstanceProfileCommand({
          InstanceId: run.Instances?.[0]?.InstanceId,
          IamInstanceProfile: { Name: name },
        }),
      ),
    );
    // Assess
    expect(err).toMatchObject({
      name: 'InvalidParameterValue',
      message: `IAM Instance Profile "${name}" has no associated IAM Roles`,
    });
    proxy.setPropagationDelay(1500);
  });

  it('leaves calls naming an older profile alone while a newer one propagates', async () => {
    // Prepare
    const older = unique('older');
    const newer = unique('newer');
    await profileWithRole(older);
    const run = await aws.ec2.send(new RunInstancesCommand({ ImageId: IMAGE, MinCount: 2, MaxCount: 2 }));
    const [first, second] = (run.Instances ?? []).map((i) => i.InstanceId);
    await new Promise((r) => setTimeout(r, 400));
    proxy.setPropagationDelay(300);
    await profileWithRole(newer);
    // Act
    const olderOut = await aws.ec2.send(
      new AssociateIamInstanceProfileCommand({ InstanceId: first, IamInstanceProfile: { Name: older } }),
    );
    const newerErr = await failure(
      aws.ec2.send(
        new AssociateIamInstanceProfileCommand({ InstanceId: second, IamInstanceProfile: { Name: newer } }),
      ),
    );
    // Assess
    expect(olderOut.IamInstanceProfileAssociation?.InstanceId).toBe(first);
    expect(newerErr.name).toBe('InvalidParameterValue');
    proxy.setPropagationDelay(1500);
  });
});
