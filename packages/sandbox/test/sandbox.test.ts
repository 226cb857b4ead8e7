import { randomUUID } from 'node:crypto';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../src/sandbox.js';
import { seedInstance, seedRole } from '../src/seed.js';

describe('Function: startSandbox', () => {
  it('composes a private moto, a counting proxy and IMDS emulators, and stops them all', async () => {
    // Prepare
    const sandbox = await startSandbox({
      faults: [{ kind: 'throttle', service: 'iam', action: 'ListRoles', nth: [1] }],
    });
    const config = { endpoint: sandbox.endpoint, region: 'us-east-1', maxAttempts: 1 };
    const iam = new IAMClient(config);
    const ec2 = new EC2Client(config);
    const name = `sbx-${randomUUID().slice(0, 8)}`;
    // Act
    const throttled = await iam.send(new ListRolesCommand({})).catch((e: Error) => e.name);
    const empty = await iam.send(new ListRolesCommand({}));
    await seedRole({ clients: { iam }, name });
    const imds = await sandbox.imds({ instanceId: await seedInstance({ clients: { ec2 }, profile: name }) });
    const res = await fetch(`${imds.endpoint}/latest/meta-data/iam/security-credentials/`, {
      headers: {
        'x-aws-ec2-metadata-token': await (
          await fetch(`${imds.endpoint}/latest/api/token`, {
            method: 'PUT',
            headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
          })
        ).text(),
      },
    });
    const roleList = await res.text();
    const counts = sandbox.proxy.counts();
    await sandbox.stop();
    const afterStop = await fetch(`${sandbox.moto.endpoint}/moto-api/`).then(
      () => 'answered',
      () => 'refused',
    );
    const imdsAfterStop = await fetch(`${imds.endpoint}/latest/meta-data/instance-id`).then(
      () => 'answered',
      () => 'refused',
    );
    // Assess
    expect(throttled).toBe('Throttling');
    expect(empty.Roles).toEqual([]);
    expect(roleList).toBe(name);
    expect(sandbox.endpoint).toBe(sandbox.proxy.endpoint);
    expect(counts).toMatchObject({ 'iam:ListRoles': 2, 'iam:CreateRole': 1, 'ec2:RunInstances': 1 });
    expect(afterStop).toBe('refused');
    expect(imdsAfterStop).toBe('refused');
  });
});
