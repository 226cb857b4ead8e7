import { randomUUID } from 'node:crypto';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, inject, it } from 'vitest';
import { startImds } from '../src/imds.js';
import { readImdsCredentials } from '../src/imds-credentials.js';
import { seedInstance, seedRole } from '../src/seed.js';

describe('Function: readImdsCredentials', () => {
  it('reads the credentials of the role associated with the instance, which AWS accepts', async () => {
    // Prepare
    const endpoint = inject('motoEndpoint');
    const name = `imds-creds-${randomUUID().slice(0, 8)}`;
    const { profileName } = await seedRole({ endpoint, name });
    const instanceId = await seedInstance({ endpoint, profile: profileName });
    const imds = await startImds({ instanceId, awsEndpoint: endpoint });
    try {
      // Act
      const creds = await readImdsCredentials(imds.endpoint);
      const { accessKeyId, secretAccessKey, sessionToken } = creds;
      const credentials = { accessKeyId, secretAccessKey, sessionToken };
      const sts = new STSClient({ endpoint, region: 'us-east-1', credentials });
      const identity = await sts.send(new GetCallerIdentityCommand({}));

      // Assess
      expect(creds.roleName).toBe(name);
      expect(creds.sessionToken.length).toBeGreaterThan(0);
      expect(identity.Arn).toMatch(new RegExp(`:assumed-role/${name}/${instanceId}$`));
    } finally {
      await imds.close();
    }
  });

  it('says so when the instance has no role', async () => {
    // Prepare
    const endpoint = inject('motoEndpoint');
    const instanceId = await seedInstance({ endpoint });
    const imds = await startImds({ instanceId, awsEndpoint: endpoint });
    try {
      // Act / Assess
      await expect(readImdsCredentials(imds.endpoint)).rejects.toThrow(/serves no role \(HTTP 404\)/);
    } finally {
      await imds.close();
    }
  });
});
