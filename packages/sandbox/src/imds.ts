import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { type InstanceFacts, InstanceRoleSource } from './instance-role-source.js';
import { listenOnLoopback } from './listen.js';

/**
 * Misbehaviours for robustness tests of IMDS clients.
 *
 * @example
 * imds.update({ faults: { slowMs: 1500, tokenTtlOverrideSeconds: 1 } });
 */
export interface ImdsFaults {
  /** Delay every answer by this many ms. @default 0 */
  readonly slowMs?: number;
  /** Serve credentials as truncated, unparseable JSON. @default false */
  readonly malformedCredentials?: boolean;
  /** Serve credentials whose `Expiration` is an hour in the past. @default false */
  readonly expiredCredentials?: boolean;
  /** Answer every request with HTTP 500. @default false */
  readonly status500?: boolean;
  /** Tokens really expire after this many seconds, whatever the client asked for. @default the requested TTL */
  readonly tokenTtlOverrideSeconds?: number;
}

/**
 * Options of {@link startImds}.
 *
 * @example
 * const options: ImdsOptions = { instanceId: 'i-0123456789abcdef0', awsEndpoint: moto.endpoint, httpTokens: 'optional' };
 */
export interface ImdsOptions {
  readonly instanceId: string;
  /** moto (or proxy) endpoint used to read associations and AssumeRole. */
  readonly awsEndpoint: string;
  /** @default 'required' */
  readonly httpTokens?: 'required' | 'optional';
  /** Accept PUT /latest/api/token and never answer it (the container signature of a hop limit of 1). @default false */
  readonly hopLimitExceeded?: boolean;
  /** @default none (user-data answers 404) */
  readonly userData?: string | Buffer;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default no faults */
  readonly faults?: ImdsFaults;
  /** Keys to read moto with; only needed to follow association changes while moto's enforcement is on. @default env keys */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** How long a read association is trusted before moto is asked again. @default 1000 */
  readonly associationTtlMs?: number;
}

/**
 * A per-instance IMDSv2 stand-in on loopback.
 *
 * @example
 * imds.update({ hopLimitExceeded: true });
 * expect(imds.requests()).toBeGreaterThan(0);
 */
export interface ImdsEmulator {
  /** `http://127.0.0.1:PORT`; set `AWS_EC2_METADATA_SERVICE_ENDPOINT` to it. */
  readonly endpoint: string;
  /** Change httpTokens, hopLimitExceeded, userData, region or faults at runtime. */
  update(patch: Partial<Omit<ImdsOptions, 'instanceId' | 'awsEndpoint'>>): void;
  /** Requests received so far. */
  requests(): number;
  /** Re-read the association and re-assume the role now (e.g. before turning moto's enforcement on). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

type Settings = Omit<ImdsOptions, 'instanceId' | 'awsEndpoint'>;
const MAX_TTL = 21_600;

/**
 * Start an IMDSv2 emulator for one moto instance. Credentials come from a real moto `sts:AssumeRole`
 * of the role in the profile currently associated with the instance; they are fetched before this
 * resolves, so moto's enforcement can be turned on afterwards.
 *
 * @example
 * const imds = await startImds({ instanceId, awsEndpoint: moto.endpoint, httpTokens: 'required' });
 * process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.endpoint;
 * const creds = await fromInstanceMetadata()();
 * await imds.close();
 */
export async function startImds(options: ImdsOptions): Promise<ImdsEmulator> {
  const region = options.region ?? 'us-east-1';
  const source = new InstanceRoleSource({ ...options, region });
  const imds = new Imds(options.instanceId, { ...options, region }, source, await readFacts(source, region));
  await imds.refresh();
  const server = http.createServer((req, res) => imds.handle(req, res));
  const endpoint = await listenOnLoopback(server, 60_000);
  return {
    endpoint,
    update: (patch) => imds.update(patch),
    requests: () => imds.count,
    refresh: () => imds.refresh(),
    close: () =>
      new Promise((resolve) => {
        source.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readFacts(source: InstanceRoleSource, region: string): Promise<InstanceFacts> {
  try {
    return await source.facts();
  } catch {
    return { accountId: '123456789012', availabilityZone: `${region}a` };
  }
}

class Imds {
  count = 0;
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly instanceId: string,
    private settings: Settings & { region: string },
    private readonly source: InstanceRoleSource,
    private readonly facts: InstanceFacts,
  ) {}

  update(patch: Partial<Settings>): void {
    this.settings = { ...this.settings, ...patch, region: patch.region ?? this.settings.region };
  }

  async refresh(): Promise<void> {
    this.source.invalidate();
    await this.source.credentials();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.count++;
    const slow = this.settings.faults?.slowMs ?? 0;
    const answer = () => this.answer(req, res).catch(() => reply(res, 500, 'Internal Server Error'));
    if (slow > 0) setTimeout(answer, slow);
    else void answer();
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (this.settings.faults?.status500) return reply(res, 500, 'Internal Server Error');
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'PUT' && path === '/latest/api/token') return this.issueToken(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'Method Not Allowed');
    const auth = this.authorize(req);
    if (auth !== 200) return reply(res, auth, 'Unauthorized');
    return this.serve(path, res);
  }

  private issueToken(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers['x-forwarded-for'] !== undefined) {
      reply(res, 403, 'Forbidden');
      return;
    }
    if (this.settings.hopLimitExceeded) return; // never answered: the response would die one hop short
    const raw = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    const ttl = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(ttl >= 1 && ttl <= MAX_TTL)) {
      reply(res, 400, 'Bad Request');
      return;
    }
    const token = randomBytes(42).toString('base64url');
    const lifetime = this.settings.faults?.tokenTtlOverrideSeconds ?? ttl;
    this.tokens.set(token, Date.now() + lifetime * 1000);
    this.forgetExpiredTokens();
    reply(res, 200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
  }

  /** A given token must be valid (401 otherwise, as real IMDS does); no token is fine only when v1 is allowed. */
  private authorize(req: IncomingMessage): number {
    const token = req.headers['x-aws-ec2-metadata-token'];
    if (typeof token === 'string') return (this.tokens.get(token) ?? 0) > Date.now() ? 200 : 401;
    return this.settings.httpTokens === 'optional' ? 200 : 401;
  }

  private async serve(path: string, res: ServerResponse): Promise<void> {
    const fixed = this.fixedPath(path);
    if (fixed !== undefined) return reply(res, 200, fixed);
    if (path === '/latest/user-data' || path === '/latest/user-data/') {
      const data = this.settings.userData;
      return data === undefined
        ? reply(res, 404, 'Not Found')
        : reply(res, 200, data, { 'content-type': 'application/octet-stream' });
    }
    if (path === '/latest/meta-data/iam/info') return this.iamInfo(res);
    if (
      path === '/latest/meta-data/iam/security-credentials/' ||
      path === '/latest/meta-data/iam/security-credentials'
    ) {
      const role = await this.source.currentRole();
      return role?.roleName ? reply(res, 200, role.roleName) : reply(res, 404, 'Not Found');
    }
    const prefix = '/latest/meta-data/iam/security-credentials/';
    if (path.startsWith(prefix)) return this.credentials(decodeURIComponent(path.slice(prefix.length)), res);
    return reply(res, 404, 'Not Found');
  }

  private fixedPath(path: string): string | undefined {
    const { region } = this.settings;
    const doc = () =>
      JSON.stringify({
        accountId: this.facts.accountId,
        architecture: 'x86_64',
        availabilityZone: this.facts.availabilityZone,
        imageId: this.facts.imageId,
        instanceId: this.instanceId,
        instanceType: this.facts.instanceType,
        privateIp: this.facts.privateIp,
        region,
        version: '2017-09-30',
      });
    switch (path) {
      case '/latest/meta-data/':
      case '/latest/meta-data':
        return ['ami-id', 'iam/', 'instance-id', 'instance-type', 'placement/'].join('\n');
      case '/latest/meta-data/instance-id':
        return this.instanceId;
      case '/latest/meta-data/placement/region':
        return region;
      case '/latest/meta-data/placement/availability-zone':
        return this.facts.availabilityZone;
      case '/latest/meta-data/ami-id':
        return this.facts.imageId ?? 'ami-00000000';
      case '/latest/meta-data/instance-type':
        return this.facts.instanceType ?? 't2.micro';
      case '/latest/dynamic/instance-identity/document':
        return doc();
      default:
        return undefined;
    }
  }

  private async iamInfo(res: ServerResponse): Promise<void> {
    const role = await this.source.currentRole();
    if (!role) return reply(res, 404, 'Not Found');
    const body = {
      Code: 'Success',
      LastUpdated: imdsTime(new Date()),
      InstanceProfileArn: role.instanceProfileArn,
      InstanceProfileId: role.instanceProfileId,
    };
    reply(res, 200, JSON.stringify(body, null, 2));
  }

  private async credentials(roleName: string, res: ServerResponse): Promise<void> {
    const role = await this.source.currentRole();
    if (!role?.roleName || role.roleName !== roleName) return reply(res, 404, 'Not Found');
    const creds = await this.source.credentials();
    if (!creds) return reply(res, 404, 'Not Found');
    const faults = this.settings.faults ?? {};
    const expiration = faults.expiredCredentials ? new Date(Date.now() - 3_600_000) : creds.expiration;
    const body = JSON.stringify(
      {
        Code: 'Success',
        LastUpdated: imdsTime(creds.lastUpdated),
        Type: 'AWS-HMAC',
        AccessKeyId: creds.accessKeyId,
        SecretAccessKey: creds.secretAccessKey,
        Token: creds.sessionToken,
        Expiration: imdsTime(expiration),
      },
      null,
      2,
    );
    reply(res, 200, faults.malformedCredentials ? body.slice(0, Math.floor(body.length / 2)) : body);
  }

  private forgetExpiredTokens(): void {
    if (this.tokens.size < 1000) return;
    const now = Date.now();
    for (const [token, expires] of this.tokens) if (expires <= now) this.tokens.delete(token);
  }
}

/** One write: status line, headers and body together. */
function reply(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': bytes.length,
    server: 'EC2ws',
    ...headers,
  });
  res.end(bytes);
}

function imdsTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
