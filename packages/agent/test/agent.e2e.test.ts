import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type ImdsEmulator,
  type MotoServer,
  readImdsCredentials,
  seedInstance,
  seedRole,
  startImds,
  startMoto,
} from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/types.js';
import { type AgentRun, ensureBundle, runAgent } from './support/agent-bundle.js';
import { validate } from './support/json-schema.js';

const schema = JSON.parse(readFileSync(new URL('../schema/report.schema.json', import.meta.url), 'utf8'));
const ROLE = 'agent-e2e-s3-reader';

let moto: MotoServer;
let bundle: string;
const emulators: ImdsEmulator[] = [];
const imds: Record<'required' | 'v1' | 'hop' | 'noRole', ImdsEmulator> = {} as never;
const outputs: string[] = [];
const secrets: string[] = [];

async function emulate(instanceId: string, extra: Partial<Parameters<typeof startImds>[0]> = {}) {
  const e = await startImds({
    instanceId,
    awsEndpoint: moto.endpoint,
    associationTtlMs: 3_600_000,
    ...extra,
  });
  emulators.push(e);
  return e;
}

async function roleSecrets(endpoint: string): Promise<string[]> {
  const { secretAccessKey, sessionToken } = await readImdsCredentials(endpoint);
  return [secretAccessKey, sessionToken];
}

async function agent(
  emulator: ImdsEmulator,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<AgentRun> {
  const run = await runAgent(bundle, ['--credentials-file', '/nonexistent/credentials', ...args], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: emulator.endpoint,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    ...env,
  });
  outputs.push(run.stdout, run.stderr);
  return run;
}

function report(run: AgentRun): Report {
  const parsed = JSON.parse(run.stdout) as Report;
  expect(validate(schema, parsed)).toEqual([]);
  return parsed;
}

beforeAll(async () => {
  // A private copy: a concurrent build elsewhere may clean dist/ while this file runs.
  bundle = join(mkdtempSync(join(tmpdir(), 'agent-e2e-')), 'instance-role-agent.mjs');
  copyFileSync(ensureBundle(), bundle);
  // Private moto: enforcement is global to a moto and would break other test files.
  moto = await startMoto();
  const { endpoint } = moto;
  await seedRole({ endpoint, name: ROLE, policyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] });
  await new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true }).send(
    new CreateBucketCommand({ Bucket: 'agent-e2e-bucket' }),
  );
  const withRole = await seedInstance({ endpoint, profile: ROLE });
  const withoutRole = await seedInstance({ endpoint });
  // Credentials are assumed while enforcement is off (moto cannot evaluate a Service principal).
  imds.required = await emulate(withRole);
  imds.v1 = await emulate(withRole, { httpTokens: 'optional' });
  imds.hop = await emulate(withRole, { hopLimitExceeded: true });
  imds.noRole = await emulate(withoutRole);
  secrets.push(...(await roleSecrets(imds.required.endpoint)));
  await moto.setEnforcement(true);
}, 120_000);

afterAll(async () => {
  await moto?.setEnforcement(false).catch(() => {});
  await Promise.all(emulators.map((e) => e.close()));
  await moto?.stop();
});

describe('Function: instance-role-agent (one-file bundle, end to end)', () => {
  it('passes s3-read-only: S3 list allowed, DynamoDB and IAM denied as expected', async () => {
    // Act
    const run = await agent(imds.required, ['--preset', 's3-read-only', '--json']);
    // Assess
    const r = report(run);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(r.verdict).toBe('pass');
    expect(r.role.name).toBe(ROLE);
    expect(r.role.arn).toMatch(new RegExp(`assumed-role/${ROLE}/${r.instance.id}$`));
    expect(r.role.instanceProfileArn).toContain(`instance-profile/${ROLE}`);
    const byAction = Object.fromEntries(r.checks.map((c) => [c.action, c]));
    expect(byAction['s3:ListAllMyBuckets']).toMatchObject({
      expected: 'allow',
      outcome: 'allowed',
      ok: true,
    });
    expect(byAction['dynamodb:ListTables']).toMatchObject({ expected: 'deny', outcome: 'denied', ok: true });
    expect(byAction['iam:ListRoles']).toMatchObject({ expected: 'deny', outcome: 'denied', ok: true });
    expect(r.imds).toMatchObject({ reachable: true, v2: true, v1Open: false, hopLimitSuspected: false });
  });

  it('exits 1 with ROLE_MISMATCH when --expect-role names another role', async () => {
    const run = await agent(imds.required, ['--preset', 's3-read-only', '--expect-role', 'other', '--json']);
    expect(run.code).toBe(1);
    expect(report(run).findings.map((f) => f.code)).toContain('ROLE_MISMATCH');
  });

  it('reports STATIC_KEYS_ENV and ENV_KEYS_OVERRIDE_ROLE when keys are in the environment', async () => {
    const run = await agent(imds.required, ['--json'], {
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    const codes = report(run).findings.map((f) => f.code);
    expect(codes).toEqual(expect.arrayContaining(['STATIC_KEYS_ENV', 'ENV_KEYS_OVERRIDE_ROLE']));
    expect(run.stdout).not.toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    expect(run.stdout).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('reports IMDSV1_ENABLED when IMDS answers without a token', async () => {
    const run = await agent(imds.v1, ['--json']);
    const r = report(run);
    expect(r.imds.v1Open).toBe(true);
    expect(r.findings.map((f) => f.code)).toContain('IMDSV1_ENABLED');
  });

  it('reports HOP_LIMIT_SUSPECTED within 2 s when the token PUT is dropped', async () => {
    const run = await agent(imds.hop, ['--json']);
    const r = report(run);
    expect(r.findings.map((f) => f.code)).toContain('HOP_LIMIT_SUSPECTED');
    expect(r.findings.find((f) => f.code === 'HOP_LIMIT_SUSPECTED')?.message).toContain(
      'HttpPutResponseHopLimit',
    );
    expect(run.ms).toBeLessThan(2000);
  });

  it('exits 3 with NO_ROLE_ATTACHED when the instance has no role', async () => {
    const run = await agent(imds.noRole, ['--json']);
    const r = report(run);
    expect(run.code).toBe(3);
    expect(r.verdict).toBe('error');
    expect(r.findings.map((f) => f.code)).toContain('NO_ROLE_ATTACHED');
  });

  it('prints a human table without colour when stdout is not a TTY', async () => {
    const run = await agent(imds.required, ['--preset', 's3-read-only']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('verdict: PASS');
    expect(run.stdout).toMatch(/dynamodb:ListTables\s+deny\s+denied/);
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('never prints the secret access key or session token in any mode (canary)', () => {
    expect(secrets.every((s) => typeof s === 'string' && s.length > 10)).toBe(true);
    expect(outputs.length).toBeGreaterThanOrEqual(12);
    for (const out of outputs) for (const secret of secrets) expect(out).not.toContain(secret);
  });
});
