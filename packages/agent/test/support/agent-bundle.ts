import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AGENT_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const BUNDLE = join(AGENT_DIR, 'dist', 'instance-role-agent.mjs');

function newestMtime(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newestMtime(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

/** Build the one-file agent when it is missing or older than its sources (the root test script builds first anyway). */
export function ensureBundle(): string {
  let built = 0;
  try {
    built = statSync(BUNDLE).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(
    newestMtime(join(AGENT_DIR, 'src')),
    newestMtime(join(AGENT_DIR, '..', 'core', 'src')),
  );
  if (built < sources)
    execFileSync('pnpm', ['--filter', '@instance-role/agent', 'build'], { cwd: AGENT_DIR, stdio: 'ignore' });
  return BUNDLE;
}

export interface AgentRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Run the bundle with plain `node` and exactly the given environment. */
export function runAgent(
  bundle: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<AgentRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}
