// Where a cold `instance-role` process spends its time: node itself, loading the CLI (`--help`,
// `ensure --help`), and a real ensure+attach timed by phase through the diagnostics-channel preload.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, DIST, mb, ms, quantile, runOnce } from '../lib.mjs';

const TIMING = path.join(BENCH_DIR, 'support/process-timing.mjs');

/** `argv(i)` gives a fresh ensure+attach invocation ({ cmd, args }) for run i; only node invocations are phased. */
export async function cliLoadBreakdown({ runs = 5, env, argv }) {
  const cases = [
    ['`node -e 0`', ['-e', '0']],
    ['`instance-role --help` (loads the CLI entry, no AWS call)', [DIST.coreCli, '--help']],
    ['`instance-role ensure --help` (loads the ensure command)', [DIST.coreCli, 'ensure', '--help']],
  ];
  const samples = cases.map(() => []);
  const phased = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-cli-'));
  try {
    for (let i = 0; i < runs; i++) {
      for (const [k, [, args]] of cases.entries()) {
        const r = await runOnce({ cmd: process.execPath, args });
        if (r.code === 0) samples[k].push(r);
      }
      const run = await argv(i);
      if (run.cmd !== process.execPath) continue;
      const file = path.join(dir, `t${i}.json`);
      const r = await runOnce({
        cmd: process.execPath,
        args: ['--import', TIMING, ...run.args],
        env: { ...env, BENCH_TIMING_FILE: file },
      });
      if (r.code === 0 && existsSync(file))
        phased.push({ ...JSON.parse(readFileSync(file, 'utf8')), wall: r.wallMs });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (xs) => quantile(xs, 0.5);
  const lines = [
    `### Where a cold CLI process spends its time (median of ${runs} cold runs each)`,
    '',
    '| process | wall median | peak RSS median |',
    '|---|---|---|',
    ...cases.map(([label], k) => {
      const s = samples[k];
      if (s.length === 0) return `| ${label} | failed | |`;
      return `| ${label} | ${ms(med(s.map((r) => r.wallMs)))} | ${mb(med(s.map((r) => r.rssKb)) / 1024)} |`;
    }),
  ];
  if (phased.length > 0) {
    const p = (f) => ms(med(phased.map(f)));
    lines.push(
      '',
      `A real \`ensure --instance\` run, by phase (${phased.length} runs, diagnostics-channel preload):`,
      '',
      '| phase | median |',
      '|---|---|',
      `| node boot until user code | ${p((t) => t.nodeBoot)} |`,
      `| load the CLI and its SDK clients, parse, plan, until the first AWS request | ${p((t) => t.firstAwsStart - t.preloadEnd)} |`,
      `| AWS calls (first request start → last response; ${med(phased.map((t) => t.awsRequests))} requests) | ${p((t) => t.lastAwsEnd - t.firstAwsStart)} |`,
      `| after the last response until exit | ${p((t) => t.exit - t.lastAwsEnd)} |`,
      `| total inside the process | ${p((t) => t.exit)} |`,
      `| wall, outside | ${p((t) => t.wall)} |`,
    );
  }
  return lines.join('\n');
}
