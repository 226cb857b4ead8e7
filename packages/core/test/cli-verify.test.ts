import { AttachRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  type ImdsEmulator,
  type MotoServer,
  type Sshd,
  type SsmStandIn,
  startImds,
  startMoto,
  startSshd,
  startSsmStandIn,
} from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/verify.js';
import { clientsFor, createProfile, runInstance } from './attach-fixtures.js';

/** Run the command in-process and capture what it prints. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await run(argv).catch((e: Error & { code?: string }) => {
      err.push(e.message);
      return e.code === 'VALIDATION' ? 2 : 1;
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

describe('Command: instance-role verify', () => {
  let moto: MotoServer;
  let sshd: Sshd;
  let withRole: ImdsEmulator;
  let withoutRole: ImdsEmulator;
  let standIn: SsmStandIn;
  let roleName: string;
  const saved = { ssm: process.env.AWS_ENDPOINT_URL_SSM, any: process.env.AWS_ENDPOINT_URL };

  beforeAll(async () => {
    [moto, sshd] = await Promise.all([startMoto(), startSshd()]);
    const { ec2, iam } = clientsFor(moto.endpoint);
    const profile = await createProfile(iam);
    roleName = profile.name;
    await iam.send(
      new AttachRolePolicyCommand({
        RoleName: roleName,
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      }),
    );
    withRole = await startImds({
      instanceId: await runInstance(ec2, { profile: profile.name }),
      awsEndpoint: moto.endpoint,
    });
    withoutRole = await startImds({ instanceId: await runInstance(ec2), awsEndpoint: moto.endpoint });
    standIn = await startSsmStandIn({ target: moto.endpoint, managedInstanceIds: ['i-00000000000000aa1'] });
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_ENDPOINT_URL_SSM = standIn.endpoint;
  });

  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL = saved.any;
    if (saved.ssm === undefined) delete process.env.AWS_ENDPOINT_URL_SSM;
    await Promise.all([withRole?.close(), withoutRole?.close(), sshd?.stop(), standIn?.close()]);
    await moto?.stop();
  });

  const sshArgs = (imds: ImdsEmulator) => [
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
  ];

  it('prints the JSON report and exits 0 when the role matches over SSH', async () => {
    // Act
    const { code, stdout } = await cli([...sshArgs(withRole), '--expect-role', roleName, '--json']);

    // Assess
    const report = JSON.parse(stdout);
    expect(report.role.name).toBe(roleName);
    expect(report.verdict).toBe('pass');
    expect(code).toBe(0);
  });

  it('prints the human report and exits 1 when the role does not match', async () => {
    // Act
    const { code, stdout } = await cli([...sshArgs(withRole), '--expect-role', 'another-role']);

    // Assess
    expect(stdout).toMatch(/verdict: FAIL/);
    expect(stdout).toContain(roleName);
    expect(code).toBe(1);
  });

  it('exits 3 with how to attach a role when the instance has none', async () => {
    // Act
    const { code, stderr } = await cli(sshArgs(withoutRole));

    // Assess
    expect(code).toBe(3);
    expect(stderr).toMatch(/instance-role attach --instance i-/);
  });

  it('exits 2 without --ssh or --fleet, with both, or with a bad --port', async () => {
    // Act
    const results = await Promise.all([
      cli(['--preset', 's3-read-only']),
      cli(['--ssh', 'host', '--fleet']),
      cli(['--ssh', 'host', '--port', 'twenty-two']),
    ]);

    // Assess
    expect(results.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(results[2]?.stderr).toMatch(/--port: a whole number/);
  });

  it('prints the fleet table and exits 1 when instances give no report', async () => {
    // Act
    const { code, stdout } = await cli([
      '--fleet',
      '--instance',
      'i-00000000000000aa1',
      '--instance',
      'i-00000000000000aa2',
      '--bundle-s3-uri',
      's3://instance-role-tools/agent.mjs',
      '--timeout-ms',
      '20000',
    ]);

    // Assess
    expect(stdout).toMatch(/passed 0 {2}failed 0 {2}unreachable 0 {2}not-managed 1 {2}error 1/);
    expect(stdout).toMatch(/i-00000000000000aa2 +not-managed/);
    expect(standIn.counts().SendCommand).toBe(1);
    expect(code).toBe(1);
  });

  it('prints the fleet as JSON with --json', async () => {
    // Act
    const { stdout } = await cli([
      '--fleet',
      '--instance',
      'i-00000000000000aa1',
      '--bundle-s3-uri',
      's3://instance-role-tools/agent.mjs',
      '--json',
    ]);

    // Assess
    const fleet = JSON.parse(stdout);
    expect(fleet.instances).toHaveLength(1);
    expect(fleet.counts.error).toBe(1);
  });
});
