import { GetPolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { describe, expect, inject, it } from 'vitest';
import { MotoNotFoundError, startMoto } from '../src/moto.js';

describe('Function: startMoto', () => {
  it('serves AWS managed policies, as the global setup asks', async () => {
    const iam = new IAMClient({ endpoint: inject('motoEndpoint'), region: 'us-east-1' });
    const out = await iam.send(
      new GetPolicyCommand({ PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess' }),
    );
    expect(out.Policy?.PolicyName).toBe('AmazonS3ReadOnlyAccess');
  });

  it('fails with a typed error that says how to install moto when the binary is missing', async () => {
    await expect(startMoto({ command: 'moto_server_that_does_not_exist' })).rejects.toBeInstanceOf(
      MotoNotFoundError,
    );
  });
});
