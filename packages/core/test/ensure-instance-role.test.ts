import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, inject, it } from 'vitest';
import { ensureInstanceRole } from '../src/ensure-instance-role.js';
import { AbortedError, NotOwnedError, ValidationError } from '../src/errors.js';
import { parsePolicyText } from '../src/observe.js';
import type { InstanceRoleSpec } from '../src/spec.js';

const S3_READ_ONLY = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
const IAM_READ_ONLY = 'arn:aws:iam::aws:policy/IAMReadOnlyAccess';
const EC2_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** An IAM client against moto that records the name of every command it sends. */
function countingIam(): { iam: IAMClient; calls: string[]; writes: () => string[]; reset: () => void } {
  const iam = new IAMClient({ endpoint: inject('motoEndpoint') });
  const calls: string[] = [];
  iam.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return {
    iam,
    calls,
    writes: () => calls.filter((c) => !/^(Get|List)/.test(c)),
    reset: () => calls.splice(0),
  };
}

const admin = () => new IAMClient({ endpoint: inject('motoEndpoint') });
const sts = () => new STSClient({ endpoint: inject('motoEndpoint') });
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

async function roleExists(name: string): Promise<boolean> {
  try {
    await admin().send(new GetRoleCommand({ RoleName: name }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'NoSuchEntityException') return false;
    throw err;
  }
}

async function attached(name: string): Promise<string[]> {
  const out = await admin().send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
  return (out.AttachedPolicies ?? []).map((p) => p.PolicyArn!).sort();
}

async function profileRoles(name: string): Promise<string[]> {
  const out = await admin().send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
  return (out.InstanceProfile?.Roles ?? []).map((r) => r.RoleName!);
}

async function ensureFresh(spec: InstanceRoleSpec) {
  const { iam } = countingIam();
  return ensureInstanceRole(spec, { iam, sts: sts() });
}

describe('Function: ensureInstanceRole', () => {
  it('creates the role, its policies and the instance profile when nothing exists', async () => {
    // Prepare
    const name = unique('create');
    const { iam } = countingIam();

    // Act
    const result = await ensureInstanceRole(
      {
        name,
        policies: ['s3-read-only', 'dynamodb-read:orders'],
        tags: { team: 'web' },
        description: 'web servers',
      },
      { iam, sts: sts() },
    );

    // Assess
    expect(result.role).toEqual({ name, arn: `arn:aws:iam::123456789012:role/${name}` });
    expect(result.instanceProfile).toEqual({
      name,
      arn: `arn:aws:iam::123456789012:instance-profile/${name}`,
    });
    expect(result.changed).toBe(true);
    expect(await attached(name)).toEqual([S3_READ_ONLY]);
    expect(await profileRoles(name)).toEqual([name]);
    const role = (await admin().send(new GetRoleCommand({ RoleName: name }))).Role!;
    expect(role.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'managed-by', Value: 'instance-role' },
        { Key: 'team', Value: 'web' },
      ]),
    );
    expect(parsePolicyText(role.AssumeRolePolicyDocument!)).toEqual(JSON.parse(EC2_TRUST));
    const inline = await admin().send(
      new GetRolePolicyCommand({ RoleName: name, PolicyName: 'instance-role-presets' }),
    );
    expect(JSON.stringify(parsePolicyText(inline.PolicyDocument!))).toContain(
      'arn:aws:dynamodb:*:123456789012:table/orders/index/*',
    );
    expect(result.expect.role).toBe(name);
    expect(result.expect.allow.map((p) => p.action)).toEqual([
      's3:ListAllMyBuckets',
      'dynamodb:DescribeTable',
    ]);
  });

  it('makes zero writes and at most 5 reads when the role has converged', async () => {
    // Prepare
    const name = unique('idem');
    const spec: InstanceRoleSpec = {
      name,
      policies: ['s3-read-only', 's3-read:my-bucket/logs'],
      tags: { team: 'web' },
      permissionsBoundary: 'arn:aws:iam::aws:policy/ReadOnlyAccess',
      maxSessionDuration: 7200,
      description: 'web',
      prune: true,
    };
    await ensureFresh(spec);
    const counter = countingIam();

    // Act
    const result = await ensureInstanceRole(spec, { iam: counter.iam });

    // Assess
    expect(result.plan.changes).toEqual([]);
    expect(result.applied).toEqual([]);
    expect(counter.writes()).toEqual([]);
    expect(counter.calls).toContain('GetRole');
    expect(counter.calls.length).toBeLessThanOrEqual(5);
  });

  it('re-attaches a policy that was detached by hand', async () => {
    // Prepare
    const name = unique('detached');
    await ensureFresh({ name, policies: ['s3-read-only'] });
    await admin().send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: S3_READ_ONLY }));

    // Act
    const result = await ensureFresh({ name, policies: ['s3-read-only'] });

    // Assess
    expect(result.applied).toEqual([{ kind: 'attach-policy', roleName: name, policyArn: S3_READ_ONLY }]);
    expect(await attached(name)).toEqual([S3_READ_ONLY]);
  });

  it('keeps a policy attached by someone else unless prune is set', async () => {
    // Prepare
    const name = unique('extra');
    await ensureFresh({ name, policies: ['s3-read-only'] });
    await admin().send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: IAM_READ_ONLY }));

    // Act
    const kept = await ensureFresh({ name, policies: ['s3-read-only'] });
    const pruned = await ensureFresh({ name, policies: ['s3-read-only'], prune: true });

    // Assess
    expect(kept.applied).toEqual([]);
    expect(pruned.applied).toEqual([{ kind: 'detach-policy', roleName: name, policyArn: IAM_READ_ONLY }]);
    expect(await attached(name)).toEqual([S3_READ_ONLY]);
  });

  it('deletes an inline policy the spec does not list when prune is set', async () => {
    // Prepare
    const name = unique('prune-inline');
    await ensureFresh({ name });
    await admin().send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: 'by-hand',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );

    // Act
    const result = await ensureFresh({ name, prune: true });

    // Assess
    expect(result.applied).toEqual([{ kind: 'delete-inline-policy', roleName: name, policyName: 'by-hand' }]);
  });

  it('restores the trust policy when it was edited', async () => {
    // Prepare
    const name = unique('trust');
    await ensureFresh({ name });
    const lambdaTrust = EC2_TRUST.replace('ec2.amazonaws.com', 'lambda.amazonaws.com');
    await admin().send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: lambdaTrust }));

    // Act
    const result = await ensureFresh({ name });

    // Assess
    expect(result.applied.map((c) => c.kind)).toEqual(['update-trust-policy']);
    const role = (await admin().send(new GetRoleCommand({ RoleName: name }))).Role!;
    expect(parsePolicyText(role.AssumeRolePolicyDocument!)).toEqual(JSON.parse(EC2_TRUST));
  });

  it('restores an inline policy whose document was edited', async () => {
    // Prepare
    const name = unique('inline');
    await ensureFresh({ name, policies: ['s3-read:bucket-one'] });
    await admin().send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: 'instance-role-presets',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
        }),
      }),
    );

    // Act
    const result = await ensureFresh({ name, policies: ['s3-read:bucket-one'] });

    // Assess
    expect(result.applied.map((c) => c.kind)).toEqual(['put-inline-policy']);
  });

  it('adds the role back when it was removed from its profile', async () => {
    // Prepare
    const name = unique('removed');
    await ensureFresh({ name });
    await admin().send(
      new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
    );

    // Act
    const result = await ensureFresh({ name });

    // Assess
    expect(result.applied.map((c) => c.kind)).toEqual(['add-role-to-instance-profile']);
    expect(await profileRoles(name)).toEqual([name]);
  });

  it('recreates the instance profile when it was deleted', async () => {
    // Prepare
    const name = unique('noprofile');
    await ensureFresh({ name });
    await admin().send(
      new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
    );
    await admin().send(new DeleteInstanceProfileCommand({ InstanceProfileName: name }));

    // Act
    const result = await ensureFresh({ name });

    // Assess
    expect(result.applied.map((c) => c.kind)).toEqual([
      'create-instance-profile',
      'add-role-to-instance-profile',
    ]);
    expect(await profileRoles(name)).toEqual([name]);
  });

  it('restores tags that were changed, and removes extra tags only with prune', async () => {
    // Prepare
    const name = unique('tags');
    await ensureFresh({ name, tags: { team: 'web' } });
    await admin().send(
      new TagRoleCommand({
        RoleName: name,
        Tags: [
          { Key: 'team', Value: 'db' },
          { Key: 'extra', Value: 'x' },
        ],
      }),
    );

    // Act
    const restored = await ensureFresh({ name, tags: { team: 'web' } });
    const pruned = await ensureFresh({ name, tags: { team: 'web' }, prune: true });

    // Assess
    expect(restored.applied).toEqual([{ kind: 'tag-role', roleName: name, tags: { team: 'web' } }]);
    expect(pruned.applied).toEqual([{ kind: 'untag-role', roleName: name, keys: ['extra'] }]);
  });

  it('removes a foreign role from the profile', async () => {
    // Prepare
    const name = unique('foreign');
    const other = unique('other');
    await ensureFresh({ name });
    await admin().send(
      new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }),
    );
    await admin().send(new CreateRoleCommand({ RoleName: other, AssumeRolePolicyDocument: EC2_TRUST }));
    await admin().send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: other }));

    // Act
    const result = await ensureFresh({ name });

    // Assess
    expect(result.applied.map((c) => c.kind)).toEqual([
      'remove-role-from-instance-profile',
      'add-role-to-instance-profile',
    ]);
    expect(await profileRoles(name)).toEqual([name]);
  });

  it('refuses a role it did not create, naming it and the fix, and adopts it with adopt', async () => {
    // Prepare
    const name = unique('notmine');
    await admin().send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: EC2_TRUST }));
    const counter = countingIam();

    // Act
    const refused = await ensureInstanceRole({ name }, { iam: counter.iam }).catch((err: unknown) => err);
    const adopted = await ensureFresh({ name, adopt: true });

    // Assess
    expect(refused).toBeInstanceOf(NotOwnedError);
    expect((refused as NotOwnedError).code).toBe('NOT_OWNED');
    expect((refused as Error).message).toContain(name);
    expect((refused as Error).message).toContain('--adopt');
    expect(counter.writes()).toEqual([]);
    expect(adopted.applied.map((c) => c.kind)).toEqual([
      'tag-role',
      'create-instance-profile',
      'add-role-to-instance-profile',
    ]);
  });

  it('refuses an instance profile it did not create', async () => {
    // Prepare
    const name = unique('notmyprofile');
    await admin().send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));

    // Act
    const refused = await ensureFresh({ name }).catch((err: unknown) => err);

    // Assess
    expect(refused).toBeInstanceOf(NotOwnedError);
    expect((refused as NotOwnedError).kind).toBe('instance-profile');
    expect(await roleExists(name)).toBe(false);
  });

  it('leaves moto unchanged in a dry run', async () => {
    // Prepare
    const name = unique('dry');
    const counter = countingIam();

    // Act
    const result = await ensureInstanceRole(
      { name, policies: ['s3-read-only'] },
      { iam: counter.iam, dryRun: true },
    );

    // Assess
    expect(result.dryRun).toBe(true);
    expect(result.plan.changes.map((c) => c.kind)).toEqual([
      'create-role',
      'attach-policy',
      'create-instance-profile',
      'add-role-to-instance-profile',
    ]);
    expect(result.applied).toEqual([]);
    expect(counter.writes()).toEqual([]);
    expect(await roleExists(name)).toBe(false);
  });

  it('throws a ValidationError listing every problem and writes nothing when the input is bad', async () => {
    // Prepare
    const name = unique('bad');
    const counter = countingIam();

    // Act
    const err = await ensureInstanceRole(
      {
        name,
        policies: ['s3-raed-only', 'arn:aws:iam::aws:policy/AdministratorAccess'],
        maxSessionDuration: 60,
        tags: { 'aws:x': 'y' },
      },
      { iam: counter.iam },
    ).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ValidationError);
    const fields = (err as ValidationError).problems.map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining(['maxSessionDuration', 'tags.aws:x', 'policies[0]', 'policies[1]']),
    );
    expect(counter.calls).toEqual([]);
    expect(await roleExists(name)).toBe(false);
  });

  it('stops with AbortedError and writes nothing when the signal is aborted', async () => {
    // Prepare
    const name = unique('abort');
    const counter = countingIam();

    // Act
    const err = await ensureInstanceRole({ name }, { iam: counter.iam, signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(err).toBeInstanceOf(AbortedError);
    expect(counter.writes()).toEqual([]);
    expect(await roleExists(name)).toBe(false);
  });

  it('converges once when several processes ensure the same role at the same time', async () => {
    // Prepare
    const name = unique('race');
    const spec: InstanceRoleSpec = {
      name,
      policies: ['s3-read-only', 's3-read:bucket-a'],
      tags: { team: 'web' },
    };

    // Act
    const results = await Promise.all(Array.from({ length: 10 }, () => ensureFresh(spec)));

    // Assess
    expect(results.every((r) => r.role.arn.endsWith(`:role/${name}`))).toBe(true);
    expect(await profileRoles(name)).toEqual([name]);
    expect(await attached(name)).toEqual([S3_READ_ONLY]);
    expect((await ensureFresh(spec)).applied).toEqual([]);
  });
});
