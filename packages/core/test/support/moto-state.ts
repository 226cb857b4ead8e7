import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { IAMClient, ListInstanceProfilesCommand, ListRolesCommand } from '@aws-sdk/client-iam';

/** The built CLI (the root test script builds first anyway). */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function newestMtime(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newestMtime(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

/** Build the CLI when it is missing or older than its sources. */
export function ensureCli(): string {
  const src = fileURLToPath(new URL('../../src', import.meta.url));
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < newestMtime(src))
    execFileSync('pnpm', ['--filter', '@instance-role/core', 'build'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: 'ignore',
    });
  return CLI;
}

/** Reads only: roles, instance profiles, associations and instances' metadata options, sorted. */
export async function motoState(endpoint: string): Promise<unknown> {
  const config = {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const iam = new IAMClient(config);
  const ec2 = new EC2Client(config);
  const [roles, profiles, associations, reservations] = await Promise.all([
    iam.send(new ListRolesCommand({ MaxItems: 1000 })),
    iam.send(new ListInstanceProfilesCommand({ MaxItems: 1000 })),
    ec2.send(new DescribeIamInstanceProfileAssociationsCommand({})),
    ec2.send(new DescribeInstancesCommand({})),
  ]);
  return {
    roles: (roles.Roles ?? [])
      .map((r) => ({
        name: r.RoleName,
        path: r.Path,
        max: r.MaxSessionDuration,
        boundary: r.PermissionsBoundary,
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    profiles: (profiles.InstanceProfiles ?? [])
      .map((p) => ({ name: p.InstanceProfileName, roles: (p.Roles ?? []).map((r) => r.RoleName) }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    associations: (associations.IamInstanceProfileAssociations ?? [])
      .map((a) => ({ instance: a.InstanceId, profile: a.IamInstanceProfile?.Arn, state: a.State }))
      .sort((a, b) => String(a.instance).localeCompare(String(b.instance))),
    instances: (reservations.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => ({ id: i.InstanceId, state: i.State?.Name, metadata: i.MetadataOptions }))
      .sort((a, b) => String(a.id).localeCompare(String(b.id))),
  };
}

/** True for an AWS API action that only reads. */
export const isRead = (action: string) => /^(Get|List|Describe|Simulate|Decode)/.test(action);
