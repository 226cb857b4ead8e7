import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type ImdsEmulator, seedInstance, seedRole, startImds } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { diagnoseImds } from '../src/imds.js';
import { exitCodeOf, verify } from '../src/verify.js';
import { startBlackhole } from './support/blackhole.js';

const suffix = Date.now().toString(36);
const ROLE = `agent-verify-${suffix}`;
const BUCKET = `agent-verify-${suffix}`;

let endpoint: string;
let imds: ImdsEmulator;
let env: Record<string, string>;

beforeAll(async () => {
  endpoint = inject('motoEndpoint');
  await seedRole({ endpoint, name: ROLE, policyArns: ['arn:aws:iam::aws:policy/AmazonS3FullAccess'] });
  await new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true }).send(
    new CreateBucketCommand({ Bucket: BUCKET }),
  );
  imds = await startImds({
    instanceId: await seedInstance({ endpoint, profile: ROLE }),
    awsEndpoint: endpoint,
  });
  // Only what an instance would have: no keys; moto for AWS; the emulator for IMDS.
  env = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
  };
}, 60_000);

afterAll(() => imds?.close());

describe('Function: verify (library, in-process)', () => {
  it('reports what each default probe got without judging in discovery mode', async () => {
    // Act
    const report = await verify({ env, credentialsFiles: [] });
    // Assess
    expect(report.verdict).toBe('pass');
    expect(report.role.name).toBe(ROLE);
    expect(
      report.checks.filter((c) => c.action !== 'sts:GetCallerIdentity').every((c) => c.expected === 'any'),
    ).toBe(true);
    expect(report.instance.accountId).toMatch(/^\d{12}$/);
  });

  it('puts then deletes a probe object with --write-probes, leaving the prefix empty', async () => {
    // Act
    const report = await verify({
      env,
      credentialsFiles: [],
      presets: [`s3-read-write:${BUCKET}/app`],
      writeProbes: true,
    });
    // Assess
    const put = report.checks.find((c) => c.action === 's3:PutObject');
    expect(put).toMatchObject({ expected: 'allow', outcome: 'allowed', ok: true });
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
    const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'app/' }));
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('fails the run when an expected denial is allowed', async () => {
    // Act: s3-read:BUCKET expects ListAllMyBuckets denied; the attached AmazonS3FullAccess allows it
    const report = await verify({ env, credentialsFiles: [], presets: [`s3-read:${BUCKET}`] });
    // Assess
    const listAll = report.checks.find((c) => c.action === 's3:ListAllMyBuckets');
    expect(listAll).toMatchObject({ expected: 'deny', outcome: 'allowed', ok: false });
    expect(report.verdict).toBe('fail');
    expect(exitCodeOf(report)).toBe(1);
  });

  it('runs no write probe unless asked to', async () => {
    const report = await verify({ env, credentialsFiles: [], presets: [`s3-read-write:${BUCKET}/app`] });
    expect(report.checks.some((c) => c.action === 's3:PutObject')).toBe(false);
  });
});

describe('Function: verify (deadline)', () => {
  it('ends near --timeout-ms with probes as errors when AWS never answers', async () => {
    // Prepare
    const silentAws = await startBlackhole();
    try {
      // Act
      const started = performance.now();
      const report = await verify({
        env: { ...env, AWS_ENDPOINT_URL: silentAws.endpoint },
        credentialsFiles: [],
        timeoutMs: 1500,
      });
      const ms = performance.now() - started;
      // Assess
      expect(ms).toBeLessThan(4000);
      expect(report.verdict).toBe('fail');
      expect(report.checks.length).toBeGreaterThan(0);
      expect(report.checks.every((c) => c.outcome === 'error')).toBe(true);
    } finally {
      await silentAws.close();
    }
  });
});

describe('Function: diagnoseImds (against the IMDS emulator)', () => {
  it('sees the same instance through node:http requests and through an injected fetch', async () => {
    // Act
    const [viaHttp, viaFetch] = await Promise.all([
      diagnoseImds({ endpoint: imds.endpoint }),
      diagnoseImds({ endpoint: imds.endpoint, fetch: globalThis.fetch }),
    ]);
    // Assess
    const { durationMs: _a, ...a } = viaHttp;
    const { durationMs: _b, ...b } = viaFetch;
    expect(a).toEqual(b);
    expect(a).toMatchObject({ reachable: true, v2: true, v1Open: false, roleAttached: true, roleName: ROLE });
    expect(a.instanceProfileArn).toContain(`instance-profile/${ROLE}`);
  });
});
