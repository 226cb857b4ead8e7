import { EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** SDK clients against `endpoint`; `calls` lists every command sent (a middleware observes, nothing is faked). */
export function clientsFor(endpoint: string) {
  const config = { endpoint, region: 'us-east-1', maxAttempts: 4 };
  const ec2 = new EC2Client(config);
  const iam = new IAMClient(config);
  const calls: string[] = [];
  const record = (name: string | undefined) => calls.push(name?.replace(/Command$/, '') ?? '?');
  ec2.middlewareStack.add(
    (next, context) => (args) => {
      record(context.commandName);
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  iam.middlewareStack.add(
    (next, context) => (args) => {
      record(context.commandName);
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  const writes = () => calls.filter((c) => !/^(Describe|Get|List)/.test(c));
  return { ec2, iam, calls, writes, reset: () => calls.splice(0) };
}

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

/** A role and an instance profile holding it; returns the profile's name and ARN. */
export async function createProfile(iam: IAMClient, name = unique('ir-attach')) {
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }));
  const out = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
  return { name, arn: out.InstanceProfile?.Arn as string };
}

export async function runInstance(ec2: EC2Client, options: { profile?: string; stopped?: boolean } = {}) {
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
