import { DescribeIamInstanceProfileAssociationsCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { type AwsProxy, startAwsProxy } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ResourceNotFoundError, ValidationError } from '../src/errors.js';
import { launchWithRole, withInstanceRole } from '../src/launch.js';
import { clientsFor, createProfile } from './attach-fixtures.js';

const IMDSV2 = { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' };
const BASE = { ImageId: 'ami-12c6146b', InstanceType: 't3.micro' as const, MinCount: 1, MaxCount: 1 };

describe('Function: withInstanceRole', () => {
  it('adds the profile by name and requires IMDSv2 with hop limit 1', () => {
    // Prepare
    const input = { ...BASE, KeyName: 'k' };

    // Act
    const out = withInstanceRole(input, { instanceProfile: 'web' });

    // Assess
    expect(out).toEqual({
      ...input,
      IamInstanceProfile: { Name: 'web' },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
    });
    expect(input).not.toHaveProperty('IamInstanceProfile');
  });

  it('uses hop limit 2 for containers and the ARN form when given an ARN', () => {
    // Prepare
    const arn = 'arn:aws:iam::123456789012:instance-profile/team/web';

    // Act
    const out = withInstanceRole(BASE, { instanceProfile: arn, containers: true });

    // Assess
    expect(out.IamInstanceProfile).toEqual({ Arn: arn });
    expect(out.MetadataOptions?.HttpPutResponseHopLimit).toBe(2);
  });

  it('lets an explicit hopLimit win and rejects one outside 1..64', () => {
    // Prepare
    const ok = { instanceProfile: 'web', containers: true, hopLimit: 3 };

    // Act
    const out = withInstanceRole(BASE, ok);
    const error = (() => {
      try {
        return withInstanceRole(BASE, { instanceProfile: 'has space', hopLimit: 100 });
      } catch (e) {
        return e;
      }
    })() as ValidationError;

    // Assess
    expect(out.MetadataOptions?.HttpPutResponseHopLimit).toBe(3);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.problems.map((p) => p.field)).toEqual(['instanceProfile', 'hopLimit']);
  });
});

describe('Function: launchWithRole', () => {
  it('launches with the role and IMDSv2 required, as DescribeInstances shows', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(inject('motoEndpoint'));
    const profile = await createProfile(iam);

    // Act
    const result = await launchWithRole(
      { ...BASE, MinCount: 2, MaxCount: 2 },
      { instanceProfile: profile.name },
      { ec2, iam },
    );

    // Assess
    expect(result.instanceIds).toHaveLength(2);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...result.instanceIds] }));
    const instances = described.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    expect(instances.map((i) => i.MetadataOptions)).toEqual(
      [0, 1].map(() => expect.objectContaining(IMDSV2)),
    );
    const associations = await ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [...result.instanceIds] }],
      }),
    );
    // moto 5.2.1 associates the profile with the first instance of a multi-instance launch only
    expect(associations.IamInstanceProfileAssociations?.[0]?.IamInstanceProfile?.Arn).toBe(profile.arn);
    expect(associations.IamInstanceProfileAssociations?.[0]?.InstanceId).toBe(result.instanceIds[0]);
  });

  it('fails with NOT_FOUND for an unknown profile without launching', async () => {
    // Prepare
    const { ec2, iam, calls } = clientsFor(inject('motoEndpoint'));

    // Act
    const error = await launchWithRole(
      BASE,
      { instanceProfile: 'no-such-launch-profile' },
      { ec2, iam },
    ).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error.message).toContain('no-such-launch-profile');
    expect(calls).not.toContain('RunInstances');
  });
});

describe('Function: launchWithRole, through the sandbox proxy', () => {
  let proxy: AwsProxy;
  beforeAll(async () => {
    proxy = await startAwsProxy({ target: inject('motoEndpoint') });
  });
  afterAll(() => proxy.close());

  it('launches exactly once after a freshly created profile becomes visible to EC2', async () => {
    // Prepare
    const { ec2, iam } = clientsFor(proxy.endpoint);
    proxy.setPropagationDelay(1500);
    const profile = await createProfile(iam);
    proxy.resetCounts();

    // Act
    const result = await launchWithRole(BASE, { instanceProfile: profile.name }, { ec2, iam });

    // Assess
    const runs = proxy.calls().filter((c) => c.action === 'RunInstances');
    expect(runs.filter((c) => c.fault === 'propagation').length).toBeGreaterThan(0);
    expect(runs.filter((c) => c.status === 200)).toHaveLength(1);
    expect(result.instanceIds).toHaveLength(1);
    const associations = await ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [...result.instanceIds] }],
      }),
    );
    expect(associations.IamInstanceProfileAssociations?.[0]?.IamInstanceProfile?.Arn).toBe(profile.arn);
  });
});
