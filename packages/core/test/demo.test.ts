import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO = `${ROOT}scripts/demo.mjs`;
const BUILT = [
  'packages/core/dist/index.js',
  'packages/sandbox/dist/index.js',
  'packages/agent/dist/instance-role-agent.mjs',
];
const STEPS = [
  '[1/6] Start the sandbox',
  '[2/6] Ensure role demo-app with preset s3-read-only',
  '[3/6] Launch an instance with the role (IMDSv2 required)',
  '[4/6] Verify on the instance',
  '[5/6] Bad practice caught',
  '[6/6] Replace the role with demo-app-dynamodb (dynamodb-full-access)',
];

interface DemoRun {
  readonly child: ChildProcess;
  readonly marker: string;
  output(): string;
  waitFor(text: string): Promise<void>;
  exited: Promise<number | NodeJS.Signals>;
}

const runs: DemoRun[] = [];

/** Start the demo with a marker in its environment: moto_server and other helpers inherit it. */
function startDemo(): DemoRun {
  const marker = randomUUID();
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_TEST_MARKER: marker, DEMO_BUDGET_MS: '40000' };
  delete env.AWS_ENDPOINT_URL;
  const child = spawn(process.execPath, [DEMO], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const w of waiters.filter((x) => output.includes(x.text))) w.resolve();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const run: DemoRun = {
    child,
    marker,
    output: () => output,
    waitFor: (text) =>
      new Promise((resolve, reject) => {
        if (output.includes(text)) return resolve();
        waiters.push({ text, resolve });
        exited.then(() => reject(new Error(`demo exited before printing "${text}":\n${output}`)));
      }),
    exited,
  };
  runs.push(run);
  return run;
}

/** PIDs of live processes whose environment carries the marker (Linux /proc). */
function processesWithMarker(marker: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(`DEMO_TEST_MARKER=${marker}`)) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
      if (cmd) found.push({ pid: Number(entry), cmd });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(() => {
  const missing = BUILT.filter((f) => !existsSync(`${ROOT}${f}`));
  if (missing.length > 0) throw new Error(`build first (pnpm build): missing ${missing.join(', ')}`);
});

afterEach(() => {
  // Only when a test failed to clean up: stop what that run started, by PID.
  for (const run of runs.splice(0)) {
    run.child.kill('SIGKILL');
    for (const p of processesWithMarker(run.marker)) process.kill(p.pid, 'SIGKILL');
  }
});

describe('Function: scripts/demo.mjs (pnpm demo)', () => {
  it('runs every step, exits 0 and leaves no process behind', async () => {
    // Prepare
    const demo = startDemo();
    await demo.waitFor('[2/6]');
    const whileRunning = processesWithMarker(demo.marker);
    const motoPort = Number(/moto http:\/\/127\.0\.0\.1:(\d+)/.exec(demo.output())?.[1]);

    // Act
    const code = await demo.exited;

    // Assess
    const output = demo.output();
    expect(code, output).toBe(0);
    for (const step of STEPS) expect(output).toContain(step);
    expect(output).toContain('verdict: PASS');
    expect(output).toContain('STATIC_KEYS_ENV');
    expect(output).toContain('ENV_KEYS_OVERRIDE_ROLE');
    expect(output).toContain('"HttpTokens":"required"');
    expect(output).toMatch(/elapsed \d+\.\d s/);
    expect(output).toContain('demo: every step behaved as expected');
    expect(output).not.toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    expect(whileRunning.some((p) => p.cmd.includes('moto_server'))).toBe(true);
    expect(processesWithMarker(demo.marker)).toEqual([]);
    expect(await portAnswers(motoPort)).toBe(false);
  }, 60_000);

  it('stops moto_server and exits 143 when it gets SIGTERM mid-run', async () => {
    // Prepare
    const demo = startDemo();
    await demo.waitFor('[3/6]');
    expect(processesWithMarker(demo.marker).some((p) => p.cmd.includes('moto_server'))).toBe(true);

    // Act
    demo.child.kill('SIGTERM');
    const code = await demo.exited;

    // Assess
    expect(code, demo.output()).toBe(143);
    expect(demo.output()).toContain('SIGTERM: stopping everything the demo started');
    expect(processesWithMarker(demo.marker)).toEqual([]);
  }, 60_000);
});
