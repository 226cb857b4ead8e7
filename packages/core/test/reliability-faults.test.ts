import type { AwsCall, FaultRule } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAndAttach } from '../src/ensure-and-attach.js';
import { ensureInstanceRole } from '../src/ensure-instance-role.js';
import { OWNER_TAG } from '../src/spec.js';
import {
  clientsAt,
  inventory,
  isWrite,
  launchBare,
  type PrivateAws,
  startPrivateAws,
} from './support/private-aws.js';

const ROLES = 20;
const POLICY_SETS: readonly (readonly string[])[] = [
  ['s3-read-only'],
  ['s3-read:reliability-bucket/logs', 'iam-read-only'],
  ['dynamodb-read:orders'],
  ['cloudwatch-logs:app-logs', 'ssm-managed-instance'],
];
/** About 20% of all calls get one fault: the first rule that fires wins. */
const TWENTY_PERCENT: readonly FaultRule[] = [
  { kind: 'throttle', rate: 0.05 },
  { kind: 'http500', rate: 0.04 },
  { kind: 'http503', rate: 0.04 },
  { kind: 'drop', rate: 0.04 },
  { kind: 'latency', rate: 0.04, latencyMs: 150 },
];

function figures(calls: readonly AwsCall[]) {
  const faults: Record<string, number> = {};
  for (const c of calls) if (c.fault) faults[c.fault] = (faults[c.fault] ?? 0) + 1;
  return {
    calls: calls.length,
    writes: calls.filter((c) => isWrite(c.action)).length,
    faulted: Object.values(faults).reduce((a, b) => a + b, 0),
    faults,
  };
}

/** Run `tasks` with at most `width` in flight. */
async function pool<T>(tasks: readonly (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

async function expectExactly(
  aws: PrivateAws,
  expected: Record<string, string>,
  policies: (name: string) => number,
) {
  const inv = await inventory(aws.moto.endpoint);
  const names = Object.values(expected).sort();
  expect(Object.keys(inv.roles).sort()).toEqual(names);
  expect(Object.keys(inv.profiles).sort()).toEqual(names);
  for (const name of names) {
    expect(inv.profiles[name]).toEqual([name]);
    expect(inv.roles[name]?.tags[OWNER_TAG.key]).toBe(OWNER_TAG.value);
    expect(inv.roles[name]!.managed.length + inv.roles[name]!.inline.length).toBe(policies(name));
  }
  expect(inv.associations).toEqual(Object.fromEntries(Object.entries(expected).map(([id, n]) => [id, [n]])));
}

describe('Function: ensureAndAttach under injected faults', () => {
  let aws: PrivateAws;
  beforeAll(async () => {
    aws = await startPrivateAws({ seed: 20_240_607 });
  });
  afterAll(() => aws?.stop());

  it('converges 20 roles on 20 instances with throttling, 5xx, drops and latency on 20% of calls', async () => {
    // Prepare
    const setup = clientsAt(aws.moto.endpoint);
    const instances = await launchBare(setup.ec2, ROLES);
    const specs = instances.map((id, i) => ({
      id,
      spec: { name: `faulty-${i}`, policies: POLICY_SETS[i % POLICY_SETS.length]!, tags: { run: 'faults' } },
    }));
    const wanted = (name: string) => {
      const set = POLICY_SETS[Number(name.split('-')[1]) % POLICY_SETS.length]!;
      return set.filter((p) => !p.includes(':')).length + (set.some((p) => p.includes(':')) ? 1 : 0);
    };
    aws.proxy.resetCounts();
    aws.proxy.setFaults(TWENTY_PERCENT);

    // Act
    const results = await pool(
      specs.map(({ id, spec }) => () => {
        const c = clientsAt(aws.proxy.endpoint);
        return ensureAndAttach(spec, { instances: [id] }, { ...c, deadlineMs: 30_000 });
      }),
      5,
    );

    // Assess
    const seen = figures(aws.proxy.calls());
    console.log(`[reliability-faults] 20 roles + 20 attachments: ${JSON.stringify(seen)}`);
    aws.proxy.setFaults([]);
    expect(results.map((r) => r.attachments[0]?.action)).toEqual(Array(ROLES).fill('associated'));
    expect(seen.faulted / seen.calls).toBeGreaterThan(0.1);
    for (const kind of ['throttle', 'http500', 'http503', 'drop', 'latency'])
      expect(seen.faults[kind]).toBeGreaterThan(0);
    await expectExactly(aws, Object.fromEntries(specs.map(({ id, spec }) => [id, spec.name])), wanted);
    const direct = clientsAt(aws.moto.endpoint);
    for (const { spec } of specs) {
      expect((await ensureInstanceRole(spec, direct)).plan.changes).toEqual([]);
    }
  }, 60_000);

  it('converges when every first write reaches AWS but its answer is lost (half-made state)', async () => {
    // Prepare
    const setup = clientsAt(aws.moto.endpoint);
    const [id] = await launchBare(setup.ec2, 1);
    const spec = { name: 'lost-answers', policies: ['s3-read-only', 's3-read:lost-bucket'] };
    const actions = [
      'CreateRole',
      'PutRolePolicy',
      'AttachRolePolicy',
      'CreateInstanceProfile',
      'AddRoleToInstanceProfile',
      'AssociateIamInstanceProfile',
    ];
    aws.proxy.resetCounts();
    aws.proxy.setFaults(actions.map((action) => ({ kind: 'drop-after', action, nth: [1] })));

    // Act
    const result = await ensureAndAttach(spec, { instances: [id!] }, { ...clientsAt(aws.proxy.endpoint) });

    // Assess
    const calls = aws.proxy.calls();
    aws.proxy.setFaults([]);
    const lost = calls.filter((c) => c.fault === 'drop-after');
    console.log(
      `[reliability-faults] lost answers: ${lost.length} writes made but unanswered (${lost.map((c) => c.action).join(', ')}); ${JSON.stringify(figures(calls))}`,
    );
    expect(lost.map((c) => c.action).sort()).toEqual([...actions].sort());
    expect(lost.every((c) => c.status === 200)).toBe(true);
    expect(result.attachments[0]?.instanceProfile.name).toBe(spec.name);
    const inv = await inventory(aws.moto.endpoint);
    expect(inv.profiles[spec.name]).toEqual([spec.name]);
    expect(inv.associations[id!]).toEqual([spec.name]);
    expect(inv.roles[spec.name]?.tags[OWNER_TAG.key]).toBe(OWNER_TAG.value);
    expect(inv.roles[spec.name]?.managed).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']);
    expect(inv.roles[spec.name]?.inline).toEqual(['instance-role-presets']);
    expect((await ensureInstanceRole(spec, setup)).plan.changes).toEqual([]);
  }, 60_000);
});
