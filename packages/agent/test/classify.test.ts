import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { classifyError, classifySuccess } from '../src/classify.js';

describe('Function: classifyError', () => {
  it('classifies a 403 whose body the SDK could not parse as denied', () => {
    // Prepare: the shape SDK v3 throws for moto's XML DynamoDB denial
    const error = Object.assign(new SyntaxError('Unexpected token < in JSON'), {
      $metadata: { httpStatusCode: 403 },
    });
    // Act
    const result = classifyError(error);
    // Assess
    expect(result).toEqual({ outcome: 'denied', errorCode: 'HTTP403', httpStatus: 403 });
  });

  it('names a body-less 403 (S3 HeadObject: the SDK says "Unknown") by its status', () => {
    const result = classifyError({ name: 'Unknown', $metadata: { httpStatusCode: 403 } });
    expect(result).toEqual({ outcome: 'denied', errorCode: 'HTTP403', httpStatus: 403 });
  });

  it('classifies AccessDenied codes as denied even without a status', () => {
    expect(classifyError({ name: 'AccessDeniedException' }).outcome).toBe('denied');
    expect(classifyError({ name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 400 } }).outcome).toBe(
      'denied',
    );
  });

  it('classifies credential 403s as errors, not denials', () => {
    const result = classifyError({ name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 403 } });
    expect(result.outcome).toBe('error');
    expect(result.errorCode).toBe('InvalidClientTokenId');
  });

  it('classifies timeouts and 5xx as errors', () => {
    expect(classifyError(Object.assign(new Error('timeout'), { name: 'TimeoutError' })).outcome).toBe(
      'error',
    );
    expect(classifyError({ name: 'InternalError', $metadata: { httpStatusCode: 500 } }).outcome).toBe(
      'error',
    );
  });

  it('classifies a missing resource as allowed with a note when the call was authorized', async () => {
    // Prepare: a real S3 404 from moto
    const s3 = new S3Client({ endpoint: inject('motoEndpoint'), forcePathStyle: true, maxAttempts: 1 });
    const bucket = `agent-classify-missing-${Date.now()}`;
    // Act
    const [head, list] = await Promise.all([
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' })).catch((e: unknown) => e),
      s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch((e: unknown) => e),
    ]);
    // Assess
    expect(classifyError(head)).toMatchObject({ outcome: 'allowed', httpStatus: 404 });
    expect(classifyError(list)).toMatchObject({
      outcome: 'allowed',
      errorCode: 'NoSuchBucket',
      httpStatus: 404,
    });
  });
});

describe('Function: classifySuccess', () => {
  it('returns allowed with the status', () => {
    expect(classifySuccess(204)).toEqual({ outcome: 'allowed', errorCode: null, httpStatus: 204 });
  });
});
