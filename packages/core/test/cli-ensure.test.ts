import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../src/cli/ensure.js';
import { run as runPresets } from '../src/cli/presets.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

async function roleExists(name: string): Promise<boolean> {
  const iam = new IAMClient({ endpoint: inject('motoEndpoint') });
  return iam.send(new GetRoleCommand({ RoleName: name })).then(
    () => true,
    (err: Error) => {
      if (err.name === 'NoSuchEntityException') return false;
      throw err;
    },
  );
}

beforeAll(() => {
  // The CLI builds its clients from the environment, like it does for users.
  process.env.AWS_ENDPOINT_URL = inject('motoEndpoint');
});

describe('Function: run (instance-role ensure)', () => {
  it('prints the plan as a diff, applies it and exits 0', async () => {
    // Prepare
    const name = unique('cli');
    const cap = capture();

    // Act
    const code = await run(['--name', name, '--preset', 's3-read-only', '--tag', 'team=web'], cap.io);

    // Assess
    expect(code).toBe(0);
    expect(cap.stdout()).toContain(`+ create role ${name}`);
    expect(cap.stdout()).toContain('+ attach arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess');
    expect(cap.stdout()).toMatch(/Done: 4 changes applied/);
    expect(await roleExists(name)).toBe(true);
  });

  it('prints the plan and writes nothing with --plan', async () => {
    // Prepare
    const name = unique('cli-plan');
    const cap = capture();

    // Act
    const code = await run(['--name', name, '--preset', 's3-read-only', '--plan'], cap.io);

    // Assess
    expect(code).toBe(0);
    expect(cap.stdout()).toContain('nothing was written');
    expect(await roleExists(name)).toBe(false);
  });

  it('prints the result object with --json, with the expect manifest', async () => {
    // Prepare
    const name = unique('cli-json');
    const cap = capture();

    // Act
    const code = await run(['--name', name, '--preset', 's3-read-only', '--json'], cap.io);

    // Assess
    expect(code).toBe(0);
    const result = JSON.parse(cap.stdout());
    expect(result.role).toEqual({ name, arn: `arn:aws:iam::123456789012:role/${name}` });
    expect(result.instanceProfile.name).toBe(name);
    expect(result.expect).toEqual({
      role: name,
      allow: [{ service: 's3', action: 's3:ListAllMyBuckets' }],
      deny: [
        { service: 'dynamodb', action: 'dynamodb:ListTables' },
        { service: 'iam', action: 'iam:ListRoles' },
      ],
      writes: [],
    });
  });

  it('exits 2 listing every problem and writes nothing when the input is invalid', async () => {
    // Prepare
    const name = unique('cli-bad');
    const cap = capture();

    // Act
    const code = await run(
      ['--name', name, '--preset', 's3-raed-only', '--tag', 'novalue', '--max-session-duration', 'soon'],
      cap.io,
    );

    // Assess
    expect(code).toBe(2);
    expect(cap.stderr()).toContain('did you mean "s3-read-only"?');
    expect(cap.stderr()).toContain('--tag: KEY=VALUE');
    expect(cap.stderr()).toContain('--max-session-duration');
    expect(cap.stderr()).toContain('Nothing was written.');
    expect(await roleExists(name)).toBe(false);
  });

  it('exits 2 for an unknown option and for a missing --name', async () => {
    // Act
    const unknown = await run(['--name', 'x', '--nope'], capture().io);
    const missing = await run([], capture().io);

    // Assess
    expect(unknown).toBe(2);
    expect(missing).toBe(2);
  });

  it('exits 2 and writes nothing when a managed policy does not exist', async () => {
    // Prepare
    const name = unique('cli-missing');
    const cap = capture();

    // Act
    const code = await run(
      ['--name', name, '--policy-arn', 'arn:aws:iam::123456789012:policy/absent'],
      cap.io,
    );

    // Assess
    expect(code).toBe(2);
    expect(cap.stderr()).toContain('managed policy does not exist');
    expect(await roleExists(name)).toBe(false);
  });

  it('exits 1 naming the role and --adopt when the role exists without the ownership tag', async () => {
    // Prepare
    const name = unique('cli-foreign');
    await new IAMClient({ endpoint: inject('motoEndpoint') }).send(
      new CreateRoleCommand({
        RoleName: name,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    const cap = capture();

    // Act
    const code = await run(['--name', name], cap.io);

    // Assess
    expect(code).toBe(1);
    expect(cap.stderr()).toContain('[NOT_OWNED]');
    expect(cap.stderr()).toContain(name);
    expect(cap.stderr()).toContain('--adopt');
  });
});

describe('Function: run (instance-role presets)', () => {
  it('lists every preset, as a table or JSON', async () => {
    // Prepare
    const table = capture();
    const json = capture();

    // Act
    await runPresets([], table.io);
    await runPresets(['--json'], json.io);

    // Assess
    expect(table.stdout()).toContain('s3-read:BUCKET[/PREFIX]');
    expect(JSON.parse(json.stdout()).map((p: { name: string }) => p.name)).toContain('ssm-managed-instance');
  });
});

describe('Function: instance-role CLI (built)', () => {
  it.skipIf(!existsSync(CLI))('exits 0, then 2 for invalid input, as a real process', () => {
    // Prepare
    const env = { ...process.env, AWS_ENDPOINT_URL: inject('motoEndpoint'), AWS_REGION: 'us-east-1' };
    const name = unique('bin');

    // Act
    const ok = spawnSync(process.execPath, [CLI, 'ensure', '--name', name, '--preset', 'iam-read-only'], {
      env,
      encoding: 'utf8',
    });
    const bad = spawnSync(process.execPath, [CLI, 'ensure', '--name', 'bad name'], { env, encoding: 'utf8' });

    // Assess
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`+ create role ${name}`);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('role name: 1-64 characters');
  });
});
