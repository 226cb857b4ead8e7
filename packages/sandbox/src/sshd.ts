import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stopProcess } from './moto.js';

/** A running OpenSSH server on loopback that accepts one generated key for the current user. */
export interface Sshd {
  readonly host: string;
  readonly port: number;
  /** The current user, the only one allowed to log in. */
  readonly user: string;
  /** Private key accepted by the server (ed25519, no passphrase). */
  readonly identityFile: string;
  /** A known_hosts file that holds this server's host key, so clients keep host-key checking on. */
  readonly knownHostsFile: string;
  /**
   * `ssh` options that pin this server: `-F none` (ignore ~/.ssh/config), the generated known_hosts
   * with `StrictHostKeyChecking=yes`, the generated identity only, and `BatchMode=yes`.
   */
  readonly clientOptions: readonly string[];
  /** What sshd logged so far (useful when a test fails). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  /** @default '/usr/sbin/sshd' (or `SSHD_BIN`) */
  readonly sshdPath?: string;
  /** Extra sshd_config lines, e.g. `['AcceptEnv FOO']`. @default [] */
  readonly extraConfig?: readonly string[];
  /** @default 10_000 */
  readonly startTimeoutMs?: number;
}

export class SshdNotFoundError extends Error {
  override readonly name = 'SshdNotFoundError';
  readonly code = 'SSHD_NOT_FOUND';
}

const run = promisify(execFile);

/**
 * Start a real OpenSSH `sshd` on 127.0.0.1 and a free port, as the current user, with a generated host
 * key, a generated user key and a temporary authorized_keys. Test support: needs Debian's
 * `openssh-server` (`apt-get install -y openssh-server`).
 *
 * @example
 * const sshd = await startSshd();
 * // ssh -p sshd.port -i sshd.identityFile -o UserKnownHostsFile=sshd.knownHostsFile \
 * //     -o StrictHostKeyChecking=yes sshd.user@127.0.0.1 true
 * await sshd.stop();
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<Sshd> {
  const sshdPath = options.sshdPath ?? process.env.SSHD_BIN ?? '/usr/sbin/sshd';
  const dir = mkdtempSync(join(tmpdir(), 'instance-role-sshd-'));
  try {
    const keys = await generateKeys(dir);
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const user = userInfo().username;
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      sshdConfig({ dir, port, user, hostKey: keys.hostKey, extra: options.extraConfig ?? [] }),
    );
    const { child, log } = await spawnSshd(sshdPath, config, options.startTimeoutMs ?? 10_000);
    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${readFileSync(`${keys.hostKey}.pub`, 'utf8')}`);
    return {
      host: '127.0.0.1',
      port,
      user,
      identityFile: keys.userKey,
      knownHostsFile,
      clientOptions: [
        '-F',
        'none',
        '-o',
        `UserKnownHostsFile=${knownHostsFile}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
      ],
      log,
      stop: async () => {
        await stopProcess(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function generateKeys(dir: string): Promise<{ hostKey: string; userKey: string }> {
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  try {
    const keygen = (file: string, comment: string) =>
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    await keygen(hostKey, 'instance-role-sshd-host');
    await keygen(userKey, 'instance-role-sshd-user');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SshdNotFoundError(
        "'ssh-keygen' was not found on PATH. Install it: apt-get install -y openssh-client",
      );
    }
    throw err;
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`), { mode: 0o600 });
  return { hostKey, userKey };
}

function sshdConfig(o: {
  dir: string;
  port: number;
  user: string;
  hostKey: string;
  extra: readonly string[];
}): string {
  return [
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${o.hostKey}`,
    `PidFile ${join(o.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(o.dir, 'authorized_keys')}`,
    `AllowUsers ${o.user}`,
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'PrintMotd no',
    'X11Forwarding no',
    ...o.extra,
    '',
  ].join('\n');
}

function spawnSshd(
  path: string,
  config: string,
  timeoutMs: number,
): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const child = spawn(path, ['-D', '-e', '-f', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const timer = setTimeout(
      () => fail(new Error(`sshd did not start within ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (/Server listening on 127\.0\.0\.1/.test(seen)) {
        clearTimeout(timer);
        resolve({ child, log: () => seen });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ENOENT'
          ? new SshdNotFoundError(
              `'${path}' was not found. Install OpenSSH's server: apt-get install -y openssh-server`,
            )
          : err,
      ),
    );
    child.once('exit', (code) => fail(new Error(`sshd exited with code ${code} before listening:\n${seen}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
