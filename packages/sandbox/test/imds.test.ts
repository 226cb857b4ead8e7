import { randomUUID } from 'node:crypto';
import {
  AssociateIamInstanceProfileCommand,
  EC2Client,
  ReplaceIamInstanceProfileAssociationCommand,
} from '@aws-sdk/client-ec2';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ImdsEmulator, startImds } from '../src/imds.js';
import { startMoto } from '../src/moto.js';
import { seedInstance, seedRole } from '../src/seed.js';

const TOKEN_TTL = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN = 'x-aws-ec2-metadata-token';

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function token(imds: ImdsEmulator, ttl = '60'): Promise<string> {
  const res = await fetch(`${imds.endpoint}/latest/api/token`, {
    method: 'PUT',
    headers: { [TOKEN_TTL]: ttl },
  });
  expect(res.status).toBe(200);
  return res.text();
}

async function get(
  imds: ImdsEmulator,
  path: string,
  tok?: string,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`${imds.endpoint}${path}`, { headers: tok ? { [TOKEN]: tok } : {} });
  return { status: res.status, body: await res.text() };
}

async function callerArn(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  endpoint: string,
) {
  const sts = new STSClient({ endpoint, region: 'us-east-1', credentials });
  return (await sts.send(new GetCallerIdentityCommand({}))).Arn;
}

describe('Function: startImds', () => {
  const endpoint = inject('motoEndpoint');
  const roleName = unique('imds-role');
  let instanceId: string;
  let imds: ImdsEmulator;

  beforeAll(async () => {
    await seedRole({ endpoint, name: roleName });
    instanceId = await seedInstance({ endpoint, profile: roleName });
    imds = await startImds({ instanceId, awsEndpoint: endpoint });
  });
  afterEach(() =>
    imds.update({ httpTokens: 'required', hopLimitExceeded: false, userData: undefined, faults: undefined }),
  );
  afterAll(() => imds.close());

  it('serves the role credentials of the associated profile for a valid IMDSv2 token', async () => {
    // Prepare
    const tok = await token(imds);
    // Act
    const list = await get(imds, '/latest/meta-data/iam/security-credentials/', tok);
    const creds = JSON.parse(
      (await get(imds, `/latest/meta-data/iam/security-credentials/${list.body}`, tok)).body,
    );
    const arn = await callerArn(
      { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey, sessionToken: creds.Token },
      endpoint,
    );
    // Assess
    expect(list).toEqual({ status: 200, body: roleName });
    expect(creds).toMatchObject({ Code: 'Success', Type: 'AWS-HMAC' });
    expect(Date.parse(creds.Expiration)).toBeGreaterThan(Date.now());
    expect(arn).toMatch(new RegExp(`:assumed-role/${roleName}/${instanceId}$`));
  });

  it('gives credentials to the SDK’s own IMDS provider when AWS_EC2_METADATA_SERVICE_ENDPOINT points at it', async () => {
    // Prepare
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.endpoint;
    // Act
    const creds = await fromInstanceMetadata({ ec2MetadataV1Disabled: true, timeout: 1000 })();
    const arn = await callerArn(creds, endpoint);
    const s3 = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: fromInstanceMetadata(),
    });
    const buckets = await s3.send(new ListBucketsCommand({}));
    // Assess
    expect(arn).toMatch(new RegExp(`:assumed-role/${roleName}/${instanceId}$`));
    expect(buckets.$metadata.httpStatusCode).toBe(200);
    delete process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  });

  it('answers instance facts, the identity document and iam/info', async () => {
    // Prepare
    const tok = await token(imds);
    // Act
    const id = await get(imds, '/latest/meta-data/instance-id', tok);
    const region = await get(imds, '/latest/meta-data/placement/region', tok);
    const az = await get(imds, '/latest/meta-data/placement/availability-zone', tok);
    const doc = JSON.parse((await get(imds, '/latest/dynamic/instance-identity/document', tok)).body);
    const info = JSON.parse((await get(imds, '/latest/meta-data/iam/info', tok)).body);
    // Assess
    expect(id.body).toBe(instanceId);
    expect(region.body).toBe('us-east-1');
    expect(az.body).toMatch(/^us-east-1[a-f]$/);
    expect(doc).toMatchObject({
      instanceId,
      region: 'us-east-1',
      accountId: expect.stringMatching(/^\d{12}$/),
    });
    expect(info).toMatchObject({
      Code: 'Success',
      InstanceProfileArn: expect.stringContaining(`instance-profile/${roleName}`),
    });
    expect(info.InstanceProfileId).toMatch(/^\w+$/);
  });

  it('refuses a GET without a token with 401 when tokens are required and answers it when optional', async () => {
    // Act
    const required = await get(imds, '/latest/meta-data/instance-id');
    imds.update({ httpTokens: 'optional' });
    const optional = await get(imds, '/latest/meta-data/instance-id');
    const badToken = await get(imds, '/latest/meta-data/instance-id', 'not-a-token');
    // Assess
    expect(required.status).toBe(401);
    expect(optional).toEqual({ status: 200, body: instanceId });
    expect(badToken.status).toBe(401);
  });

  it('validates the token TTL and refuses a forwarded token request', async () => {
    // Act
    const put = (headers: Record<string, string>) =>
      fetch(`${imds.endpoint}/latest/api/token`, { method: 'PUT', headers }).then((r) => r.status);
    const statuses = [
      await put({}),
      await put({ [TOKEN_TTL]: '0' }),
      await put({ [TOKEN_TTL]: '21601' }),
      await put({ [TOKEN_TTL]: 'abc' }),
      await put({ [TOKEN_TTL]: '21600' }),
      await put({ [TOKEN_TTL]: '60', 'x-forwarded-for': '10.0.0.1' }),
    ];
    // Assess
    expect(statuses).toEqual([400, 400, 400, 400, 200, 403]);
  });

  it('refuses a token once it has expired', async () => {
    // Prepare
    imds.update({ faults: { tokenTtlOverrideSeconds: 1 } });
    const tok = await token(imds, '21600');
    const fresh = await get(imds, '/latest/meta-data/instance-id', tok);
    // Act
    await new Promise((r) => setTimeout(r, 1100));
    const stale = await get(imds, '/latest/meta-data/instance-id', tok);
    // Assess
    expect(fresh.status).toBe(200);
    expect(stale.status).toBe(401);
  });

  it('never answers a token PUT in hop-limit mode while v1 GETs still answer', async () => {
    // Prepare
    imds.update({ hopLimitExceeded: true, httpTokens: 'optional' });
    // Act
    const put = await fetch(`${imds.endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { [TOKEN_TTL]: '60' },
      signal: AbortSignal.timeout(300),
    }).then(
      (r) => r.status,
      (e: Error) => e.name,
    );
    const v1 = await get(imds, '/latest/meta-data/instance-id');
    // Assess
    expect(put).toBe('TimeoutError');
    expect(v1.status).toBe(200);
  });

  it('serves user-data when set and 404 when not', async () => {
    // Prepare
    const tok = await token(imds);
    const none = await get(imds, '/latest/user-data', tok);
    // Act
    imds.update({ userData: '#!/bin/bash\necho hi\n' });
    const some = await get(imds, '/latest/user-data', tok);
    // Assess
    expect(none.status).toBe(404);
    expect(some).toEqual({ status: 200, body: '#!/bin/bash\necho hi\n' });
  });

  it('misbehaves on request: 500s, malformed or expired credentials, slow answers', async () => {
    // Prepare
    const tok = await token(imds);
    const path = `/latest/meta-data/iam/security-credentials/${roleName}`;
    // Act
    imds.update({ faults: { status500: true } });
    const failing = await get(imds, path, tok);
    imds.update({ faults: { malformedCredentials: true } });
    const malformed = await get(imds, path, tok);
    imds.update({ faults: { expiredCredentials: true } });
    const expired = JSON.parse((await get(imds, path, tok)).body);
    imds.update({ faults: { slowMs: 200 } });
    const started = Date.now();
    const slow = await get(imds, '/latest/meta-data/instance-id', tok);
    const slowMs = Date.now() - started;
    // Assess
    expect(failing.status).toBe(500);
    expect(() => JSON.parse(malformed.body)).toThrow();
    expect(Date.parse(expired.Expiration)).toBeLessThan(Date.now());
    expect(slow.status).toBe(200);
    expect(slowMs).toBeGreaterThanOrEqual(190);
  });

  it('counts requests', async () => {
    // Prepare
    const before = imds.requests();
    // Act
    await get(imds, '/latest/meta-data/instance-id');
    await get(imds, '/latest/meta-data/instance-id');
    // Assess
    expect(imds.requests() - before).toBe(2);
  });

  it('answers cached paths quickly over a keep-alive connection (logs p50, asserts no time)', async () => {
    // Prepare
    const tok = await token(imds);
    const path = `/latest/meta-data/iam/security-credentials/${roleName}`;
    const times: Record<string, number[]> = { 'instance-id': [], credentials: [] };
    // Act
    for (let i = 0; i < 200; i++) {
      let t = performance.now();
      await get(imds, '/latest/meta-data/instance-id', tok);
      times['instance-id']?.push(performance.now() - t);
      t = performance.now();
      await get(imds, path, tok);
      times.credentials?.push(performance.now() - t);
    }
    const uncached = await startImds({ instanceId, awsEndpoint: endpoint, associationTtlMs: 0 });
    const uncachedToken = await token(uncached);
    const recheck: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await get(uncached, path, uncachedToken);
      recheck.push(performance.now() - t);
    }
    await uncached.close();
    // Assess
    const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(3);
    console.log(
      `IMDS credentials p50 when re-reading the association from moto on every request: ${p50(recheck)} ms`,
    );
    console.log(
      `IMDS emulator p50 over fetch keep-alive: instance-id ${p50(times['instance-id'] ?? [])} ms, credentials ${p50(times.credentials ?? [])} ms`,
    );
    expect(times['instance-id']).toHaveLength(200);
  });
});

describe('Function: startImds (association changes)', () => {
  const endpoint = inject('motoEndpoint');

  it('answers 404 on security-credentials/ and iam/info when no profile is associated', async () => {
    // Prepare
    const instanceId = await seedInstance({ endpoint });
    const imds = await startImds({ instanceId, awsEndpoint: endpoint });
    const tok = await token(imds);
    // Act
    const list = await get(imds, '/latest/meta-data/iam/security-credentials/', tok);
    const info = await get(imds, '/latest/meta-data/iam/info', tok);
    await imds.close();
    // Assess
    expect(list.status).toBe(404);
    expect(info.status).toBe(404);
  });

  it('serves the new role’s credentials after the association is replaced', async () => {
    // Prepare
    const [first, second] = [unique('first'), unique('second')];
    await seedRole({ endpoint, name: first });
    await seedRole({ endpoint, name: second });
    const instanceId = await seedInstance({ endpoint });
    const ec2 = new EC2Client({ endpoint, region: 'us-east-1' });
    const assoc = await ec2.send(
      new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: { Name: first } }),
    );
    const imds = await startImds({ instanceId, awsEndpoint: endpoint, associationTtlMs: 0 });
    const tok = await token(imds);
    const before = await get(imds, '/latest/meta-data/iam/security-credentials/', tok);
    // Act
    await ec2.send(
      new ReplaceIamInstanceProfileAssociationCommand({
        AssociationId: assoc.IamInstanceProfileAssociation?.AssociationId,
        IamInstanceProfile: { Name: second },
      }),
    );
    const after = await get(imds, '/latest/meta-data/iam/security-credentials/', tok);
    const creds = JSON.parse(
      (await get(imds, `/latest/meta-data/iam/security-credentials/${second}`, tok)).body,
    );
    const arn = await callerArn(
      { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey, sessionToken: creds.Token },
      endpoint,
    );
    const oldRole = await get(imds, `/latest/meta-data/iam/security-credentials/${first}`, tok);
    await imds.close();
    // Assess
    expect(before.body).toBe(first);
    expect(after.body).toBe(second);
    expect(arn).toMatch(new RegExp(`:assumed-role/${second}/${instanceId}$`));
    expect(oldRole.status).toBe(404);
  });

  it('keeps serving credentials fetched before moto’s enforcement was turned on', async () => {
    // Prepare
    const moto = await startMoto();
    try {
      const name = unique('enforced');
      await seedRole({ endpoint: moto.endpoint, name });
      const instanceId = await seedInstance({ endpoint: moto.endpoint, profile: name });
      const imds = await startImds({ instanceId, awsEndpoint: moto.endpoint, associationTtlMs: 0 });
      await moto.setEnforcement(true);
      const tok = await token(imds);
      // Act
      const list = await get(imds, '/latest/meta-data/iam/security-credentials/', tok);
      const creds = await get(imds, `/latest/meta-data/iam/security-credentials/${name}`, tok);
      await imds.close();
      // Assess
      expect(list).toEqual({ status: 200, body: name });
      expect(JSON.parse(creds.body)).toMatchObject({ Code: 'Success' });
    } finally {
      await moto.stop();
    }
  });
});
