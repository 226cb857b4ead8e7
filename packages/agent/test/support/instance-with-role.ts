import { readImdsCredentials, seedInstance, seedRole } from '@instance-role/sandbox';

/** A role with AmazonS3ReadOnlyAccess in a profile of the same name, and an instance launched with it, in moto. */
export async function instanceWithRole(endpoint: string, role: string): Promise<string> {
  await seedRole({ endpoint, name: role, policyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] });
  return seedInstance({ endpoint, profile: role });
}

/** Read the role credentials an IMDS (emulator) serves, the way an instance would: the canary secrets. */
export async function servedSecrets(
  endpoint: string,
): Promise<{ secretAccessKey: string; sessionToken: string; accessKeyId: string }> {
  const { accessKeyId, secretAccessKey, sessionToken } = await readImdsCredentials(endpoint);
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** A line of a JavaScript stack trace. */
export const STACK_LINE = /\n\s+at .+:\d+:\d+/;
