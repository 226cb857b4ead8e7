import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './listen.js';

/** What the stand-in answers in moto's place. */
export interface SsmStandInOptions {
  /** moto (or proxy) endpoint that gets every other call. */
  readonly target: string;
  /** Instances DescribeInstanceInformation lists as managed (moto does not implement that call). @default [] */
  readonly managedInstanceIds?: readonly string[];
  /** Run Command status to report for these instances instead of moto's instant `Success`, e.g. `InProgress`, `Undeliverable`. @default {} */
  readonly statuses?: Readonly<Record<string, string>>;
}

/** A thin SSM front for moto that adds what moto 5.2.1 lacks for Run Command. */
export interface SsmStandIn {
  readonly endpoint: string;
  /** Calls seen per SSM action, e.g. `{ SendCommand: 3 }`. */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * Start an SSM stand-in on loopback: answers DescribeInstanceInformation from `managedInstanceIds`,
 * rewrites GetCommandInvocation's status for the instances in `statuses` (moto marks every invocation
 * `Success` at once, with empty output), and forwards everything else to `target` unchanged.
 *
 * @example
 * const ssm = await startSsmStandIn({ target: moto.endpoint, managedInstanceIds: ['i-0123456789abcdef0'] });
 * const client = new SSMClient({ endpoint: ssm.endpoint });
 */
export async function startSsmStandIn(options: SsmStandInOptions): Promise<SsmStandIn> {
  const counts: Record<string, number> = {};
  const server = createServer((req, res) => {
    handle(req, res, options, counts).catch((err: Error) => {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`ssm stand-in: ${err.message}`);
    });
  });
  const endpoint = await listenOnLoopback(server);
  return {
    endpoint,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  o: SsmStandInOptions,
  counts: Record<string, number>,
) {
  const body = await readBody(req);
  const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSSM\./, '');
  if (action) counts[action] = (counts[action] ?? 0) + 1;
  if (action === 'DescribeInstanceInformation') return json(res, describeInstanceInformation(body, o));
  const upstream = await forward(req, body, o.target);
  const status =
    action === 'GetCommandInvocation' ? o.statuses?.[JSON.parse(body.toString()).InstanceId] : undefined;
  if (!status || upstream.status !== 200) {
    res.writeHead(upstream.status, { 'content-type': upstream.type });
    return res.end(upstream.body);
  }
  const invocation = JSON.parse(upstream.body.toString());
  return json(res, { ...invocation, Status: status, StatusDetails: status, ResponseCode: -1 });
}

function describeInstanceInformation(body: Buffer, o: SsmStandInOptions) {
  const request = JSON.parse(body.toString() || '{}') as { Filters?: { Key: string; Values: string[] }[] };
  const wanted = request.Filters?.find((f) => f.Key === 'InstanceIds')?.Values;
  const ids = (o.managedInstanceIds ?? []).filter((id) => !wanted || wanted.includes(id));
  return {
    InstanceInformationList: ids.map((InstanceId) => ({
      InstanceId,
      PingStatus: 'Online',
      PlatformType: 'Linux',
      ResourceType: 'EC2Instance',
    })),
  };
}

async function forward(req: IncomingMessage, body: Buffer, target: string) {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers.set(k, v);
  }
  const res = await fetch(new URL(req.url ?? '/', target), {
    method: req.method,
    headers,
    body: req.method === 'GET' ? undefined : body,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? 'application/x-amz-json-1.1',
    body: Buffer.from(await res.arrayBuffer()),
  };
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(value));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
