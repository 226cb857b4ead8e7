import { DescribeIamInstanceProfileAssociationsCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { type AwsProxy, startAwsProxy } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run as launchCli } from '../src/cli/launch.js';
import type { CliIo } from '../src/cli/progress.js';
import { ensureAndAttach } from '../src/ensure-and-attach.js';
import { ValidationError } from '../src/errors.js';
import { clientsFor, runInstance, unique } from './attach-fixtures.js';

let proxy: AwsProxy;
beforeAll(async () => {
  proxy = await startAwsProxy({ target: inject('motoEndpoint') });
  process.env.AWS_ENDPOINT_URL = proxy.endpoint;
});
afterAll(() => proxy.close());

async function profileArnsOf(ec2: ReturnType<typeof clientsFor>['ec2'], instanceId: string) {
  const out = await ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [{ Name: 'instance-id', Values: [instanceId] }],
    }),
  );
  return (out.IamInstanceProfileAssociations ?? []).map((a) => a.IamInstanceProfile?.Arn);
}

describe('Function: ensureAndAttach', () => {
  it('creates the role and attaches it to every instance despite a 2 s propagation delay', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const instances = [await runInstance(ec2), await runInstance(ec2)];
    proxy.setPropagationDelay(2000);
    const name = unique('ir-ensure-attach');

    // Act
    const result = await ensureAndAttach(
      { name, policies: ['s3-read-only'] },
      { instances, metadata: { hopLimit: 2 } },
      { ec2, iam },
    );
    proxy.setPropagationDelay(0);

    // Assess
    expect(result.ensure.instanceProfile.name).toBe(name);
    expect(result.attachments.map((a) => a.action)).toEqual(['associated', 'associated']);
    for (const id of instances)
      expect(await profileArnsOf(ec2, id)).toEqual([result.ensure.instanceProfile.arn]);
    expect(proxy.calls().some((c) => c.fault === 'propagation')).toBe(true);
  });

  it('makes no writes and at most 5 reads when run again on a converged role and instance', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const instances = [await runInstance(ec2)];
    const spec = { name: unique('ir-rerun'), policies: ['s3-read-only'] };
    await ensureAndAttach(spec, { instances }, { ec2, iam });
    proxy.resetCounts();

    // Act
    const again = await ensureAndAttach(spec, { instances }, { ec2, iam });

    // Assess
    expect(again.ensure.changed).toBe(false);
    expect(again.attachments.map((a) => a.action)).toEqual(['unchanged']);
    const calls = Object.entries(proxy.counts());
    const writes = calls.filter(([key]) => !/:(Get|List|Describe)/.test(key));
    const reads = calls.reduce((n, [key, count]) => n + (/:(Get|List|Describe)/.test(key) ? count : 0), 0);
    expect(writes).toEqual([]);
    expect(reads).toBeLessThanOrEqual(5);
  });

  it('rejects a malformed instance ID before creating anything', async () => {
    // Prepare
    const { ec2, iam, calls } = clientsFor(proxy.endpoint);
    const name = unique('ir-ensure-attach');

    // Act
    const error = await ensureAndAttach(
      { name },
      { instances: ['i-0123456789abcdef0', 'web-1'] },
      { ec2, iam },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.problems).toEqual([expect.objectContaining({ field: 'instances[1]', value: 'web-1' })]);
    expect(calls).toEqual([]);
  });
});

describe('Function: run (instance-role launch)', () => {
  it('ensures the role with the presets and launches with it and IMDSv2 required', async () => {
    // Prepare
    const { ec2 } = clientsFor(proxy.endpoint);
    const name = unique('ir-launch');
    const out: string[] = [];
    const io: CliIo = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: () => true } };

    // Act
    const code = await launchCli(
      [
        '--name',
        name,
        '--image-id',
        'ami-12c6146b',
        '--instance-type',
        't3.micro',
        '--preset',
        's3-read-only',
        '--containers',
        '--json',
      ],
      io,
    );

    // Assess
    expect(code).toBe(0);
    const result = JSON.parse(out.join(''));
    expect(result).toMatchObject({ role: { name }, instanceProfile: { name }, expect: { role: name } });
    expect(result.instanceIds).toHaveLength(1);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: result.instanceIds }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.MetadataOptions).toMatchObject({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
    });
    expect(await profileArnsOf(ec2, result.instanceIds[0])).toEqual([result.instanceProfile.arn]);
  });

  it('lists every missing option and a bad count in one ValidationError', async () => {
    // Prepare
    const io: CliIo = { stdout: { write: () => true }, stderr: { write: () => true } };

    // Act
    const error = await launchCli(['--count', '0', '--hop-limit', 'x'], io).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.problems.map((p: { field: string }) => p.field)).toEqual([
      '--name',
      '--image-id',
      '--instance-type',
      '--count',
      '--hop-limit',
    ]);
  });
});
