// Untimed setup through the AWS SDK: roles, profiles, associations, credentials from an IMDS emulator.
import { sdk } from '../lib.mjs';

export const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
export const S3_READ_ONLY = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';

/** Role + managed policy + instance profile named `name` (the same job as peers/ensure-attach.sh, minus the associate). */
export async function createRoleAndProfile(iam, name, policyArn = S3_READ_ONLY) {
  const m = sdk('client-iam');
  await iam.send(new m.CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST_POLICY }));
  await iam.send(new m.AttachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn }));
  await iam.send(new m.CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam.send(new m.AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
}

export async function associate(ec2, instanceId, profileName) {
  const { AssociateIamInstanceProfileCommand } = sdk('client-ec2');
  await ec2.send(
    new AssociateIamInstanceProfileCommand({
      InstanceId: instanceId,
      IamInstanceProfile: { Name: profileName },
    }),
  );
}

/** The profile name currently associated with an instance, or undefined. */
export async function associatedProfile(ec2, instanceId) {
  const { DescribeIamInstanceProfileAssociationsCommand } = sdk('client-ec2');
  const out = await ec2.send(
    new DescribeIamInstanceProfileAssociationsCommand({
      Filters: [{ Name: 'instance-id', Values: [instanceId] }],
    }),
  );
  const arn = out.IamInstanceProfileAssociations?.find((a) => a.State !== 'disassociated')?.IamInstanceProfile
    ?.Arn;
  return arn?.slice(arn.lastIndexOf('/') + 1);
}

/** Role credentials as the instance sees them, read from an IMDSv2 endpoint. */
export async function imdsCredentials(endpoint) {
  const token = await (
    await fetch(`${endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' },
    })
  ).text();
  const headers = { 'x-aws-ec2-metadata-token': token };
  const base = `${endpoint}/latest/meta-data/iam/security-credentials/`;
  const role = (await (await fetch(base, { headers })).text()).trim().split('\n')[0];
  const creds = await (await fetch(`${base}${role}`, { headers })).json();
  return {
    AWS_ACCESS_KEY_ID: creds.AccessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.SecretAccessKey,
    AWS_SESSION_TOKEN: creds.Token,
  };
}

/** Split proxy counts into reads (Get/List/Describe/Simulate...) and writes. */
export function readsAndWrites(counts) {
  let reads = 0;
  let writes = 0;
  for (const [key, n] of Object.entries(counts)) {
    const action = key.slice(key.indexOf(':') + 1);
    if (/^(Get|List|Describe|Simulate|Head|Lookup)/.test(action)) reads += n;
    else writes += n;
  }
  return { reads, writes };
}

export function countsText(counts) {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}
