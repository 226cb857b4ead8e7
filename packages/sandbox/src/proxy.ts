import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { CannedResponse } from './fault-responses.js';
import { faultResponse } from './fault-responses.js';
import { type FaultKind, FaultPlan, type FaultRule, seededRandom } from './faults.js';
import { type AwsRequestInfo, identify, isFormRequest } from './identify.js';
import { listenOnLoopback } from './listen.js';
import { PropagationModel } from './propagation.js';

/**
 * One call the proxy saw. `status` is 0 when the connection was dropped.
 *
 * @example
 * const writes = proxy.calls().filter((c: AwsCall) => /^(Create|Add|Associate)/.test(c.action));
 */
export interface AwsCall {
  readonly service: string;
  readonly action: string;
  readonly status: number;
  /** Epoch ms when the request arrived. */
  readonly at: number;
  readonly fault?: FaultKind | 'propagation';
}

/**
 * A counting, fault-injecting HTTP proxy in front of moto (or any AWS endpoint).
 *
 * @example
 * const stop = proxy.onCall((call) => {
 *   if (call.action === 'CreateInstanceProfile') child.kill('SIGKILL');
 * });
 */
export interface AwsProxy {
  /** `http://127.0.0.1:PORT`: use as the AWS endpoint. */
  readonly endpoint: string;
  /** Calls per `${service}:${action}`, forwarded and faulted alike. */
  counts(): Record<string, number>;
  calls(): readonly AwsCall[];
  resetCounts(): void;
  /** Replace the fault rules; their `nth` counters restart. */
  setFaults(rules: readonly FaultRule[]): void;
  /** How long a new instance profile (or a role newly added to one) stays invisible to EC2. 0 turns it off. */
  setPropagationDelay(ms: number): void;
  /** Called once per call, when its answer (or drop) is decided; returns an unsubscribe function. */
  onCall(listener: (call: AwsCall) => void): () => void;
  close(): Promise<void>;
}

/**
 * Options of {@link startAwsProxy}.
 *
 * @example
 * const options: AwsProxyOptions = { target: moto.endpoint, seed: 42, faults: [{ kind: 'http503', rate: 0.2 }] };
 */
export interface AwsProxyOptions {
  /** Where calls go, e.g. moto's endpoint. */
  readonly target: string;
  /** @default 0 (no propagation delay) */
  readonly propagationDelayMs?: number;
  /** @default [] */
  readonly faults?: readonly FaultRule[];
  /** Seed of the PRNG behind `rate`. @default 1 */
  readonly seed?: number;
}

/**
 * Start a proxy on a free loopback port that forwards every request to `target`, counts it by
 * service and action, and injects faults. A faulted call (throttle, 5xx, drop) is never forwarded:
 * the fault stands for a request that did not reach AWS. A 'latency' call is forwarded after the delay;
 * a 'drop-after' call is forwarded and its answer lost (the socket is closed once AWS has answered).
 *
 * @example
 * const proxy = await startAwsProxy({ target: moto.endpoint, propagationDelayMs: 3000 });
 * proxy.setFaults([{ kind: 'throttle', service: 'iam', action: 'CreateRole', nth: [1] }]);
 * const iam = new IAMClient({ endpoint: proxy.endpoint });
 * // ... later
 * expect(proxy.counts()['iam:CreateRole']).toBe(2);
 * await proxy.close();
 */
export async function startAwsProxy(options: AwsProxyOptions): Promise<AwsProxy> {
  const state = new ProxyState(options);
  const server = http.createServer((req, res) => {
    state.handle(req, res).catch(() => res.destroy());
  });
  const endpoint = await listenOnLoopback(server, 30_000);
  return {
    endpoint,
    counts: () => state.counts(),
    calls: () => [...state.log],
    resetCounts: () => {
      state.log.length = 0;
    },
    setFaults: (rules) => state.faults.replace(rules),
    setPropagationDelay: (ms) => {
      state.propagation.delayMs = ms;
    },
    onCall: (listener) => {
      state.listeners.add(listener);
      return () => state.listeners.delete(listener);
    },
    close: () => {
      state.agent.destroy();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

class ProxyState {
  readonly log: AwsCall[] = [];
  readonly listeners = new Set<(call: AwsCall) => void>();
  readonly faults: FaultPlan;
  readonly propagation: PropagationModel;
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly target: URL;

  constructor(options: AwsProxyOptions) {
    this.target = new URL(options.target);
    this.faults = new FaultPlan(options.faults ?? [], seededRandom(options.seed ?? 1));
    this.propagation = new PropagationModel(options.propagationDelayMs ?? 0);
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const call of this.log) {
      const key = `${call.service}:${call.action}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const body = isFormRequest(req.headers) ? await readAll(req) : undefined;
    const info = identify(req.method ?? 'GET', req.url ?? '/', req.headers, body?.toString('utf8'));
    const rule = this.faults.pick(info.service, info.action);
    const record = (status: number, fault?: AwsCall['fault']) =>
      this.record({ ...pick(info), status, at, fault });
    if (rule && rule.kind !== 'latency' && rule.kind !== 'drop-after')
      return this.inject(rule.kind, info, req, res, body, record);
    if (rule) await sleep(rule.latencyMs ?? 1000);
    const propagation = this.propagation.check(info);
    if (propagation) {
      send(res, propagation);
      return record(propagation.status, 'propagation');
    }
    this.forward(req, res, body, info, (status) => record(status, rule?.kind), rule?.kind === 'drop-after');
  }

  private async inject(
    kind: Exclude<FaultKind, 'latency' | 'drop-after'>,
    info: AwsRequestInfo,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    record: (status: number, fault?: AwsCall['fault']) => void,
  ): Promise<void> {
    if (kind === 'drop') {
      if (!body) await readAll(req);
      res.socket?.destroy();
      return record(0, 'drop');
    }
    if (!body) await readAll(req);
    const canned = faultResponse(kind, info.service, req.headers);
    send(res, canned);
    record(canned.status, kind);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    info: AwsRequestInfo,
    done: (status: number) => void,
    dropAnswer = false,
  ): void {
    const headers = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    const upstream = http.request(
      {
        protocol: this.target.protocol,
        hostname: this.target.hostname,
        port: this.target.port,
        path: req.url,
        method: req.method,
        headers,
        agent: this.agent,
      },
      (upRes) => {
        const status = upRes.statusCode ?? 502;
        this.propagation.observe(info, status);
        if (dropAnswer) {
          upRes.resume();
          res.socket?.destroy();
          return done(status);
        }
        res.writeHead(status, upRes.headers);
        upRes.pipe(res);
        done(status);
      },
    );
    upstream.setNoDelay(true);
    upstream.on('error', (err) => {
      if (res.headersSent) return void res.destroy(err);
      send(res, { status: 502, headers: { 'content-type': 'text/plain' }, body: `proxy: ${err.message}` });
      done(502);
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  }

  private record(call: AwsCall): void {
    const clean: AwsCall = call.fault === undefined ? omitFault(call) : call;
    this.log.push(clean);
    for (const listener of this.listeners) listener(clean);
  }
}

function pick(info: AwsRequestInfo) {
  return { service: info.service, action: info.action };
}

function omitFault({ fault: _fault, ...rest }: AwsCall): AwsCall {
  return rest;
}

function send(res: ServerResponse, canned: CannedResponse): void {
  const body = Buffer.from(canned.body);
  res.writeHead(canned.status, { ...canned.headers, 'content-length': body.length });
  res.end(body);
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
