import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { AttachRolePolicyCommand } from '@aws-sdk/client-iam';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  type ImdsEmulator,
  type MotoServer,
  type SsmStandIn,
  startImds,
  startMoto,
  startSsmStandIn,
} from '@instance-role/sandbox';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentBundlePath } from '../src/agent-bundle.js';
import { ValidationError } from '../src/errors.js';
import {
  aggregateFleet,
  type FleetEvent,
  fleetScript,
  fromInvocation,
  verifyFleet,
} from '../src/verify-fleet.js';
import { clientsFor, createProfile, runInstance } from './attach-fixtures.js';

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

describe('Function: fleetScript', () => {
  let moto: MotoServer;
  let bundleServer: Server;
  let bundleUrl: string;
  const imds: Record<'good' | 'bare', ImdsEmulator> = {} as never;
  const ids: Record<'good' | 'bare', string> = {} as never;

  beforeAll(async () => {
    moto = await startMoto();
    const bundle = readFileSync(agentBundlePath());
    bundleServer = createServer((_req, res) => res.end(bundle));
    await new Promise<void>((resolve) => bundleServer.listen(0, '127.0.0.1', resolve));
    bundleUrl = `http://127.0.0.1:${(bundleServer.address() as AddressInfo).port}/instance-role-agent.mjs`;
    const { ec2, iam } = clientsFor(moto.endpoint);
    for (const kind of ['good', 'bare'] as const) {
      const profile = await createProfile(iam);
      if (kind === 'good') {
        await iam.send(
          new AttachRolePolicyCommand({
            RoleName: profile.name,
            PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
          }),
        );
      }
      ids[kind] = await runInstance(ec2, { profile: profile.name });
      imds[kind] = await startImds({ instanceId: ids[kind], awsEndpoint: moto.endpoint });
    }
    await moto.setEnforcement(true);
  });

  afterAll(async () => {
    await Promise.all(Object.values(imds).map((i) => i.close()));
    bundleServer?.close();
    await moto?.stop();
  });

  /** Run the script the way Run Command does (POSIX sh as root) and shape its result like an invocation. */
  function runAsRunCommand(script: string, kind: 'good' | 'bare') {
    const env = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds[kind].endpoint,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
    };
    return new Promise<Parameters<typeof fromInvocation>[1]>((resolve) => {
      // async on purpose: the IMDS emulator and the bundle server answer from this process
      execFile('/bin/sh', ['-c', script], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? -1) : 0;
        resolve({
          Status: code === 0 ? ('Success' as const) : ('Failed' as const),
          ResponseCode: code,
          StandardOutputContent: stdout.slice(0, 24_000),
          StandardErrorContent: stderr.slice(0, 8000),
        });
      });
    });
  }

  it('fetches the bundle, checks its SHA-256, runs the agent and prints one compact report', async () => {
    // Prepare
    const script = fleetScript({
      bundleUrl,
      expectations: { presets: ['s3-read-only'] },
      timeoutMs: 30_000,
    });

    // Act
    const invocation = await runAsRunCommand(script, 'good');

    // Assess
    expect(invocation.StandardErrorContent).not.toMatch(/checksum mismatch/);
    expect(invocation.StandardOutputContent).not.toContain('\n');
    const result = fromInvocation(ids.good, invocation);
    expect(result.report?.instance.id).toBe(ids.good);
    expect(result.outcome).toBe('passed');
  });

  it('aggregates real reports: passed and failed instances, grouped by the failing check', async () => {
    // Prepare
    const script = fleetScript({
      bundleUrl,
      expectations: { presets: ['s3-read-only'] },
      timeoutMs: 30_000,
    });
    const results = await Promise.all(
      (['good', 'bare'] as const).map(async (kind) =>
        fromInvocation(ids[kind], await runAsRunCommand(script, kind)),
      ),
    );

    // Act
    const fleet = aggregateFleet(results);

    // Assess
    expect(fleet.counts).toMatchObject({ passed: 1, failed: 1 });
    expect(fleet.groups).toContainEqual(
      expect.objectContaining({ key: 'check:s3:ListAllMyBuckets', instanceIds: [ids.bare] }),
    );
  });
});
