import { DescribeIamInstanceProfileAssociationsCommand } from '@aws-sdk/client-ec2';
import { type AwsProxy, startAwsProxy } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../src/cli/attach.js';
import { run as ensureCli } from '../src/cli/ensure.js';
import type { CliIo } from '../src/cli/progress.js';
import { AssociationConflictError, ValidationError } from '../src/errors.js';
import { clientsFor, createProfile, runInstance, unique } from './attach-fixtures.js';

function bufferIo(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s), isTTY },
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('Function: run (instance-role attach)', () => {
  let proxy: AwsProxy;
  beforeAll(async () => {
    proxy = await startAwsProxy({ target: inject('motoEndpoint') });
    process.env.AWS_ENDPOINT_URL = proxy.endpoint;
  });
  afterAll(() => proxy.close());

  it('attaches and prints the result as JSON with nothing on stderr', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const profile = await createProfile(iam);
    const instanceId = await runInstance(ec2);
    const { io, stdout, stderr } = bufferIo();

    // Act
    const code = await run(['--instance', instanceId, '--profile', profile.name, '--json'], io);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout())).toMatchObject({
      action: 'associated',
      instanceId,
      instanceProfile: { arn: profile.arn },
    });
    expect(stderr()).toBe('');
  });

  it('refuses a replace without --replace, then replaces with it and requires IMDSv2', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const current = await createProfile(iam);
    const wanted = await createProfile(iam);
    const instanceId = await runInstance(ec2, { profile: current.name });
    const { io, stdout } = bufferIo();

    // Act
    const refused = await run(['--instance', instanceId, '--profile', wanted.name], io).catch((e) => e);
    const code = await run(
      ['--instance', instanceId, '--profile', wanted.name, '--replace', '--hop-limit', '2'],
      io,
    );

    // Assess
    expect(refused).toBeInstanceOf(AssociationConflictError);
    expect(refused.message).toContain('--replace');
    expect(code).toBe(0);
    expect(stdout()).toContain(
      `Replaced ${current.arn} with ${wanted.arn} on ${instanceId}; IMDSv2 required (hop limit 2)`,
    );
    const out = await ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [instanceId] }],
      }),
    );
    expect(out.IamInstanceProfileAssociations?.map((a) => a.IamInstanceProfile?.Arn)).toEqual([wanted.arn]);
  });

  it('lists missing options and a bad hop limit in one ValidationError', async () => {
    // Prepare
    const { io } = bufferIo();

    // Act
    const error = await run(['--hop-limit', 'abc'], io).catch((e) => e);
    const second = await run(['--instance', 'i-1', '--profile', 'p', '--hop-limit', 'abc'], io).catch(
      (e) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.problems.map((p: { field: string }) => p.field)).toEqual([
      '--instance',
      '--profile',
      '--hop-limit',
    ]);
    expect(second.problems.map((p: { field: string }) => p.field)).toEqual(['--instance', '--hop-limit']);
  });

  it('shows what it waits for and the elapsed seconds on a TTY while the profile propagates', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const instanceId = await runInstance(ec2);
    proxy.setPropagationDelay(1200);
    const profile = await createProfile(iam);
    const { io, stderr, stdout } = bufferIo(true);

    // Act
    const code = await run(['--instance', instanceId, '--profile', profile.name], io);
    proxy.setPropagationDelay(0);

    // Assess
    expect(code).toBe(0);
    expect(stderr()).toContain(`\r\x1b[2K… waiting for EC2 to see instance profile "${profile.name}"`);
    expect(stderr()).toMatch(/\(\d+ s\)/);
    expect(stderr()).toMatch(/✓ .*ready after \d+\.\d s\n/);
    expect(stdout()).toContain(`Attached instance profile ${profile.arn} to ${instanceId}`);
  });

  it('prints plain progress lines when stderr is not a TTY', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const instanceId = await runInstance(ec2);
    proxy.setPropagationDelay(800);
    const profile = await createProfile(iam);
    const { io, stderr } = bufferIo(false);

    // Act
    await run(['--instance', instanceId, '--profile', profile.name], io);
    proxy.setPropagationDelay(0);

    // Assess
    expect(stderr()).not.toContain('\x1b');
    expect(stderr()).toMatch(/^waiting for EC2 to see instance profile .*InvalidParameterValue/m);
    expect(stderr()).toMatch(/^ready: /m);
  });
});

describe('Function: run (instance-role ensure --instance)', () => {
  it('ensures the role and attaches it to each instance, printing both as JSON', async () => {
    // Prepare
    const endpoint = inject('motoEndpoint');
    process.env.AWS_ENDPOINT_URL = endpoint;
    const { ec2 } = clientsFor(endpoint);
    const first = await runInstance(ec2);
    const second = await runInstance(ec2);
    const name = unique('ir-ensure-cli');
    const { io, stdout, stderr } = bufferIo();

    // Act
    const code = await ensureCli(
      [
        '--name',
        name,
        '--preset',
        's3-read-only',
        '--instance',
        first,
        '--instance',
        second,
        '--hop-limit',
        '1',
        '--json',
      ],
      io,
    );

    // Assess
    expect(stderr()).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout());
    expect(out).toMatchObject({ role: { name }, instanceProfile: { name }, expect: { role: name } });
    expect(
      out.attachments.map((a: { instanceId: string; action: string }) => [a.instanceId, a.action]),
    ).toEqual([
      [first, 'associated'],
      [second, 'associated'],
    ]);
  });

  it('exits 2 listing a bad instance ID together with spec problems, writing nothing', async () => {
    // Prepare
    const { io, stderr } = bufferIo();

    // Act
    const code = await ensureCli(['--name', 'bad name', '--instance', 'i-nope', '--hop-limit', '99'], io);

    // Assess
    expect(code).toBe(2);
    expect(stderr()).toContain('--instance[0]');
    expect(stderr()).toContain('--hop-limit');
    expect(stderr()).toContain('--name');
    expect(stderr()).toContain('Nothing was written.');
  });
});
