// Where a cold `instance-role` process spends its time before the first AWS call: node itself, the CLI
// module graph (`--help`), and each AWS SDK client package it imports, each alone in a cold process.
import path from 'node:path';
import { DIST, mb, ms, quantile, ROOT, runOnce } from '../lib.mjs';

const CORE = path.join(ROOT, 'packages/core');
const CLIENTS = ['client-iam', 'client-ec2', 'client-sts', 'client-ssm'];

export async function cliLoadBreakdown(runs = 5) {
  const cases = [
    ['`node -e 0`', ['-e', '0']],
    ['`node packages/core/dist/cli.js --help` (loads the CLI, no AWS call)', [DIST.coreCli, '--help']],
    ...CLIENTS.map((c) => [
      `\`import('@aws-sdk/${c}')\` alone (from packages/core)`,
      ['--input-type=module', '-e', `await import('@aws-sdk/${c}')`],
    ]),
  ];
  const samples = cases.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, [, args]] of cases.entries()) {
      const r = await runOnce({ cmd: process.execPath, args, cwd: CORE });
      if (r.code === 0) samples[k].push(r);
    }
  }
  return [
    `### Where a cold CLI process goes before its first AWS call (median of ${runs} cold runs each)`,
    '',
    '| process | wall median | peak RSS median |',
    '|---|---|---|',
    ...cases.map(([label], k) => {
      const s = samples[k];
      if (s.length === 0) return `| ${label} | failed | |`;
      const wall = quantile(
        s.map((r) => r.wallMs),
        0.5,
      );
      const rss = quantile(
        s.map((r) => r.rssKb),
        0.5,
      );
      return `| ${label} | ${ms(wall)} | ${mb(rss / 1024)} |`;
    }),
  ].join('\n');
}
