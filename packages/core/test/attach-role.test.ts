import { DescribeIamInstanceProfileAssociationsCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { type AwsProxy, startAwsProxy } from '@instance-role/sandbox';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type AttachEvent, attachRole } from '../src/attach-role.js';
import {
  AbortedError,
  AssociationConflictError,
  PropagationTimeoutError,
  ResourceNotFoundError,
  ValidationError,
} from '../src/errors.js';
import { clientsFor, createProfile, runInstance } from './attach-fixtures.js';

const env = () => clientsFor(inject('motoEndpoint'));

async function associationsOf(ec2: ReturnType<typeof env>['ec2'], instanceId: string) {
  const out = await ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [{ Name: 'instance-id', Values: [instanceId] }],
    }),
  );
  return out.IamInstanceProfileAssociations ?? [];
}

describe('Function: attachRole', () => {
  it('associates the profile when the instance has none', async () => {
    // Prepare
    const { ec2, iam, writes } = env();
    const profile = await createProfile(iam);
    const instanceId = await runInstance(ec2);

    // Act
    const result = await attachRole({ instanceId, instanceProfile: profile.name }, { ec2, iam });

    // Assess
    expect(result).toMatchObject({
      action: 'associated',
      instanceProfile: { name: profile.name, arn: profile.arn },
    });
    const associations = await associationsOf(ec2, instanceId);
    expect(associations.map((a) => a.IamInstanceProfile?.Arn)).toEqual([profile.arn]);
    expect(writes().filter((w) => !/^(Run|Create|Add)/.test(w))).toEqual(['AssociateIamInstanceProfile']);
  });

  it('writes nothing when the same profile is already associated, given by ARN', async () => {
    // Prepare
    const { ec2, iam, writes, reset } = env();
    const profile = await createProfile(iam);
    const instanceId = await runInstance(ec2, { profile: profile.name });
    reset();

    // Act
    const result = await attachRole({ instanceId, instanceProfile: profile.arn }, { ec2, iam });

    // Assess
    expect(result.action).toBe('unchanged');
    expect(result.instanceProfile.arn).toBe(profile.arn);
    expect(writes()).toEqual([]);
  });

  it('refuses to replace another profile without replace, naming the current profile and how to replace', async () => {
    // Prepare
    const { ec2, iam, writes, reset } = env();
    const current = await createProfile(iam);
    const wanted = await createProfile(iam);
    const instanceId = await runInstance(ec2, { profile: current.name });
    reset();

    // Act
    const error = await attachRole({ instanceId, instanceProfile: wanted.name }, { ec2, iam }).catch(
      (e) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(AssociationConflictError);
    expect(error.code).toBe('ASSOCIATION_CONFLICT');
    expect(error.message).toContain(current.arn);
    expect(error.message).toMatch(/--replace.*replace: true/);
    expect(writes()).toEqual([]);
  });

  it('replaces the profile in place on a running instance when replace is set', async () => {
    // Prepare
    const { ec2, iam, writes, reset } = env();
    const current = await createProfile(iam);
    const wanted = await createProfile(iam);
    const instanceId = await runInstance(ec2, { profile: current.name });
    reset();

    // Act
    const result = await attachRole(
      { instanceId, instanceProfile: wanted.name, replace: true },
      { ec2, iam },
    );

    // Assess
    expect(result).toMatchObject({
      action: 'replaced',
      method: 'replace',
      previousProfile: { arn: current.arn },
    });
    const associations = await associationsOf(ec2, instanceId);
    expect(associations.map((a) => a.IamInstanceProfile?.Arn)).toEqual([wanted.arn]);
    expect(writes()).toEqual(['ReplaceIamInstanceProfileAssociation']);
  });

  it('disassociates then associates on a stopped instance, as EC2 refuses an in-place replace there', async () => {
    // Prepare
    const { ec2, iam, writes, reset } = env();
    const current = await createProfile(iam);
    const wanted = await createProfile(iam);
    const instanceId = await runInstance(ec2, { profile: current.name, stopped: true });
    reset();

    // Act
    const result = await attachRole({ instanceId, instanceProfile: wanted.arn, replace: true }, { ec2, iam });

    // Assess
    expect(result).toMatchObject({
      action: 'replaced',
      method: 'disassociate-associate',
      previousProfile: { arn: current.arn },
    });
    const associations = await associationsOf(ec2, instanceId);
    expect(associations.map((a) => a.IamInstanceProfile?.Arn)).toEqual([wanted.arn]);
    expect(writes()).toEqual(['DisassociateIamInstanceProfile', 'AssociateIamInstanceProfile']);
  });

  it('associates a profile with a stopped instance that has none', async () => {
    // Prepare
    const { ec2, iam } = env();
    const profile = await createProfile(iam);
    const instanceId = await runInstance(ec2, { stopped: true });

    // Act
    const result = await attachRole({ instanceId, instanceProfile: profile.name }, { ec2, iam });

    // Assess
    expect(result.action).toBe('associated');
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('stopped');
    expect((await associationsOf(ec2, instanceId)).map((a) => a.IamInstanceProfile?.Arn)).toEqual([
      profile.arn,
    ]);
  });

  it('fails with a NOT_FOUND error naming an unknown instance, writing nothing', async () => {
    // Prepare
    const { ec2, iam, writes } = env();
    const profile = await createProfile(iam);

    // Act
    const error = await attachRole(
      { instanceId: 'i-0123456789abcdef0', instanceProfile: profile.name },
      { ec2, iam },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', kind: 'instance', id: 'i-0123456789abcdef0' });
    expect(writes().filter((w) => !/^(Create|Add)/.test(w))).toEqual([]);
  });

  it('fails with a NOT_FOUND error naming an unknown profile, writing nothing', async () => {
    // Prepare
    const { ec2, iam, writes, reset } = env();
    const instanceId = await runInstance(ec2);
    reset();

    // Act
    const error = await attachRole(
      { instanceId, instanceProfile: 'no-such-profile-here' },
      { ec2, iam },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', kind: 'instance-profile', id: 'no-such-profile-here' });
    expect(writes()).toEqual([]);
    expect(await associationsOf(ec2, instanceId)).toEqual([]);
  });

  it('lists every malformed input in one ValidationError before any AWS call', async () => {
    // Prepare
    const { ec2, iam, calls } = env();

    // Act
    const error = await attachRole(
      { instanceId: 'i-123', instanceProfile: 'bad name!', metadata: { hopLimit: 65 } },
      { ec2, iam },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.problems.map((p: { field: string }) => p.field)).toEqual([
      'instanceId',
      'instanceProfile',
      'metadata.hopLimit',
    ]);
    expect(error.message).toContain('i-123');
    expect(calls).toEqual([]);
  });

  it('rejects an instance ID with 9 hex digits or upper case', async () => {
    // Prepare
    const { ec2, iam, calls } = env();

    // Act
    const results = await Promise.all(
      ['i-0123456789', 'i-0123456789ABCDEF0', 'x-01234567'].map((instanceId) =>
        attachRole({ instanceId, instanceProfile: 'p' }, { ec2, iam }).catch((e) => e),
      ),
    );

    // Assess
    for (const error of results) expect(error).toBeInstanceOf(ValidationError);
    expect(calls).toEqual([]);
  });

  it('requires IMDSv2 with the given hop limit when metadata is set', async () => {
    // Prepare
    const { ec2, iam } = env();
    const profile = await createProfile(iam);
    const instanceId = await runInstance(ec2);

    // Act
    const result = await attachRole(
      { instanceId, instanceProfile: profile.name, metadata: { hopLimit: 2 } },
      { ec2, iam },
    );

    // Assess
    expect(result.metadata).toMatchObject({ httpTokens: 'required', hopLimit: 2 });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.MetadataOptions).toMatchObject({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
      HttpEndpoint: 'enabled',
    });
  });
});

describe('Function: attachRole, through the sandbox proxy', () => {
  let proxy: AwsProxy;
  beforeAll(async () => {
    proxy = await startAwsProxy({ target: inject('motoEndpoint'), seed: 7 });
  });
  afterAll(() => proxy.close());
  beforeEach(() => {
    proxy.setFaults([]);
    proxy.setPropagationDelay(0);
    proxy.resetCounts();
  });

  it('waits out a 3 s propagation delay and finishes less than 1.5 s after it ends', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const instanceId = await runInstance(ec2);
    proxy.setPropagationDelay(3000);
    const profile = await createProfile(iam);
    const visibleAt = Date.now() + 3000;
    const events: AttachEvent[] = [];

    // Act
    const result = await attachRole(
      { instanceId, instanceProfile: profile.name },
      { ec2, iam, onEvent: (e) => events.push(e) },
    );
    const doneAt = Date.now();

    // Assess
    expect(result.action).toBe('associated');
    expect(doneAt).toBeGreaterThanOrEqual(visibleAt - 100);
    expect(doneAt - visibleAt).toBeLessThan(1500);
    const refused = proxy.calls().filter((c) => c.fault === 'propagation');
    expect(refused.length).toBeGreaterThan(1);
    expect(events.some((e) => e.type === 'waiting' && e.reason.includes('InvalidParameterValue'))).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'settled' });
    expect((await associationsOf(ec2, instanceId)).length).toBe(1);
  });

  it('converges to exactly one association through throttling, 5xx bursts and a dropped connection', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const profile = await createProfile(iam);
    const instanceId = await runInstance(ec2);
    proxy.setFaults([
      { kind: 'throttle', service: 'ec2', action: 'AssociateIamInstanceProfile', nth: [1] },
      { kind: 'http500', service: 'ec2', action: 'AssociateIamInstanceProfile', nth: [1] },
      { kind: 'drop', service: 'ec2', action: 'AssociateIamInstanceProfile', nth: [2] },
      { kind: 'http503', service: 'ec2', action: /^Describe/, nth: [1, 2] },
      { kind: 'throttle', service: 'iam', action: 'GetInstanceProfile', nth: [1] },
    ]);
    proxy.resetCounts();

    // Act
    const result = await attachRole({ instanceId, instanceProfile: profile.name }, { ec2, iam });

    // Assess
    expect(result.action).toBe('associated');
    expect(proxy.calls().filter((c) => c.fault !== undefined).length).toBeGreaterThanOrEqual(5);
    proxy.setFaults([]);
    const associations = await associationsOf(ec2, instanceId);
    expect(associations.map((a) => a.IamInstanceProfile?.Arn)).toEqual([profile.arn]);
  });

  it('does not retry a non-propagation error such as InvalidInstanceID.NotFound', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const profile = await createProfile(iam);
    proxy.setPropagationDelay(3000);
    proxy.resetCounts();

    // Act
    const error = await attachRole(
      { instanceId: 'i-00000000000000000', instanceProfile: profile.name },
      { ec2, iam },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(proxy.counts()).toEqual({
      'iam:GetInstanceProfile': 1,
      'ec2:DescribeIamInstanceProfileAssociations': 1,
      'ec2:DescribeInstances': 1,
    });
  });

  it('gives up at the deadline with a PropagationTimeoutError saying what it waited for', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const instanceId = await runInstance(ec2);
    proxy.setPropagationDelay(60_000);
    const profile = await createProfile(iam);

    // Act
    const error = await attachRole(
      { instanceId, instanceProfile: profile.name },
      { ec2, iam, deadlineMs: 1500 },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(PropagationTimeoutError);
    expect(error.code).toBe('PROPAGATION_TIMEOUT');
    expect(error.message).toContain(`EC2 to see instance profile "${profile.name}"`);
    expect(error.message).toContain('Invalid IAM Instance Profile name');
    expect(await associationsOf(ec2, instanceId)).toEqual([]);
  });

  it('stops waiting as soon as its AbortSignal aborts', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    const instanceId = await runInstance(ec2);
    proxy.setPropagationDelay(60_000);
    const profile = await createProfile(iam);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 700);

    // Act
    const error = await attachRole(
      { instanceId, instanceProfile: profile.name },
      { ec2, iam, signal: controller.signal },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(AbortedError);
    expect(error.code).toBe('ABORTED');
  });
});
