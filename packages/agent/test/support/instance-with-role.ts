import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** A role with AmazonS3ReadOnlyAccess in a profile of the same name, and an instance launched with it, in moto. */
export async function instanceWithRole(endpoint: string, role: string): Promise<string> {
  const config = {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const iam = new IAMClient(config);
  await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: TRUST }));
  await iam.send(
    new AttachRolePolicyCommand({
      RoleName: role,
      PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    }),
  );
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: role }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: role, RoleName: role }));
  const out = await new EC2Client(config).send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      IamInstanceProfile: { Name: role },
    }),
  );
  return out.Instances?.[0]?.InstanceId as string;
}

/** Read the role credentials an IMDS (emulator) serves, the way an instance would: the canary secrets. */
export async function servedSecrets(
  endpoint: string,
): Promise<{ secretAccessKey: string; sessionToken: string; accessKeyId: string }> {
  const token = await (
    await fetch(`${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    })
  ).text();
  const headers = { 'x-aws-ec2-metadata-token': token };
  const base = `${endpoint}/latest/meta-data/iam/security-credentials/`;
  const role = (await (await fetch(base, { headers })).text()).trim();
  const creds = (await (await fetch(`${base}${role}`, { headers })).json()) as Record<string, string>;
  return {
    accessKeyId: creds.AccessKeyId as string,
    secretAccessKey: creds.SecretAccessKey as string,
    sessionToken: creds.Token as string,
  };
}

/** A line of a JavaScript stack trace. */
export const STACK_LINE = /\n\s+at .+:\d+:\d+/;
