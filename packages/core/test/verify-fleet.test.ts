import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type SsmStandIn, startSsmStandIn } from '@instance-role/sandbox';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ValidationError } from '../src/errors.js';
import { type FleetEvent, verifyFleet } from '../src/verify-fleet.js';

const endpoint = inject('motoEndpoint');
const ec2 = new EC2Client({ endpoint });
/** The bundle is too big to inline in a Run Command parameter; moto does not run the script anyway. */
const bundleS3Uri = 's3://instance-role-tools/instance-role-agent.mjs';
let standIn: SsmStandIn | undefined;

afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

const fakeIds = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => `i-${(seed * 1000 + i).toString(16).padStart(17, '0')}`);

async function ssmFor(options: { managed: readonly string[]; statuses?: Record<string, string> }) {
  standIn = await startSsmStandIn({
    target: endpoint,
    managedInstanceIds: options.managed,
    statuses: options.statuses,
  });
  return new SSMClient({ endpoint: standIn.endpoint, maxAttempts: 1 });
}

async function runTagged(count: number, tags: Record<string, string>): Promise<string[]> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: count,
      MaxCount: count,
      InstanceType: 't3.micro',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  return (out.Instances ?? []).map((i) => i.InstanceId as string);
}

describe('Function: verifyFleet', () => {
  it('sends 120 instances in 3 SendCommand calls of at most 50', async () => {
    // Prepare
    const ids = fakeIds(120, 1);
    const ssm = await ssmFor({ managed: ids });
    const sent: number[] = [];
    const onEvent = (e: FleetEvent) => e.type === 'sent' && sent.push(e.instanceIds.length);

    // Act
    const fleet = await verifyFleet({
      instanceIds: ids,
      ssm,
      ec2,
      bundleS3Uri,
      pollIntervalMs: 50,
      timeoutMs: 20_000,
      onEvent,
    });

    // Assess
    expect(standIn?.counts().SendCommand).toBe(3);
    expect(sent).toEqual([50, 50, 20]);
    expect(fleet.commandIds).toHaveLength(3);
    expect(fleet.instances.map((i) => i.instanceId)).toEqual([...ids].sort());
    // moto marks every invocation Success with empty output: no report to read
    expect(fleet.counts.error).toBe(120);
    expect(fleet.groups).toEqual([expect.objectContaining({ key: 'error', instanceIds: [...ids].sort() })]);
  });

  it('targets tags in one call and covers only the tagged running instances', async () => {
    // Prepare
    const tag = `fleet-${Date.now()}`;
    const tagged = await runTagged(3, { FleetTest: tag });
    await runTagged(1, { FleetTest: `${tag}-other` });
    const ssm = await ssmFor({ managed: tagged });

    // Act
    const fleet = await verifyFleet({
      tags: { FleetTest: tag },
      ssm,
      ec2,
      bundleS3Uri,
      pollIntervalMs: 50,
      timeoutMs: 20_000,
    });

    // Assess
    expect(standIn?.counts().SendCommand).toBe(1);
    expect(fleet.instances.map((i) => i.instanceId).sort()).toEqual([...tagged].sort());
    expect(fleet.managedCheck).toBe(true);
  });

  it('reports instances SSM does not manage as not-managed, with the fix, and does not send to them', async () => {
    // Prepare
    const [managed, unmanaged] = fakeIds(2, 2) as [string, string];
    const ssm = await ssmFor({ managed: [managed] });
    const sentTo: string[] = [];

    // Act
    const fleet = await verifyFleet({
      instanceIds: [managed, unmanaged],
      ssm,
      ec2,
      bundleS3Uri,
      pollIntervalMs: 50,
      timeoutMs: 20_000,
      onEvent: (e) => e.type === 'sent' && sentTo.push(...e.instanceIds),
    });

    // Assess
    expect(sentTo).toEqual([managed]);
    const result = fleet.instances.find((i) => i.instanceId === unmanaged);
    expect(result?.outcome).toBe('not-managed');
    expect(result?.problem).toMatch(/AmazonSSMManagedInstanceCore/);
    expect(fleet.counts['not-managed']).toBe(1);
  });

  it('stops polling at the deadline and reports instances still running as unreachable', async () => {
    // Prepare
    const [done, stuck] = fakeIds(2, 3) as [string, string];
    const ssm = await ssmFor({ managed: [done, stuck], statuses: { [stuck]: 'InProgress' } });
    const started = Date.now();

    // Act
    const fleet = await verifyFleet({
      instanceIds: [done, stuck],
      ssm,
      ec2,
      bundleS3Uri,
      pollIntervalMs: 100,
      timeoutMs: 2000,
    });

    // Assess
    const elapsed = Date.now() - started;
    expect(fleet.deadlineReached).toBe(true);
    expect(fleet.instances.find((i) => i.instanceId === stuck)?.outcome).toBe('unreachable');
    expect(fleet.instances.find((i) => i.instanceId === done)?.outcome).toBe('error');
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(8000);
    const polls = standIn?.counts().GetCommandInvocation ?? 0;
    expect(polls).toBeLessThan(40);
  });

  it('groups undeliverable instances under their Run Command status', async () => {
    // Prepare
    const ids = fakeIds(3, 4);
    const ssm = await ssmFor({
      managed: ids,
      statuses: { [ids[0] as string]: 'Undeliverable', [ids[1] as string]: 'Undeliverable' },
    });

    // Act
    const fleet = await verifyFleet({
      instanceIds: ids,
      ssm,
      ec2,
      bundleS3Uri,
      pollIntervalMs: 50,
      timeoutMs: 20_000,
    });

    // Assess
    expect(fleet.counts.unreachable).toBe(2);
    expect(fleet.groups[0]).toMatchObject({ key: 'ssm:Undeliverable', instanceIds: [ids[0], ids[1]].sort() });
  });

  it('rejects missing targets and bad IDs before any AWS call', async () => {
    // Prepare
    const ssm = await ssmFor({ managed: [] });

    // Act
    const both = verifyFleet({ instanceIds: ['i-0123456789abcdef0'], tags: { A: 'b' }, ssm, ec2 });
    const bad = verifyFleet({ instanceIds: ['web-1'], concurrency: 0, ssm, ec2 });

    // Assess
    await expect(both).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({
      problems: [{ field: 'instanceIds[0]' }, { field: 'concurrency' }],
    });
    expect(standIn?.counts()).toEqual({});
  });
});
