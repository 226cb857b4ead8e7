// 2. verify, cold process: the one-file agent versus 4 AWS CLI commands and one boto3 script.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIR,
  compare,
  isMain,
  ms,
  quantile,
  RUNS,
  ratio,
  redact,
  runBench,
  runOnce,
  sec,
  statsTable,
  verdict,
} from './lib.mjs';
import { agentArgs, agentVerdict, startVerifyStack } from './support/verify-stack.mjs';

export const ID = '02-verify-cold';
export const TITLE = '2. verify, cold process';
const TIMING = path.join(BENCH_DIR, 'support/process-timing.mjs');

export async function body() {
  const v = await startVerifyStack();
  try {
    let lastAgent;
    const stats = await compare([
      {
        label: 'instance-role-agent.mjs (node, IMDS creds)',
        cmd: process.execPath,
        args: agentArgs(),
        env: v.agentEnv,
        okCodes: [0, 1],
        after: (result) => {
          lastAgent = agentVerdict(result.stdout);
        },
      },
      {
        label: 'AWS CLI v1, 4 commands',
        cmd: 'bash',
        args: [path.join(BENCH_DIR, 'peers/verify.sh')],
        env: v.peerEnv,
      },
      {
        label: 'boto3, 1 script',
        cmd: 'python3',
        args: [path.join(BENCH_DIR, 'peers/verify.py')],
        env: v.peerEnv,
      },
    ]);
    const [agent, , boto] = stats;
    const breakdown = await agentBreakdown(v.agentEnv);
    return [
      'Moto with an s3-read-only role attached to an instance and IAM enforcement on. The agent gets its',
      'credentials from the sandbox IMDS emulator; the peers get the same role keys as static environment',
      'keys (no metadata lookup, which favours them) and make the same four calls (sts get-caller-identity,',
      's3 ls, dynamodb list-tables, iam list-roles).',
      '',
      statsTable(stats),
      '',
      `- goal agent < 0.22 s wall (median): ${sec(agent.median)} → ${verdict(agent.median < 220)}`,
      `- goal ≥ 2.5× faster than boto3: ${ratio(boto.median, agent.median)} → ${verdict(boto.median / agent.median >= 2.5)}`,
      `- agent verdict (last run): ${lastAgent?.verdict}${lastAgent?.failed.length ? `; failed checks: ${lastAgent.failed.join('; ')}` : ''}`,
      '',
      breakdown,
    ].join('\n');
  } finally {
    await v.stop();
  }
}

/** Where an agent run's time goes, from diagnostics-channel marks (support/process-timing.mjs) over cold runs. */
export async function agentBreakdown(agentEnv, runs = RUNS) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-timing-'));
  const rows = [];
  const nodeOnly = [];
  const failed = [];
  try {
    for (let i = 0; i < runs; i++) {
      nodeOnly.push((await runOnce({ cmd: process.execPath, args: ['-e', '0'] })).wallMs);
      const file = path.join(dir, `t${i}.json`);
      const r = await runOnce({
        cmd: process.execPath,
        args: ['--import', TIMING, ...agentArgs()],
        env: { ...agentEnv, BENCH_TIMING_FILE: file },
      });
      const t = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
      if ((r.code === 0 || r.code === 1) && t?.imdsRequests > 0 && t.awsRequests > 0)
        rows.push({ ...t, wall: r.wallMs });
      else failed.push(`exit ${r.code}: ${redact(r.stderr).slice(0, 300)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (rows.length === 0) throw new Error(`every timed agent run failed; first: ${failed[0]}`);
  const med = (f) => quantile(rows.map(f), 0.5);
  const phases = [
    ['`node -e 0` (separate cold process: start + exit)', quantile(nodeOnly, 0.5)],
    ['node boot until user code (performance.now() at preload)', med((t) => t.nodeBoot)],
    [
      'load + evaluate the bundle, parse args, until the first IMDS request',
      med((t) => t.firstImdsStart - t.preloadEnd),
    ],
    ['IMDS (first request start → last response)', med((t) => t.lastImdsEnd - t.firstImdsStart)],
    [
      'after IMDS until the first AWS request (lazy SDK load, signing)',
      med((t) => t.firstAwsStart - t.lastImdsEnd),
    ],
    ['AWS probes (first request start → last response)', med((t) => t.lastAwsEnd - t.firstAwsStart)],
    ['after the last response until exit (report, exit)', med((t) => t.exit - t.lastAwsEnd)],
    ['total inside the process (timeOrigin → exit)', med((t) => t.exit)],
    ['wall, outside (spawn → close), with the timing preload', med((t) => t.wall)],
  ];
  return [
    `### Agent time breakdown (median of ${runs} cold runs with a diagnostics-channel preload)`,
    '',
    '| phase | median |',
    '|---|---|',
    ...phases.map(([label, v]) => `| ${label} | ${ms(v)} |`),
    '',
    `Requests per run: IMDS ${med((t) => t.imdsRequests)}, AWS ${med((t) => t.awsRequests)}.${failed.length ? ` ${failed.length} run(s) left out (no complete timing): ${failed[0]}` : ''}`,
    'Phases are medians taken one by one, so they need not add up to the total.',
  ].join('\n');
}

export const run = () => runBench(ID, TITLE, body);
if (isMain(import.meta.url)) await run();
