import { type ChildProcess, spawn } from 'node:child_process';

/** A running moto_server on loopback. */
export interface MotoServer {
  /** Base URL, e.g. `http://127.0.0.1:41409`. Point `AWS_ENDPOINT_URL` at it. */
  readonly endpoint: string;
  readonly port: number;
  /** Forget every resource (moto's `/moto-api/reset`). */
  reset(): Promise<void>;
  /** Switch moto's IAM policy enforcement on (`true`) or off. */
  setEnforcement(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** @default 'moto_server' from PATH (or `MOTO_SERVER_BIN`) */
  readonly command?: string;
  /** Load AWS managed policies so their ARNs resolve. @default true */
  readonly loadManagedPolicies?: boolean;
  /** @default 20_000 */
  readonly startTimeoutMs?: number;
}

export class MotoNotFoundError extends Error {
  override readonly name = 'MotoNotFoundError';
  readonly code = 'MOTO_NOT_FOUND';
}

/**
 * Start moto_server on a free loopback port and wait until it answers.
 *
 * @example
 * const moto = await startMoto();
 * process.env.AWS_ENDPOINT_URL = moto.endpoint;
 * // ...
 * await moto.stop();
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const command = options.command ?? process.env.MOTO_SERVER_BIN ?? 'moto_server';
  const child = spawn(command, ['-H', '127.0.0.1', '-p', '0'], {
    env: {
      ...process.env,
      MOTO_IAM_LOAD_MANAGED_POLICIES: options.loadManagedPolicies === false ? 'false' : 'true',
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  const port = await readPort(child, options.startTimeoutMs ?? 20_000, command);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(endpoint, options.startTimeoutMs ?? 20_000);
  const post = async (path: string, body?: string) => {
    const res = await fetch(`${endpoint}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: body ?? '',
    });
    if (!res.ok) throw new Error(`moto ${path} answered HTTP ${res.status}`);
    await res.arrayBuffer();
  };
  return {
    endpoint,
    port,
    reset: () => post('/moto-api/reset'),
    setEnforcement: (on) => post('/moto-api/reset-auth', on ? '0' : 'inf'),
    stop: () => stopProcess(child),
  };
}

function readPort(child: ChildProcess, timeoutMs: number, command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => fail(new Error(`moto_server did not start within ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ENOENT'
          ? new MotoNotFoundError(
              `'${command}' was not found on PATH. Install moto's server: pip install 'moto[server]==5.2.1'`,
            )
          : err,
      ),
    );
    child.once('exit', (code) =>
      fail(new Error(`moto_server exited with code ${code} before starting:\n${seen}`)),
    );
  });
}

async function waitUntilAnswering(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`moto_server at ${endpoint} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Stop a child and everything it started; resolves once it has exited. */
export function stopProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (child.pid && process.platform !== 'win32') process.kill(-child.pid, signal);
        else child.kill(signal);
      } catch {
        child.kill(signal);
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    kill('SIGTERM');
  });
}
