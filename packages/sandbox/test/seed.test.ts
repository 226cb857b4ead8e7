import { randomUUID } from 'node:crypto';
import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { describe, expect, inject, it } from 'vitest';
import { EC2_TRUST_POLICY, seedInstance, seedRole } from '../src/seed.js';

const S3_READ = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
const IAM_READ = 'arn:aws:iam::aws:policy/IAMReadOnlyAccess';
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

function aws() {
  const config = { endpoint: inject('motoEndpoint'), region: 'us-east-1' };
  return { iam: new IAMClient(config), ec2: new EC2Client(config) };
}

describe('Function: seedRole', () => {
  it('creates a role trusted by EC2 with its policies, in a profile of the same name', async () => {
    // Prepare
    const { iam } = aws();
    const name = unique('seed-role');
    // Act
    const seeded = await seedRole({
      endpoint: inject('motoEndpoint'),
      name,
      policyArns: [S3_READ, IAM_READ],
    });
    // Assess
    const role = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;
    const trust = JSON.parse(decodeURIComponent(role?.AssumeRolePolicyDocument ?? ''));
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
    const profile = (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })))
      .InstanceProfile;
    expect(trust).toEqual(JSON.parse(EC2_TRUST_POLICY));
    expect(trust.Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn).sort()).toEqual([S3_READ, IAM_READ].sort());
    expect(profile?.Roles?.map((r) => r.RoleName)).toEqual([name]);
    expect(seeded).toEqual({ roleArn: role?.Arn, profileName: name, profileArn: profile?.Arn });
  });

  it('creates only the role when profile is false, with ready clients', async () => {
    // Prepare
    const { iam } = aws();
    const name = unique('seed-bare');
    // Act
    const seeded = await seedRole({ clients: { iam }, name, profile: false });
    // Assess
    const profile = await iam
      .send(new GetInstanceProfileCommand({ InstanceProfileName: name }))
      .catch((e: Error) => e);
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
    expect(seeded.roleArn).toMatch(new RegExp(`:role/${name}$`));
    expect(seeded.profileName).toBeUndefined();
    expect(profile).toBeInstanceOf(NoSuchEntityException);
    expect(attached.AttachedPolicies).toEqual([]);
  });
});

describe('Function: seedInstance', () => {
  it('runs an instance associated with the profile', async () => {
    // Prepare
    const { ec2 } = aws();
    const { profileArn, profileName } = await seedRole({
      endpoint: inject('motoEndpoint'),
      name: unique('seed-i'),
    });
    // Act
    const instanceId = await seedInstance({ clients: { ec2 }, profile: profileName });
    // Assess
    const associations = await ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [instanceId] }],
      }),
    );
    const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })))
      .Reservations?.[0]?.Instances?.[0];
    expect(associations.IamInstanceProfileAssociations?.map((a) => a.IamInstanceProfile?.Arn)).toEqual([
      profileArn,
    ]);
    expect(instance?.InstanceType).toBe('t3.micro');
    expect(instance?.ImageId).toBe('ami-12c6146b');
  });

  it('runs a stopped instance without a profile', async () => {
    // Prepare
    const { ec2 } = aws();
    // Act
    const instanceId = await seedInstance({ endpoint: inject('motoEndpoint'), stopped: true });
    // Assess
    const associations = await ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [{ Name: 'instance-id', Values: [instanceId] }],
      }),
    );
    const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })))
      .Reservations?.[0]?.Instances?.[0];
    expect(associations.IamInstanceProfileAssociations ?? []).toEqual([]);
    expect(instance?.State?.Name).toBe('stopped');
  });
});
