import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli.js';
import { AgentUsageError } from '../src/errors.js';
import type { Report } from '../src/types.js';
import { ensureBundle, runAgent } from './support/agent-bundle.js';
import { startBlackhole } from './support/blackhole.js';

describe('Function: parseCli', () => {
  it('maps every option onto verify options', () => {
    const { options, json } = parseCli([
      '--preset',
      's3-read-only',
      '--preset',
      'iam-read-only',
      '--bucket',
      'b',
      '--key',
      'k',
      '--json',
      '--timeout-ms',
      '3000',
      '--credentials-file',
      '/a',
      '--credentials-file',
      '/b',
    ]);
    expect(json).toBe(true);
    expect(options).toMatchObject({
      presets: ['s3-read-only', 'iam-read-only'],
      bucket: 'b',
      key: 'k',
      timeoutMs: 3000,
      credentialsFiles: ['/a', '/b'],
    });
  });

  it('lists every bad option in one usage error', () => {
    try {
      parseCli(['--timeout-ms', 'soon', '--imds-endpoint', 'nope', '--key', 'k']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AgentUsageError);
      expect((error as AgentUsageError).problems).toHaveLength(3);
    }
  });
});

describe('Function: instance-role-agent.mjs (copied alone to an empty directory)', () => {
  let dir: string;
  let bundle: string;
  let blackhole: Awaited<ReturnType<typeof startBlackhole>>;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-alone-'));
    bundle = join(dir, 'instance-role-agent.mjs');
    copyFileSync(ensureBundle(), bundle);
    blackhole = await startBlackhole();
  }, 120_000);
  afterAll(() => blackhole.close());

  it('prints help and exits 0 with no node_modules anywhere near', async () => {
    const run = await runAgent(bundle, ['--help'], env, dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: instance-role-agent');
    expect(run.stderr).toBe('');
  });

  it('runs when piped to `node --input-type=module -`, as core does over SSH', async () => {
    // Act
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-', '--json', '--imds-endpoint', 'http://127.0.0.1:9'],
        {
          env,
          cwd: dir,
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout }));
      child.stdin.end(readFileSync(bundle));
    });
    // Assess
    expect(run.code).toBe(3);
    expect((JSON.parse(run.stdout) as Report).findings.map((f) => f.code)).toContain('IMDS_UNREACHABLE');
  });

  it('exits 2 on an unknown option', async () => {
    const run = await runAgent(bundle, ['--bogus'], env, dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--bogus');
  });

  it('exits 2 on an unknown preset, naming it', async () => {
    const run = await runAgent(bundle, ['--preset', 's3-raed-only'], env, dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('s3-raed-only');
  });

  it('exits 3 in about a second when IMDS does not answer', async () => {
    const run = await runAgent(bundle, ['--json', '--imds-endpoint', blackhole.endpoint], env, dir);
    const report = JSON.parse(run.stdout) as Report;
    expect(run.code).toBe(3);
    expect(report.findings.map((f) => f.code)).toContain('IMDS_UNREACHABLE');
    expect(run.ms).toBeLessThan(3000);
  });

  it('exits 3 and says so when AWS_EC2_METADATA_DISABLED=true', async () => {
    const run = await runAgent(bundle, ['--json'], { ...env, AWS_EC2_METADATA_DISABLED: 'true' }, dir);
    const report = JSON.parse(run.stdout) as Report;
    expect(run.code).toBe(3);
    expect(report.imds.disabled).toBe(true);
    expect(report.findings.map((f) => f.code)).toEqual(['IMDS_DISABLED']);
  });
});
