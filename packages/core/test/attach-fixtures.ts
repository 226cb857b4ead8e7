import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { seedInstance, seedRole } from '@instance-role/sandbox';

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
  const { profileArn } = await seedRole({ clients: { iam }, name });
  return { name, arn: profileArn as string };
}

export function runInstance(ec2: EC2Client, options: { profile?: string; stopped?: boolean } = {}) {
  return seedInstance({ clients: { ec2 }, ...options });
}
