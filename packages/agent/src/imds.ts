import http from 'node:http';
import https from 'node:https';
import type { ImdsReport } from './types.js';

/** The link-local IMDS address. */
export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';

/** What the raw IMDS requests learnt, beyond the report's `imds` block. */
export interface ImdsDiagnosis extends ImdsReport {
  readonly instanceId: string | null;
  readonly region: string | null;
  readonly roleName: string | null;
  readonly instanceProfileArn: string | null;
  readonly userData: Buffer | null;
}

export interface DiagnoseImdsOptions {
  readonly endpoint: string;
  /**
   * Replaces the built-in requests. @default raw node:http requests (the SDK loads node:http anyway;
   * `fetch` would add its own HTTP stack: ~25 ms and ~8 MB per cold run)
   */
  readonly fetch?: typeof globalThis.fetch;
  /** Per-request timeout. @default 1000 */
  readonly timeoutMs?: number;
  /** `AWS_EC2_METADATA_DISABLED=true`: do not contact IMDS at all. @default false */
  readonly disabled?: boolean;
}

interface RawAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * Probe IMDS with a few raw requests: token PUT (v2), token-less GET (v1), then the instance's
 * identity, role, instance profile and user-data.
 *
 * @example
 * const d = await diagnoseImds({ endpoint: 'http://169.254.169.254' });
 * if (d.hopLimitSuspected) console.log('set HttpPutResponseHopLimit to 2');
 */
export async function diagnoseImds(options: DiagnoseImdsOptions): Promise<ImdsDiagnosis> {
  const started = performance.now();
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const empty = emptyDiagnosis(endpoint, options.disabled === true);
  if (options.disabled) return empty;
  const timeoutMs = options.timeoutMs ?? 1000;
  const get = options.fetch
    ? fetchRequester(endpoint, options.fetch, timeoutMs)
    : httpRequester(endpoint, timeoutMs);
  const [tokenAnswer, v1Answer] = await Promise.all([
    get('/latest/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' } }),
    get('/latest/meta-data/instance-id'),
  ]);
  const token = tokenAnswer?.status === 200 ? tokenAnswer.body.toString() : null;
  const v1Open = v1Answer ? v1Answer.status === 200 : null;
  const base = {
    ...empty,
    reachable: tokenAnswer !== null || v1Answer !== null,
    v2: token !== null,
    v1Open,
    hopLimitSuspected: tokenAnswer === null && v1Answer !== null,
  };
  if (token === null && v1Open !== true) return { ...base, durationMs: elapsed(started) };
  const headers: Record<string, string> = token ? { 'x-aws-ec2-metadata-token': token } : {};
  const [id, region, info, roles, userData] = await Promise.all(
    ['instance-id', 'placement/region', 'iam/info', 'iam/security-credentials/']
      .map((p) => get(`/latest/meta-data/${p}`, { headers }))
      .concat(get('/latest/user-data', { headers })),
  );
  const roleName = ok(roles)?.split('\n')[0]?.trim() || null;
  return {
    ...base,
    instanceId: ok(id)?.trim() || null,
    region: ok(region)?.trim() || null,
    roleName,
    roleAttached: roles ? roles.status === 200 && roleName !== null : null,
    instanceProfileArn: profileArn(ok(info)),
    userData: userData?.status === 200 ? userData.body : null,
    durationMs: elapsed(started),
  };
}

/** IMDS answers are small and user-data is at most 16 KB: read no more than this of any answer. */
const MAX_ANSWER_BYTES = 64 * 1024;

type Requester = (
  path: string,
  init?: { method?: string; headers?: Record<string, string> },
) => Promise<RawAnswer | null>;

function httpRequester(endpoint: string, timeoutMs: number): Requester {
  const client = endpoint.startsWith('https:') ? https : http;
  return (path, init = {}) =>
    new Promise((resolve) => {
      const req = client.request(
        `${endpoint}${path}`,
        { method: init.method ?? 'GET', headers: init.headers, signal: AbortSignal.timeout(timeoutMs) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
          res.on('data', (chunk: Buffer) => {
            if (size >= MAX_ANSWER_BYTES) return;
            chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - size));
            size += chunk.length;
            if (size < MAX_ANSWER_BYTES) return;
            done();
            req.destroy();
          });
          res.on('end', done);
          res.on('error', () => resolve(null));
        },
      );
      req.on('error', () => resolve(null));
      req.end();
    });
}

function fetchRequester(endpoint: string, fetchImpl: typeof globalThis.fetch, timeoutMs: number): Requester {
  return async (path, init = {}) => {
    try {
      const res = await fetchImpl(`${endpoint}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    } catch {
      return null;
    }
  };
}

function ok(answer: RawAnswer | null | undefined): string | null {
  return answer?.status === 200 ? answer.body.toString() : null;
}

function profileArn(info: string | null): string | null {
  if (!info) return null;
  try {
    const arn = (JSON.parse(info) as { InstanceProfileArn?: unknown }).InstanceProfileArn;
    return typeof arn === 'string' ? arn : null;
  } catch {
    return null;
  }
}

function emptyDiagnosis(endpoint: string, disabled: boolean): ImdsDiagnosis {
  return {
    endpoint,
    disabled,
    reachable: false,
    v2: false,
    v1Open: null,
    hopLimitSuspected: false,
    roleAttached: null,
    durationMs: 0,
    instanceId: null,
    region: null,
    roleName: null,
    instanceProfileArn: null,
    userData: null,
  };
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
