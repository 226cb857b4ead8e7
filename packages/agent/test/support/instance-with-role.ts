import { seedInstance, seedRole } from '@instance-role/sandbox';

/** A role with AmazonS3ReadOnlyAccess in a profile of the same name, and an instance launched with it, in moto. */
export async function instanceWithRole(endpoint: string, role: string): Promise<string> {
  await seedRole({ endpoint, name: role, policyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] });
  return seedInstance({ endpoint, profile: role });
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
