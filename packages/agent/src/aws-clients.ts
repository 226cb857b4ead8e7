import { loadDynamodb, loadIam, loadS3, loadSts } from './aws/load.js';

/** Credentials as the SDK wants them; the IMDS provider is shared by every client. */
export interface CredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type CredentialsProvider = () => Promise<CredentialIdentity>;

export interface AwsSettings {
  readonly region: string;
  /** `AWS_ENDPOINT_URL`, when set. */
  readonly endpoint?: string;
  readonly credentials: CredentialsProvider;
  /** Per-request timeout. */
  readonly requestTimeoutMs: number;
  /** Aborts every call when the run's deadline passes. */
  readonly signal: AbortSignal;
  /** Called with the `Date` header of each AWS response. */
  readonly onServerDate?: (date: string) => void;
}

interface Stackable {
  middlewareStack: { add(mw: unknown, options: Record<string, unknown>): void };
}

/**
 * SDK clients created on first use: each SDK module is loaded by dynamic `import()` only when a probe
 * of its service runs, so a run pays only for the services it touches.
 *
 * @example
 * const clients = new AwsClients({ region: 'us-east-1', credentials, requestTimeoutMs: 3000, signal });
 * const { m, client } = await clients.sts();
 * await client.send(new m.GetCallerIdentityCommand({}));
 */
export class AwsClients {
  readonly #settings: AwsSettings;
  readonly #cache = new Map<string, Promise<unknown>>();

  constructor(settings: AwsSettings) {
    this.#settings = settings;
  }

  get signal(): AbortSignal {
    return this.#settings.signal;
  }

  sts() {
    return this.#load('sts', async () => {
      const m = await loadSts();
      return { m, client: this.#watch(new m.STSClient(this.#config())) };
    });
  }

  s3() {
    return this.#load('s3', async () => {
      const m = await loadS3();
      return {
        m,
        client: this.#watch(new m.S3Client({ ...this.#config(), forcePathStyle: !!this.#settings.endpoint })),
      };
    });
  }

  dynamodb() {
    return this.#load('dynamodb', async () => {
      const m = await loadDynamodb();
      return { m, client: this.#watch(new m.DynamoDBClient(this.#config())) };
    });
  }

  iam() {
    return this.#load('iam', async () => {
      const m = await loadIam();
      return { m, client: this.#watch(new m.IAMClient(this.#config())) };
    });
  }

  #load<T>(key: string, create: () => Promise<T>): Promise<T> {
    let entry = this.#cache.get(key) as Promise<T> | undefined;
    if (!entry) {
      entry = create();
      this.#cache.set(key, entry);
    }
    return entry;
  }

  #config() {
    const s = this.#settings;
    return {
      region: s.region,
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
      credentials: s.credentials,
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: s.requestTimeoutMs,
        connectionTimeout: Math.min(s.requestTimeoutMs, 2000),
      },
    };
  }

  #watch<C extends Stackable>(client: C): C {
    const onDate = this.#settings.onServerDate;
    if (onDate) {
      const mw =
        (next: (args: unknown) => Promise<{ response?: { headers?: Record<string, string> } }>) =>
        async (args: unknown) => {
          const result = await next(args);
          const date = result.response?.headers?.date;
          if (date) onDate(date);
          return result;
        };
      client.middlewareStack.add(mw, {
        step: 'deserialize',
        priority: 'low',
        name: 'instanceRoleAgentServerDate',
      });
    }
    return client;
  }
}
