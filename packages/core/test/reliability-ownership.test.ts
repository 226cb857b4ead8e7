import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  type IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, inject, it } from 'vitest';
import { ensureInstanceRole } from '../src/ensure-instance-role.js';
import { NotOwnedError } from '../src/errors.js';
import { OWNER_TAG } from '../src/spec.js';
import { clientsAt, roleFacts } from './support/private-aws.js';

const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const THEIRS = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const OURS = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
const INLINE = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }],
});
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
const clients = () => clientsAt(inject('motoEndpoint'));

/** A role someone else made: Lambda trust, their policies and tags, optionally another tool's owner tag. */
async function foreignRole(iam: IAMClient, name: string, tags: Record<string, string> = { team: 'data' }) {
  await iam.send(
    new CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: LAMBDA_TRUST,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: THEIRS }));
  await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'theirs', PolicyDocument: INLINE }));
}

async function foreignProfile(iam: IAMClient, name: string, role?: string) {
  await iam.send(
    new CreateInstanceProfileCommand({ InstanceProfileName: name, Tags: [{ Key: 'team', Value: 'data' }] }),
  );
  if (role)
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: role }));
}

async function profileFacts(iam: IAMClient, name: string) {
  const p = (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }))).InstanceProfile!;
  return { roles: (p.Roles ?? []).map((r) => r.RoleName), tags: p.Tags ?? [] };
}

async function exists(call: () => Promise<unknown>): Promise<boolean> {
  return call().then(
    () => true,
    (err: Error) => {
      if (err.name === 'NoSuchEntityException') return false;
      throw err;
    },
  );
}

describe('Function: ensureInstanceRole (ownership)', () => {
  it.each([
    ['without any ownership tag', { team: 'data' }],
    ['tagged managed-by=terraform', { team: 'data', [OWNER_TAG.key]: 'terraform' }],
  ])('changes nothing on a role of that name %s without adopt', async (_, tags) => {
    // Prepare
    const { iam, sts } = clients();
    const name = unique('theirs');
    await foreignRole(iam, name, tags);
    const before = await roleFacts(iam, name);

    // Act
    const err = await ensureInstanceRole(
      { name, policies: ['s3-read-only'], prune: true },
      { iam, sts },
    ).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(NotOwnedError);
    expect((err as Error).message).toContain(name);
    expect(await roleFacts(iam, name)).toEqual(before);
    expect(before.managed).toEqual([THEIRS]);
    expect(await exists(() => iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })))).toBe(
      false,
    );
  });

  it('changes nothing on an instance profile of that name it did not create, and creates no role', async () => {
    // Prepare
    const { iam, sts } = clients();
    const name = unique('their-profile');
    const other = unique('their-role');
    await foreignRole(iam, other);
    await foreignProfile(iam, name, other);
    const before = await profileFacts(iam, name);

    // Act
    const err = await ensureInstanceRole({ name, policies: ['s3-read-only'] }, { iam, sts }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(err).toBeInstanceOf(NotOwnedError);
    expect(await profileFacts(iam, name)).toEqual(before);
    expect(await exists(() => iam.send(new GetRoleCommand({ RoleName: name })))).toBe(false);
  });

  it('adopts with adopt: tags and manages the role and profile, and keeps their policies without prune', async () => {
    // Prepare
    const { iam, sts } = clients();
    const name = unique('adopted');
    await foreignRole(iam, name);
    await foreignProfile(iam, name);

    // Act
    const result = await ensureInstanceRole({ name, policies: ['s3-read-only'], adopt: true }, { iam, sts });

    // Assess
    const after = await roleFacts(iam, name);
    expect(result.changed).toBe(true);
    expect(after.tags).toEqual({ team: 'data', [OWNER_TAG.key]: OWNER_TAG.value });
    expect(JSON.parse(after.trust).Statement[0].Principal.Service).toBe('ec2.amazonaws.com');
    expect(after.managed).toEqual([THEIRS, OURS].sort());
    expect(after.inline).toEqual(['theirs']);
    const profile = await profileFacts(iam, name);
    expect(profile.roles).toEqual([name]);
    expect(profile.tags).toContainEqual({ Key: OWNER_TAG.key, Value: OWNER_TAG.value });
    expect(
      (await ensureInstanceRole({ name, policies: ['s3-read-only'] }, { iam, sts })).plan.changes,
    ).toEqual([]);
  });

  it('removes their policies and tags only with adopt and prune', async () => {
    // Prepare
    const { iam, sts } = clients();
    const name = unique('pruned');
    await foreignRole(iam, name);

    // Act
    await ensureInstanceRole({ name, policies: ['s3-read-only'], adopt: true, prune: true }, { iam, sts });

    // Assess
    const after = await roleFacts(iam, name);
    expect(after.managed).toEqual([OURS]);
    expect(after.inline).toEqual([]);
    expect(after.tags).toEqual({ [OWNER_TAG.key]: OWNER_TAG.value });
  });
});
