import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A canned AWS error answer: status, headers and body, sent in one write. */
export interface CannedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

type Protocol = 'ec2' | 'query' | 'json' | 'rest-xml';
type ErrorKind = 'throttle' | 'http500' | 'http503';

const CODES: Record<Protocol, Record<ErrorKind, { status: number; code: string; message: string }>> = {
  ec2: {
    throttle: { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' },
    http500: { status: 500, code: 'InternalError', message: 'An internal error has occurred' },
    http503: {
      status: 503,
      code: 'Unavailable',
      message: 'The server is overloaded and cannot handle the request.',
    },
  },
  query: {
    throttle: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
    http500: { status: 500, code: 'ServiceFailure', message: 'Service failure' },
    http503: { status: 503, code: 'ServiceUnavailable', message: 'Service is unavailable' },
  },
  json: {
    throttle: { status: 400, code: 'ThrottlingException', message: 'Rate exceeded' },
    http500: { status: 500, code: 'InternalServerError', message: 'Internal server error' },
    http503: { status: 503, code: 'ServiceUnavailable', message: 'Service is unavailable' },
  },
  'rest-xml': {
    throttle: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
    http500: {
      status: 500,
      code: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
    },
    http503: { status: 503, code: 'ServiceUnavailable', message: 'Service is unable to handle request.' },
  },
};

/** Which wire protocol an error must be written in, told from the request. */
export function protocolOf(service: string, headers: IncomingHttpHeaders): Protocol {
  if (service === 'ec2') return 'ec2';
  if ((headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return 'query';
  if (headers['x-amz-target']) return 'json';
  return 'rest-xml';
}

/** The error the real service returns for throttling or a 5xx, in its own protocol (all retryable by the SDK). */
export function faultResponse(
  kind: ErrorKind,
  service: string,
  headers: IncomingHttpHeaders,
): CannedResponse {
  const protocol = protocolOf(service, headers);
  const { status, code, message } = CODES[protocol][kind];
  if (protocol === 'json') return jsonError(status, code, message, headers);
  if (protocol === 'ec2') return ec2Error(status, code, message);
  if (protocol === 'query')
    return queryError(status, code, message, kind === 'throttle' ? 'Sender' : 'Receiver');
  return xml(
    status,
    `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId()}</RequestId></Error>`,
  );
}

/** EC2's error document: `<Response><Errors><Error>..</Error></Errors><RequestID>..</RequestID></Response>`. */
export function ec2Error(status: number, code: string, message: string): CannedResponse {
  return xml(
    status,
    `<Response><Errors><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId()}</RequestID></Response>`,
  );
}

function queryError(
  status: number,
  code: string,
  message: string,
  type: 'Sender' | 'Receiver',
): CannedResponse {
  return xml(
    status,
    `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId()}</RequestId></ErrorResponse>`,
  );
}

function jsonError(
  status: number,
  code: string,
  message: string,
  headers: IncomingHttpHeaders,
): CannedResponse {
  const contentType = headers['content-type']?.startsWith('application/x-amz-json')
    ? headers['content-type']
    : 'application/x-amz-json-1.1';
  return {
    status,
    headers: { 'content-type': contentType, 'x-amzn-requestid': requestId(), 'x-amzn-errortype': code },
    body: JSON.stringify({ __type: code, message }),
  };
}

function xml(status: number, body: string): CannedResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId() },
    body,
  };
}

function requestId(): string {
  return randomUUID();
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
