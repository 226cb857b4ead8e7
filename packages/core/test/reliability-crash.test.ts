import type { AwsCall } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_TAG } from '../src/spec.js';
import {
  type CliRun,
  clientsAt,
  ensureCliBuilt,
  inventory,
  isWrite,
  launchBare,
  type PrivateAws,
  removeCliSnapshot,
  runCli,
  spawnCli,
  startPrivateAws,
} from './support/private-aws.js';

const CHANGE_OF: Readonly<Record<string, string>> = {
  CreateRole: 'create-role',
  PutRolePolicy: 'put-inline-policy',
  AttachRolePolicy: 'attach-policy',
  CreateInstanceProfile: 'create-instance-profile',
  AddRoleToInstanceProfile: 'add-role-to-instance-profile',
};

const args = (name: string, instance: string) => [
  'ensure',
  '--name',
  name,
  '--preset',
  's3-read-only',
  '--preset',
  's3-read:crash-bucket/data',
  '--instance',
  instance,
  '--json',
];

const madeWrites = (calls: readonly AwsCall[]) =>
  calls.filter((c) => isWrite(c.action) && c.status < 300).map((c) => c.action);

/** Start the CLI and SIGKILL it as soon as AWS has answered its k-th successful write. */
async function killAfterWrite(aws: PrivateAws, cliArgs: readonly string[], k: number): Promise<CliRun> {
  let writes = 0;
  const { child, done } = spawnCli(cliArgs, aws.proxy.endpoint);
  const stop = aws.proxy.onCall((call) => {
    if (!isWrite(call.action) || call.status >= 300) return;
    writes++;
    if (writes === k) child.kill('SIGKILL');
  });
  try {
    return await done;
  } finally {
    stop();
  }
}

describe('Function: instance-role ensure --instance, killed after each write', () => {
  let aws: PrivateAws;
  let instances: string[];
  beforeAll(async () => {
    ensureCliBuilt();
    aws = await startPrivateAws();
    instances = await launchBare(clientsAt(aws.moto.endpoint).ec2, 10);
  });
  afterAll(async () => {
    removeCliSnapshot();
    await aws?.stop();
  });

  it('converges on re-run, orphans nothing and re-plans only what was missing', async () => {
    // Prepare: one clean run tells the distinct writes of a fresh ensure+attach
    aws.proxy.resetCounts();
    const clean = await runCli(args('crash-0', instances[0]!), aws.proxy.endpoint);
    expect(clean.code).toBe(0);
    const writes = madeWrites(aws.proxy.calls());
    expect(new Set(writes).size).toBe(writes.length);
    const survived: string[] = [];

    for (let k = 1; k <= writes.length; k++) {
      // Act: kill right after the k-th write, read the plan, re-run to completion
      const name = `crash-${k}`;
      const instance = instances[k]!;
      aws.proxy.resetCounts();
      const killed = await killAfterWrite(aws, args(name, instance), k);
      const doneBeforeKill = madeWrites(aws.proxy.calls());
      const planned = await runCli(
        [
          'ensure',
          '--name',
          name,
          '--preset',
          's3-read-only',
          '--preset',
          's3-read:crash-bucket/data',
          '--plan',
          '--json',
        ],
        aws.proxy.endpoint,
      );
      const rerun = await runCli(args(name, instance), aws.proxy.endpoint);

      // Assess
      expect(killed.signal).toBe('SIGKILL');
      expect(doneBeforeKill).toEqual(writes.slice(0, k));
      expect(planned.code).toBe(0);
      const plan = (JSON.parse(planned.stdout).plan.changes as { kind: string }[]).map((c) => c.kind);
      const missing = writes.slice(k).flatMap((w) => (CHANGE_OF[w] ? [CHANGE_OF[w]] : []));
      expect(plan).toEqual(missing);
      expect(rerun.stderr).toBe('');
      expect(rerun.code).toBe(0);
      const result = JSON.parse(rerun.stdout);
      expect(result.plan.changes.map((c: { kind: string }) => c.kind)).toEqual(missing);
      expect(result.attachments[0].action).toBe(k === writes.length ? 'unchanged' : 'associated');
      survived.push(`${writes[k - 1]}`);
    }

    const inv = await inventory(aws.moto.endpoint);
    const names = Array.from({ length: writes.length + 1 }, (_, k) => `crash-${k}`).sort();
    console.log(
      `[reliability-crash] ${writes.length} distinct writes (${writes.join(', ')}); survived a SIGKILL after each: ${survived.length}; roles ${Object.keys(inv.roles).length}, profiles ${Object.keys(inv.profiles).length}, associations ${Object.keys(inv.associations).length}`,
    );
    expect(Object.keys(inv.roles).sort()).toEqual(names);
    expect(Object.keys(inv.profiles).sort()).toEqual(names);
    for (const name of names) {
      expect(inv.profiles[name]).toEqual([name]);
      expect(inv.roles[name]?.tags[OWNER_TAG.key]).toBe(OWNER_TAG.value);
      expect(inv.roles[name]?.managed).toEqual(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']);
      expect(inv.roles[name]?.inline).toEqual(['instance-role-presets']);
    }
    expect(inv.associations).toEqual(
      Object.fromEntries(names.map((name) => [instances[Number(name.split('-')[1])]!, [name]])),
    );
  }, 120_000);
});
