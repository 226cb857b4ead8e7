import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import {
  type ImdsEmulator,
  type MotoServer,
  readImdsCredentials,
  type Sshd,
  type SsmStandIn,
  seedRole,
  startImds,
  startMoto,
  startSshd,
  startSsmStandIn,
} from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRole } from '../src/attach-role.js';
import { ensureInstanceRole } from '../src/ensure-instance-role.js';
import { AwsOperationError, InstanceRoleError, redactSecrets } from '../src/errors.js';
import { requireImdsV2 } from '../src/imds-options.js';
import { launchWithRole } from '../src/launch.js';
import { verifyFleet } from '../src/verify-fleet.js';
import { verifyOverSsh } from '../src/verify-ssh.js';
import { runInstance, unique } from './attach-fixtures.js';
import { type EchoAws, startEchoAws } from './support/echo-aws.js';
import { ensureCli } from './support/moto-state.js';
import { outputOf } from './support/process.js';

const STACK_LINE = /\n\s+at .+:\d+:\d+/;
const b64 = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '');
/** Canary credentials in the CLI's environment and the library's clients. */
const CANARY = {
  accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: b64(30),
  sessionToken: `IQoJb3JpZ2luX2Vj${b64(300)}`,
};

interface Run {
  readonly label: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let moto: MotoServer;
let sshd: Sshd;
let imds: ImdsEmulator;
let standIn: SsmStandIn;
let echo: EchoAws;
let cli: string;
let home: string;
let instanceId: string;
let bareInstanceId: string;
let profile: string;
let otherKey: string;
const secrets: { name: string; value: string }[] = [];
const runs: Run[] = [];
const libraryErrors = new Set<unknown>();

/** Every secret, and every line of private key material long enough to be recognised. */
function leaks(text: string): string[] {
  return secrets.filter((s) => text.includes(s.value)).map((s) => s.name);
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: CANARY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CANARY.secretAccessKey,
    AWS_SESSION_TOKEN: CANARY.sessionToken,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

async function spawnCli(
  label: string,
  args: readonly string[],
  environment: Record<string, string>,
): Promise<Run> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { code, stdout, stderr } = await outputOf(child);
  const run = { label, code, stdout, stderr };
  runs.push(run);
  return run;
}

function assertClean(run: Run): void {
  const context = `${run.label}: exit ${run.code}\n${run.stdout}\n${run.stderr}`;
  expect(leaks(run.stdout), context).toEqual([]);
  expect(leaks(run.stderr), context).toEqual([]);
  expect(`\n${run.stderr}`, context).not.toMatch(STACK_LINE);
}

/** What a caller could print of an error: message, JSON, String(), and the cause's message. */
function errorTexts(err: unknown): string {
  const e = err as Error & { cause?: { message?: string } };
  const text = [
    String(e?.message),
    JSON.stringify(e),
    String(e),
    String(e?.cause?.message),
    String((e?.cause as Error | undefined)?.stack),
    safeJson(e?.cause),
  ].join('\n');
  libraryErrors.add(err);
  return text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function sshArgs(extra: readonly string[] = []): string[] {
  return [
    'verify',
    '--ssh',
    `${sshd.user}@${sshd.host}`,
    '--port',
    String(sshd.port),
    '--identity',
    sshd.identityFile,
    ...sshd.clientOptions.map((o) => `--ssh-option=${o}`),
    `--env=AWS_EC2_METADATA_SERVICE_ENDPOINT=${imds.endpoint}`,
    `--env=AWS_ENDPOINT_URL=${moto.endpoint}`,
    '--env=AWS_REGION=us-east-1',
    ...extra,
  ];
}

function keyMaterial(name: string, file: string): { name: string; value: string }[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length >= 24 && !l.startsWith('-----'))
    .map((value, i) => ({ name: `${name} line ${i + 1}`, value }));
}

beforeAll(async () => {
  cli = ensureCli();
  home = mkdtempSync(join(tmpdir(), 'secrets-home-'));
  [moto, sshd, echo] = await Promise.all([startMoto(), startSshd(), startEchoAws()]);
  const config = {
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const iam = new IAMClient(config);
  const ec2 = new EC2Client(config);
  profile = unique('secrets');
  await seedRole({
    clients: { iam },
    name: profile,
    policyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'],
  });
  instanceId = await runInstance(ec2, { profile });
  bareInstanceId = await runInstance(ec2);
  imds = await startImds({ instanceId, awsEndpoint: moto.endpoint, associationTtlMs: 3_600_000 });
  standIn = await startSsmStandIn({ target: moto.endpoint, managedInstanceIds: [instanceId] });
  const served = await readImdsCredentials(imds.endpoint);
  otherKey = join(home, 'not-authorized-key');
  // a private key sshd does not accept: its material must not show in the auth failure either
  await new Promise<void>((resolve, reject) =>
    spawn('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey], { stdio: 'ignore' })
      .once('close', (c) => (c === 0 ? resolve() : reject(new Error(`ssh-keygen exit ${c}`))))
      .once('error', reject),
  );
  secrets.push(
    { name: 'canary secret access key', value: CANARY.secretAccessKey },
    { name: 'canary session token', value: CANARY.sessionToken },
    { name: 'served secret access key', value: served.secretAccessKey },
    { name: 'served session token', value: served.sessionToken },
    ...keyMaterial('sshd identity key', sshd.identityFile),
    ...keyMaterial('unauthorized key', otherKey),
  );
}, 120_000);

afterAll(async () => {
  const failures = runs.filter((r) => r.code !== 0).length;
  console.log(
    `secrets canary: ${secrets.length} secrets (canary key + token in the environment, role key + token served by IMDS, ` +
      `2 private keys line by line) checked in ${runs.length} CLI runs (${runs.length - failures} succeeding, ${failures} failing; ` +
      `commands ${[...new Set(runs.map((r) => r.label.split(' ')[0]))].join(', ')}) and ${libraryErrors.size} library errors (message, JSON, String(), cause message, stack and JSON): no leak`,
  );
  await Promise.all([imds?.close(), sshd?.stop(), standIn?.close(), echo?.close()]);
  await moto?.stop();
});

describe('Function: the instance-role CLI with canary credentials', () => {
  it('never prints them: ensure (human, --json, --plan, invalid input, AWS refusal that quotes the token)', async () => {
    const name = unique('secrets-ensure');
    const results = [
      await spawnCli('ensure human', ['ensure', '--name', name, '--preset', 's3-read-only'], env()),
      await spawnCli(
        'ensure --json',
        ['ensure', '--name', name, '--preset', 's3-read-only', '--json'],
        env(),
      ),
      await spawnCli(
        'ensure --plan',
        ['ensure', '--name', unique('secrets-plan'), '--plan', '--json'],
        env(),
      ),
      await spawnCli(
        'ensure invalid',
        ['ensure', '--name', 'bad name', '--tag', `k=${CANARY.accessKeyId}`],
        env(),
      ),
      await spawnCli(
        'ensure echo',
        ['ensure', '--name', unique('secrets-echo')],
        env({ AWS_ENDPOINT_URL: echo.endpoint }),
      ),
    ];
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 2, 1]);
    expect(results[4]?.stderr).toContain('InvalidClientTokenId');
    for (const r of results) assertClean(r);
  });

  it('never prints them: presets (table, --json, bad option)', async () => {
    const results = [
      await spawnCli('presets table', ['presets'], env()),
      await spawnCli('presets --json', ['presets', '--json'], env()),
      await spawnCli('presets bad-option', ['presets', '--bogus'], env()),
    ];
    expect(results.map((r) => r.code)).toEqual([0, 0, 2]);
    for (const r of results) assertClean(r);
  });

  it('never prints them: attach (success, --json, unknown instance, AWS refusal that quotes the token)', async () => {
    const results = [
      await spawnCli('attach human', ['attach', '--instance', bareInstanceId, '--profile', profile], env()),
      await spawnCli(
        'attach --json',
        ['attach', '--instance', bareInstanceId, '--profile', profile, '--json'],
        env(),
      ),
      await spawnCli(
        'attach unknown-instance',
        ['attach', '--instance', 'i-0000000000000dead', '--profile', profile],
        env(),
      ),
      await spawnCli(
        'attach echo',
        ['attach', '--instance', bareInstanceId, '--profile', profile],
        env({ AWS_ENDPOINT_URL: echo.endpoint }),
      ),
    ];
    expect(results.map((r) => r.code)).toEqual([0, 0, 1, 1]);
    for (const r of results) assertClean(r);
  });

  it('never prints them: launch (human, --json, invalid, AWS refusal that quotes the token)', async () => {
    const base = [
      'launch',
      '--image-id',
      'ami-12c6146b',
      '--instance-type',
      't3.micro',
      '--preset',
      's3-read-only',
    ];
    const results = [
      await spawnCli('launch human', [...base, '--name', unique('secrets-launch')], env()),
      await spawnCli('launch --json', [...base, '--name', unique('secrets-launch'), '--json'], env()),
      await spawnCli(
        'launch invalid',
        [...base, '--name', unique('secrets-launch'), '--hop-limit', '65'],
        env(),
      ),
      await spawnCli(
        'launch echo',
        [...base, '--name', unique('secrets-launch')],
        env({ AWS_ENDPOINT_URL: echo.endpoint }),
      ),
    ];
    expect(results.map((r) => r.code)).toEqual([0, 0, 2, 1]);
    for (const r of results) assertClean(r);
  });

  it('never prints them: verify --ssh (--json, human, role mismatch, keys passed to the agent, auth failure)', async () => {
    const keys = [
      `--env=AWS_ACCESS_KEY_ID=${CANARY.accessKeyId}`,
      `--env=AWS_SECRET_ACCESS_KEY=${CANARY.secretAccessKey}`,
      `--env=AWS_SESSION_TOKEN=${CANARY.sessionToken}`,
    ];
    const badKey = sshArgs(['--json']).map((a) => (a === sshd.identityFile ? otherKey : a));
    const results = [
      await spawnCli('verify --ssh --json', sshArgs(['--preset', 's3-read-only', '--json']), env()),
      await spawnCli('verify --ssh human', sshArgs(['--expect-role', profile]), env()),
      await spawnCli('verify --ssh mismatch', sshArgs(['--expect-role', 'another-role']), env()),
      await spawnCli('verify --ssh env-keys --json', sshArgs([...keys, '--json']), env()),
      await spawnCli('verify --ssh env-keys human', sshArgs(keys), env()),
      await spawnCli('verify --ssh auth-failure', badKey, env()),
    ];
    expect(JSON.parse(results[0]?.stdout ?? '').role.name).toBe(profile);
    expect(results[3]?.stdout).toContain('STATIC_KEYS_ENV');
    expect(results.map((r) => r.code)).toEqual([1, 0, 1, 1, 1, 1]);
    expect(results[5]?.stderr).toMatch(/\[SSH\]/);
    for (const r of results) assertClean(r);
  });

  it('never prints them: verify --fleet (table, --json, AWS refusal that quotes the token)', async () => {
    const fleet = [
      'verify',
      '--fleet',
      '--instance',
      instanceId,
      '--bundle-s3-uri',
      's3://instance-role-tools/agent.mjs',
      '--timeout-ms',
      '8000',
    ];
    const viaStandIn = env({ AWS_ENDPOINT_URL_SSM: standIn.endpoint });
    const results = [
      await spawnCli('verify --fleet table', fleet, viaStandIn),
      await spawnCli('verify --fleet --json', [...fleet, '--json'], viaStandIn),
      await spawnCli('verify --fleet echo', fleet, env({ AWS_ENDPOINT_URL: echo.endpoint })),
    ];
    expect(results.map((r) => r.code)).toEqual([1, 1, 1]);
    for (const r of results) assertClean(r);
  });
});

describe('Function: library errors with canary credentials', () => {
  const clients = () => {
    const config = {
      endpoint: echo.endpoint,
      region: 'us-east-1',
      credentials: CANARY,
      maxAttempts: 1,
    };
    return {
      iam: new IAMClient(config),
      ec2: new EC2Client(config),
      sts: new STSClient(config),
      ssm: new SSMClient(config),
    };
  };

  it('wraps SDK errors that quote the session token: message, JSON, String() and cause carry no secret', async () => {
    // Prepare
    const c = clients();

    // Act
    const errors = await Promise.all([
      ensureInstanceRole({ name: unique('lib-echo') }, c).catch((e: unknown) => e),
      attachRole({ instanceId: bareInstanceId, instanceProfile: profile }, c).catch((e: unknown) => e),
      requireImdsV2(bareInstanceId, { ec2: c.ec2 }).catch((e: unknown) => e),
      launchWithRole(
        { ImageId: 'ami-12c6146b', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 },
        { instanceProfile: profile },
        c,
      ).catch((e: unknown) => e),
      verifyFleet({
        instanceIds: [instanceId],
        bundleS3Uri: 's3://b/agent.mjs',
        ssm: c.ssm,
        ec2: c.ec2,
        timeoutMs: 5000,
      }).catch((e: unknown) => e),
    ]);

    // Assess
    expect(echo.requests()).toBeGreaterThan(0);
    for (const err of errors) {
      expect(err).toBeInstanceOf(InstanceRoleError);
      expect(leaks(errorTexts(err)), errorTexts(err)).toEqual([]);
    }
  });

  it('keeps the SDK cause but with its message redacted (AwsOperationError)', async () => {
    // Prepare
    const raw = await clients()
      .iam.send(new CreateRoleCommand({ RoleName: 'x', AssumeRolePolicyDocument: '{}' }))
      .catch((e: Error) => e);
    expect(String((raw as Error).message)).toContain(CANARY.sessionToken);

    // Act
    const wrapped = new AwsOperationError('CreateRole', raw);

    // Assess
    expect(wrapped.cause).toBe(raw);
    expect(wrapped.awsCode).toBe('InvalidClientTokenId');
    expect(leaks(errorTexts(wrapped))).toEqual([]);
  });

  it('verifyOverSsh errors and reports carry no secret (keys passed through env, auth failure)', async () => {
    // Act
    const report = await verifyOverSsh({
      host: sshd.host,
      user: sshd.user,
      port: sshd.port,
      identityFile: sshd.identityFile,
      sshOptions: sshd.clientOptions,
      env: {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_SECRET_ACCESS_KEY: CANARY.secretAccessKey,
        AWS_SESSION_TOKEN: CANARY.sessionToken,
        AWS_ACCESS_KEY_ID: CANARY.accessKeyId,
      },
    });
    const failed = await verifyOverSsh({
      host: sshd.host,
      user: sshd.user,
      port: sshd.port,
      identityFile: otherKey,
      sshOptions: sshd.clientOptions,
      env: { AWS_SECRET_ACCESS_KEY: CANARY.secretAccessKey, AWS_SESSION_TOKEN: CANARY.sessionToken },
    }).catch((e: unknown) => e);

    // Assess
    expect(report.findings.map((f) => f.code)).toContain('STATIC_KEYS_ENV');
    expect(leaks(JSON.stringify(report))).toEqual([]);
    expect(failed).toBeInstanceOf(InstanceRoleError);
    expect(leaks(errorTexts(failed))).toEqual([]);
  });

  it('redactSecrets removes every canary from a message that quotes them all', () => {
    const text = `key ${CANARY.secretAccessKey} token ${CANARY.sessionToken}\n${readFileSync(sshd.identityFile, 'utf8')}`;
    expect(leaks(redactSecrets(text))).toEqual([]);
  });
});
