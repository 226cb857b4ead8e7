import type { Outcome } from './types.js';

/** How one AWS call ended, as far as authorization is concerned. */
export interface Classification {
  readonly outcome: Outcome;
  readonly errorCode: string | null;
  readonly httpStatus: number | null;
  readonly note?: string;
}

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedAccess',
  'AuthorizationError',
  'Forbidden',
]);
/** 403s that are about the credentials, not the policy. */
const CREDENTIAL_ERRORS = new Set([
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'UnrecognizedClientException',
  'RequestExpired',
  'RequestTimeTooSkewed',
  'InvalidSignatureException',
]);
/** The call was authorized; the named resource does not exist. */
const NOT_FOUND = new Set([
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'ResourceNotFoundException',
  'NoSuchEntity',
]);
// Names the SDK gives an error whose body it could not read (a HEAD answer has none: S3 says 'Unknown').
const UNPARSED = new Set(['SyntaxError', 'Error', 'TypeError', 'UnknownError', 'Unknown']);

/**
 * Classify the error of an AWS call by its HTTP status and error code, not only by the parsed SDK
 * error: a 403 whose body the SDK could not parse is still `denied`.
 *
 * @example
 * classifyError(Object.assign(new SyntaxError('Unexpected token <'), { $metadata: { httpStatusCode: 403 } }));
 * // { outcome: 'denied', errorCode: 'HTTP403', httpStatus: 403 }
 */
export function classifyError(error: unknown): Classification {
  const e = (error ?? {}) as {
    name?: string;
    Code?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const httpStatus =
    e.$metadata?.httpStatusCode ??
    (e as { $response?: { statusCode?: number } }).$response?.statusCode ??
    null;
  const rawCode = e.Code ?? e.name ?? e.code ?? null;
  const errorCode =
    rawCode && !UNPARSED.has(rawCode) ? rawCode : httpStatus ? `HTTP${httpStatus}` : (rawCode ?? 'Unknown');
  if (CREDENTIAL_ERRORS.has(errorCode)) return { outcome: 'error', errorCode, httpStatus };
  if (DENIED.has(errorCode) || httpStatus === 403) return { outcome: 'denied', errorCode, httpStatus };
  if (NOT_FOUND.has(errorCode) || httpStatus === 404) {
    return { outcome: 'allowed', errorCode, httpStatus, note: 'authorized; the resource does not exist' };
  }
  return { outcome: 'error', errorCode, httpStatus };
}

/** A call that returned normally. */
export function classifySuccess(httpStatus: number | null = 200): Classification {
  return { outcome: 'allowed', errorCode: null, httpStatus };
}
