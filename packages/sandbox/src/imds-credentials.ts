/** Role credentials as an IMDS serves them. */
export interface ImdsCredentials {
  readonly roleName: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: string;
}

/**
 * Read the role credentials an IMDS (the emulator, or a real one) serves, the way an instance does:
 * an IMDSv2 token, then the role name, then its credentials. For tests that need the very secrets an
 * instance would get, e.g. to assert they never show up in output.
 *
 * @example
 * const imds = await startImds({ instanceId, awsEndpoint: moto.endpoint });
 * const { secretAccessKey, sessionToken } = await readImdsCredentials(imds.endpoint);
 */
export async function readImdsCredentials(endpoint: string): Promise<ImdsCredentials> {
  const tokenAnswer = await fetch(`${endpoint}/latest/api/token`, {
    method: 'PUT',
    headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
  });
  const headers = { 'x-aws-ec2-metadata-token': await tokenAnswer.text() };
  const base = `${endpoint}/latest/meta-data/iam/security-credentials/`;
  const list = await fetch(base, { headers });
  if (!list.ok) throw new Error(`IMDS at ${endpoint} serves no role (HTTP ${list.status})`);
  const roleName = (await list.text()).trim();
  const creds = (await (await fetch(`${base}${roleName}`, { headers })).json()) as Record<string, string>;
  if (!creds.SecretAccessKey || !creds.Token)
    throw new Error(`IMDS at ${endpoint} served no credentials for ${roleName}`);
  return {
    roleName,
    accessKeyId: creds.AccessKeyId ?? '',
    secretAccessKey: creds.SecretAccessKey ?? '',
    sessionToken: creds.Token ?? '',
    expiration: creds.Expiration ?? '',
  };
}
