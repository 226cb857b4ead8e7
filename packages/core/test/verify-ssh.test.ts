import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttachRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  type ImdsEmulator,
  type MotoServer,
  type Sshd,
  startImds,
  startMoto,
  startSshd,
} from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError, SshError } from '../src/errors.js';
import {
  type AgentReport,
  parseReport,
  type VerifyOverSshOptions,
  verifyOverSsh,
} from '../src/verify-ssh.js';
import { clientsFor, createProfile, runInstance } from './attach-fixtures.js';

const S3_READ_ONLY = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';

describe('Function: verifyOverSsh', () => {
  let moto: MotoServer;
  let sshd: Sshd;
  let withRole: ImdsEmulator;
  let withoutRole: ImdsEmulator;
  let roleName: string;
  let instanceId: string;
  let scratch: string;

  beforeAll(async () => {
    [moto, sshd] = await Promise.all([startMoto(), startSshd()]);
    const { ec2, iam } = clientsFor(moto.endpoint);
    const profile = await createProfile(iam);
    roleName = profile.name;
    await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: S3_READ_ONLY }));
    instanceId = await runInstance(ec2, { profile: profile.name });
    const bare = await runInstance(ec2);
    withRole = await startImds({ instanceId, awsEndpoint: moto.endpoint });
    withoutRole = await startImds({ instanceId: bare, awsEndpoint: moto.endpoint });
    await moto.setEnforcement(true);
    scratch = mkdtempSync(join(tmpdir(), 'verify-ssh-'));
  });

  afterAll(async () => {
    await Promise.all([withRole?.close(), withoutRole?.close(), sshd?.stop()]);
    await moto?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const target = (imds: ImdsEmulator, extra: Partial<VerifyOverSshOptions> = {}): VerifyOverSshOptions => ({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.identityFile,
    sshOptions: sshd.clientOptions,
    timeoutMs: 30_000,
    env: {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
    },
    ...extra,
  });

  it("returns the agent's real report when the role meets the preset", async () => {
    // Act
    const report = await verifyOverSsh(
      target(withRole, { expectations: { presets: ['s3-read-only'], expectRole: roleName } }),
    );

    // Assess
    expect(report.schemaVersion).toBe(1);
    expect(report.role.name).toBe(roleName);
    expect(report.instance.id).toBe(instanceId);
    expect(report.checks.some((c) => c.action === 's3:ListAllMyBuckets' && c.outcome === 'allowed')).toBe(
      true,
    );
    expect(report.verdict).toBe('pass');
  });

  it('returns a failing report when the instance has another role than expected', async () => {
    // Act
    const report = await verifyOverSsh(target(withRole, { expectations: { expectRole: 'some-other-role' } }));

    // Assess
    expect(report.verdict).toBe('fail');
    expect(report.findings.map((f) => f.code)).toContain('ROLE_MISMATCH');
  });

  it('passes an expect document to the agent through a temp file on the instance', async () => {
    // Prepare
    const expect_ = {
      role: roleName,
      allow: [{ service: 's3', action: 's3:ListAllMyBuckets' }],
      deny: [],
      writes: [],
    };

    // Act
    const report = await verifyOverSsh(target(withRole, { expectations: { expect: { expect: expect_ } } }));

    // Assess
    expect(report.verdict).toBe('pass');
    expect(report.checks.find((c) => c.action === 's3:ListAllMyBuckets')?.expected).toBe('allow');
  });

  it('throws AgentError no-role, saying how to attach, when the instance has no role', async () => {
    // Act
    const result = verifyOverSsh(target(withoutRole));

    // Assess
    await expect(result).rejects.toBeInstanceOf(AgentError);
    await expect(result).rejects.toMatchObject({
      reason: 'no-role',
      exitCode: 3,
      message: /instance-role attach/,
    });
  });

  it('throws SshError auth when the key is not authorized', async () => {
    // Prepare
    const otherKey = join(scratch, 'other_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);

    // Act
    const result = verifyOverSsh(target(withRole, { identityFile: otherKey }));

    // Assess
    await expect(result).rejects.toBeInstanceOf(SshError);
    await expect(result).rejects.toMatchObject({ reason: 'auth', exitCode: 255 });
  });

  it('throws SshError unreachable when nothing listens on the port', async () => {
    // Prepare
    const closedPort = await freePort();

    // Act
    const result = verifyOverSsh(target(withRole, { port: closedPort }));

    // Assess
    await expect(result).rejects.toMatchObject({
      code: 'SSH',
      reason: 'unreachable',
      message: /Connection refused/,
    });
  });

  it('throws SshError host-key when the host key is not known, and never turns checking off', async () => {
    // Prepare
    const sshOptions = ['-F', 'none', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes'];

    // Act
    const result = verifyOverSsh(target(withRole, { sshOptions }));

    // Assess
    await expect(result).rejects.toMatchObject({ reason: 'host-key' });
  });

  it('throws SshError node-missing, with install commands, when node is not on the remote PATH', async () => {
    // Prepare
    const options = target(withRole);

    // Act
    const result = verifyOverSsh({ ...options, env: { ...options.env, PATH: '/nonexistent' } });

    // Assess
    await expect(result).rejects.toMatchObject({
      reason: 'node-missing',
      exitCode: 127,
      message: /dnf install -y nodejs/,
    });
  });

  it('throws SshError ssh-missing when there is no ssh client', async () => {
    // Act
    const result = verifyOverSsh(target(withRole, { sshCommand: join(scratch, 'no-such-ssh') }));

    // Assess
    await expect(result).rejects.toMatchObject({ reason: 'ssh-missing', message: /openssh-client/ });
  });

  it('rejects bad input before connecting', async () => {
    // Act
    const result = verifyOverSsh({ host: '-oProxyCommand=x', port: 70_000, env: { 'BAD NAME': 'x' } });

    // Assess
    await expect(result).rejects.toMatchObject({
      code: 'VALIDATION',
      problems: [{ field: 'host' }, { field: 'port' }, { field: 'env.BAD NAME' }],
    });
  });
});

describe('Function: parseReport', () => {
  it('throws AgentError malformed-output for a truncated real report', async () => {
    // Prepare
    const real = JSON.stringify(await agentReportFromThisMachine());
    const truncated = real.slice(0, Math.floor(real.length / 2));

    // Act
    const act = () => parseReport(truncated, 1);

    // Assess
    expect(real.length).toBeGreaterThan(100);
    expect(act).toThrow(AgentError);
    expect(act).toThrow(/did not print a schema-1 JSON report \(exit 1, output began/);
  });
});

/** Run the real agent bundle locally with no IMDS reachable: it still prints a report. */
async function agentReportFromThisMachine(): Promise<AgentReport> {
  const { agentBundlePath } = await import('../src/agent-bundle.js');
  try {
    return JSON.parse(
      execFileSync(
        process.execPath,
        [agentBundlePath(), '--json', '--timeout-ms', '2000', '--imds-endpoint', 'http://127.0.0.1:9'],
        {
          encoding: 'utf8',
        },
      ),
    );
  } catch (err) {
    return JSON.parse((err as { stdout: string }).stdout);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
