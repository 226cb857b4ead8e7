import { RemoveRoleFromInstanceProfileCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInstanceRole } from '../src/ensure-instance-role.js';
import { OWNER_TAG } from '../src/spec.js';
import {
  clientsAt,
  ensureCliBuilt,
  inventory,
  type PrivateAws,
  removeCliSnapshot,
  runCli,
  startPrivateAws,
} from './support/private-aws.js';

const PROCESSES = 10;

describe('Function: instance-role ensure (10 processes at once)', () => {
  let aws: PrivateAws;
  beforeAll(async () => {
    ensureCliBuilt();
    aws = await startPrivateAws();
  });
  afterAll(async () => {
    removeCliSnapshot();
    await aws?.stop();
  });

  it('converges to one role in one profile, and every process exits 0 with no error', async () => {
    // Prepare
    const name = 'crowded';
    const args = [
      'ensure',
      '--name',
      name,
      '--preset',
      's3-read-only',
      '--preset',
      's3-read:crowd-bucket',
      '--json',
    ];
    const started = Date.now();

    // Act
    const runs = await Promise.all(Array.from({ length: PROCESSES }, () => runCli(args, aws.proxy.endpoint)));

    // Assess
    const counts = aws.proxy.counts();
    const races = aws.proxy
      .calls()
      .filter((c) => c.status === 409)
      .map((c) => c.action);
    console.log(
      `[reliability-concurrency] ${PROCESSES} processes in ${Date.now() - started} ms; writes ${JSON.stringify(
        Object.fromEntries(Object.entries(counts).filter(([k]) => !/:(Get|List)/.test(k))),
      )}; 409 answers: ${races.length} (${[...new Set(races)].join(', ')})`,
    );
    expect(runs.map((r) => r.stderr)).toEqual(Array(PROCESSES).fill(''));
    expect(runs.map((r) => r.code)).toEqual(Array(PROCESSES).fill(0));
    const results = runs.map((r) => JSON.parse(r.stdout));
    expect(new Set(results.map((r) => r.instanceProfile.arn)).size).toBe(1);
    const inv = await inventory(aws.moto.endpoint);
    expect(Object.keys(inv.roles)).toEqual([name]);
    expect(inv.profiles).toEqual({ [name]: [name] });
    expect(inv.roles[name]?.managed).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']);
    expect(inv.roles[name]?.inline).toEqual(['instance-role-presets']);
    expect(inv.roles[name]?.tags[OWNER_TAG.key]).toBe(OWNER_TAG.value);
    expect(counts['iam:CreateRole']).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('adds the role to its profile once when 10 processes find it missing at the same time', async () => {
    // Prepare
    const name = 'crowded-profile';
    const direct = clientsAt(aws.moto.endpoint);
    await ensureInstanceRole({ name, policies: ['s3-read-only'] }, direct);
    await direct.iam.send(
      new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
    );
    aws.proxy.resetCounts();
    // every add waits 2 s before reaching moto, so all processes see the profile empty and race to fill it
    aws.proxy.setFaults([{ kind: 'latency', action: 'AddRoleToInstanceProfile', latencyMs: 2000 }]);
    const started = Date.now();

    // Act
    const runs = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        runCli(['ensure', '--name', name, '--preset', 's3-read-only', '--json'], aws.proxy.endpoint),
      ),
    );

    // Assess
    aws.proxy.setFaults([]);
    const adds = aws.proxy.calls().filter((c) => c.action === 'AddRoleToInstanceProfile');
    console.log(
      `[reliability-concurrency] ${PROCESSES} processes refill one profile in ${Date.now() - started} ms: ${adds.length} AddRoleToInstanceProfile calls, ${adds.filter((c) => c.status === 409).length} answered LimitExceeded`,
    );
    expect(runs.map((r) => r.stderr)).toEqual(Array(PROCESSES).fill(''));
    expect(runs.map((r) => r.code)).toEqual(Array(PROCESSES).fill(0));
    expect(adds.filter((c) => c.status === 409).length).toBeGreaterThan(0);
    // a LimitExceeded here means "someone else did it": re-observe, never retry the same add
    expect(adds.length).toBeLessThanOrEqual(PROCESSES);
    const inv = await inventory(aws.moto.endpoint);
    expect(inv.profiles[name]).toEqual([name]);
  }, 60_000);
});
