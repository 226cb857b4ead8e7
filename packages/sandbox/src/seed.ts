import { EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';

/**
 * A trust policy that lets EC2 assume the role: what an instance role needs.
 *
 * @example
 * await iam.send(new CreateRoleCommand({ RoleName: 'web', AssumeRolePolicyDocument: EC2_TRUST_POLICY }));
 */
export const EC2_TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/**
 * Where to seed: an endpoint (moto or a proxy; clients get region us-east-1 and keys testing/testing),
 * or ready clients.
 *
 * @example
 * const target: SeedTarget<{ iam: IAMClient }> = { clients: { iam } };
 */
export type SeedTarget<C> =
  | { readonly endpoint: string; readonly clients?: never }
  | { readonly endpoint?: never; readonly clients: Readonly<C> };

/**
 * What {@link seedRole} made.
 *
 * @example
 * const { roleArn, profileName }: SeededRole = await seedRole({ endpoint, name: 'web' });
 */
export interface SeededRole {
  readonly roleArn: string;
  /** Absent when `profile` is false. */
  readonly profileName?: string;
  /** Absent when `profile` is false. */
  readonly profileArn?: string;
}

/**
 * Options of {@link seedRole}.
 *
 * @example
 * const options: SeedRoleOptions = { endpoint, name: 'web', policyArns: [S3_READ_ONLY] };
 */
export type SeedRoleOptions = SeedTarget<{ iam: IAMClient }> & {
  /** Name of the role and of its instance profile. */
  readonly name: string;
  /** Managed policies attached to the role. @default [] */
  readonly policyArns?: readonly string[];
  /** Also create an instance profile of the same name holding the role. @default true */
  readonly profile?: boolean;
};

/**
 * Options of {@link seedInstance}.
 *
 * @example
 * const options: SeedInstanceOptions = { endpoint, profile: 'web', stopped: true };
 */
export type SeedInstanceOptions = SeedTarget<{ ec2: EC2Client }> & {
  /** Instance profile name to launch with. @default none */
  readonly profile?: string;
  /** Stop the instance after launching it. @default false */
  readonly stopped?: boolean;
};

/**
 * Create a role trusted by EC2 with raw IAM calls (not instance-role's own code), attach managed
 * policies, and put it in an instance profile of the same name.
 *
 * @example
 * const { profileName } = await seedRole({ endpoint: moto.endpoint, name: 'web', policyArns: [S3_READ_ONLY] });
 * const instanceId = await seedInstance({ endpoint: moto.endpoint, profile: profileName });
 */
export async function seedRole(options: SeedRoleOptions): Promise<SeededRole> {
  const iam = options.clients?.iam ?? new IAMClient(configFor(options.endpoint as string));
  const { name } = options;
  const role = await iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: EC2_TRUST_POLICY }),
  );
  for (const PolicyArn of options.policyArns ?? []) {
    await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn }));
  }
  const roleArn = role.Role?.Arn as string;
  if (options.profile === false) return { roleArn };
  const made = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
  return { roleArn, profileName: name, profileArn: made.InstanceProfile?.Arn as string };
}

/**
 * Run one t3.micro instance (ami-12c6146b), optionally with an instance profile, optionally stopped.
 *
 * @example
 * const withRole = await seedInstance({ clients: { ec2 }, profile: 'web' });
 * const bare = await seedInstance({ clients: { ec2 }, stopped: true });
 */
export async function seedInstance(options: SeedInstanceOptions): Promise<string> {
  const ec2 = options.clients?.ec2 ?? new EC2Client(configFor(options.endpoint as string));
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      ...(options.profile ? { IamInstanceProfile: { Name: options.profile } } : {}),
    }),
  );
  const id = out.Instances?.[0]?.InstanceId as string;
  if (options.stopped) await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  return id;
}

function configFor(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}
