import type { FaultRule } from './faults.js';
import { type ImdsEmulator, type ImdsOptions, startImds } from './imds.js';
import { type MotoServer, type StartMotoOptions, startMoto } from './moto.js';
import { type AwsProxy, startAwsProxy } from './proxy.js';

/**
 * moto, the proxy in front of it, and IMDS emulators for its instances, stopped together.
 *
 * @example
 * sandbox.proxy.setPropagationDelay(5000);
 * await sandbox.moto.setEnforcement(true);
 */
export interface Sandbox {
  readonly moto: MotoServer;
  readonly proxy: AwsProxy;
  /** The proxy's endpoint: point AWS clients (or `AWS_ENDPOINT_URL`) here. */
  readonly endpoint: string;
  /** Start an IMDS emulator for one instance; it reads moto directly, so its calls are not counted. */
  imds(options: Omit<ImdsOptions, 'awsEndpoint'>): Promise<ImdsEmulator>;
  /** Close every emulator, the proxy and moto. */
  stop(): Promise<void>;
}

/**
 * Options of {@link startSandbox}.
 *
 * @example
 * const options: SandboxOptions = { propagationDelayMs: 2000, seed: 7 };
 */
export interface SandboxOptions {
  /** @default 0 */
  readonly propagationDelayMs?: number;
  /** @default [] */
  readonly faults?: readonly FaultRule[];
  /** @default 1 */
  readonly seed?: number;
  /** Passed to startMoto. @default {} */
  readonly moto?: StartMotoOptions;
}

/**
 * Start a private moto_server, a counting fault-injecting proxy in front of it, and an IMDS factory.
 *
 * @example
 * const sandbox = await startSandbox({ propagationDelayMs: 3000 });
 * const ec2 = new EC2Client({ endpoint: sandbox.endpoint });
 * const imds = await sandbox.imds({ instanceId });
 * process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds.endpoint;
 * // ...
 * await sandbox.stop();
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const moto = await startMoto(options.moto);
  let proxy: AwsProxy;
  try {
    proxy = await startAwsProxy({
      target: moto.endpoint,
      propagationDelayMs: options.propagationDelayMs,
      faults: options.faults,
      seed: options.seed,
    });
  } catch (err) {
    await moto.stop();
    throw err;
  }
  const emulators = new Set<ImdsEmulator>();
  return {
    moto,
    proxy,
    endpoint: proxy.endpoint,
    imds: async (imdsOptions) => {
      const emulator = await startImds({ ...imdsOptions, awsEndpoint: moto.endpoint });
      emulators.add(emulator);
      return emulator;
    },
    stop: async () => {
      await Promise.allSettled([...emulators].map((e) => e.close()));
      emulators.clear();
      await proxy.close();
      await moto.stop();
    },
  };
}
