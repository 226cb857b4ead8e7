import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, inject, it } from 'vitest';
import { ResourceNotFoundError, ValidationError } from '../src/errors.js';
import { requireImdsV2 } from '../src/imds-options.js';
import { clientsFor, runInstance } from './attach-fixtures.js';

describe('Function: requireImdsV2', () => {
  it('requires session tokens on a running instance with hop limit 1 by default', async () => {
    // Prepare
    const { ec2 } = clientsFor(inject('motoEndpoint'));
    const instanceId = await runInstance(ec2);

    // Act
    const result = await requireImdsV2(instanceId, { ec2 });

    // Assess
    expect(result).toMatchObject({ instanceId, httpTokens: 'required', hopLimit: 1 });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const instance = described.Reservations?.[0]?.Instances?.[0];
    expect(instance?.State?.Name).toBe('running');
    expect(instance?.MetadataOptions).toMatchObject({
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
      HttpEndpoint: 'enabled',
    });
  });

  it('sets hop limit 2 for an instance that runs containers', async () => {
    // Prepare
    const { ec2 } = clientsFor(inject('motoEndpoint'));
    const instanceId = await runInstance(ec2);

    // Act
    await requireImdsV2(instanceId, { ec2, hopLimit: 2 });

    // Assess
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.MetadataOptions?.HttpPutResponseHopLimit).toBe(2);
  });

  it('rejects a hop limit outside 1..64 and a malformed ID before any call', async () => {
    // Prepare
    const { ec2, calls } = clientsFor(inject('motoEndpoint'));

    // Act
    const error = await requireImdsV2('i-xyz', { ec2, hopLimit: 0 }).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.problems.map((p: { field: string }) => p.field)).toEqual(['instanceId', 'hopLimit']);
    expect(calls).toEqual([]);
  });

  it('names an unknown instance in a NOT_FOUND error', async () => {
    // Prepare
    const { ec2 } = clientsFor(inject('motoEndpoint'));

    // Act
    const error = await requireImdsV2('i-0fedcba9876543210', { ec2 }).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error.message).toContain('i-0fedcba9876543210');
  });
});
