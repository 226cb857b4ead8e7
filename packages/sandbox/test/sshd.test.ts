import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sshd, startSshd } from '../src/sshd.js';

const run = promisify(execFile);

describe('Function: startSshd', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('accepts the generated key with host-key checking on', async () => {
    // Prepare
    const args = [
      ...sshd.clientOptions,
      '-i',
      sshd.identityFile,
      '-p',
      String(sshd.port),
      `${sshd.user}@${sshd.host}`,
    ];

    // Act
    const { stdout } = await run('ssh', [...args, 'echo', 'hello-from-sshd']);

    // Assess
    expect(stdout.trim()).toBe('hello-from-sshd');
  });

  it('refuses a client whose known_hosts does not hold the host key', async () => {
    // Prepare
    const args = [
      '-F',
      'none',
      '-o',
      'BatchMode=yes',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
    ];

    // Act
    const result = await run('ssh', [
      ...args,
      '-i',
      sshd.identityFile,
      '-p',
      String(sshd.port),
      `${sshd.user}@${sshd.host}`,
      'true',
    ]).catch((err: { code: number; stderr: string }) => err);

    // Assess
    expect(result).toMatchObject({ code: 255 });
    expect((result as { stderr: string }).stderr).toMatch(/Host key verification failed/);
  });

  it('removes its files when stopped', async () => {
    // Prepare
    const other = await startSshd();
    expect(existsSync(other.knownHostsFile)).toBe(true);

    // Act
    await other.stop();

    // Assess
    expect(existsSync(other.knownHostsFile)).toBe(false);
    expect(existsSync(other.identityFile)).toBe(false);
  });
});
