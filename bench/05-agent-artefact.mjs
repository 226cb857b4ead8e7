// 5. The agent artefact: bytes of the one-file bundle, and peak RSS of a verify run.
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { compare, DIST, isMain, mb, positiveInt, RUNS, requireFile, runBench, sec, verdict } from './lib.mjs';
import { agentArgs, startVerifyStack } from './support/verify-stack.mjs';

export const ID = '05-agent-artefact';
export const TITLE = '5. Agent artefact: size and peak RSS';
const MB = 1024 * 1024;

export async function body() {
  requireFile(DIST.agentBundle, 'agent one-file bundle');
  const bytes = statSync(DIST.agentBundle).size;
  const gzipped = gzipSync(readFileSync(DIST.agentBundle), { level: 9 }).length;
  const v = await startVerifyStack();
  try {
    const runs = positiveInt(process.env.BENCH_RSS_RUNS, Math.min(RUNS, 10));
    const stats = await compare(
      [
        { label: 'node -e 0 (baseline)', cmd: process.execPath, args: ['-e', '0'] },
        {
          label: 'agent --help (bundle loaded, no probes)',
          cmd: process.execPath,
          args: [DIST.agentBundle, '--help'],
        },
        {
          label: 'agent verify (--json --preset s3-read-only)',
          cmd: process.execPath,
          args: agentArgs(),
          env: v.agentEnv,
          okCodes: [0, 1],
        },
      ],
      { runs },
    );
    const [base, loaded, verify] = stats;
    return [
      `- \`packages/agent/dist/instance-role-agent.mjs\`: ${bytes.toLocaleString('en')} bytes (${(bytes / MB).toFixed(2)} MiB), gzip -9 ${gzipped.toLocaleString('en')} bytes`,
      `- goal ≤ 1 MB: → ${verdict(bytes <= 1_000_000)}`,
      '',
      `Peak RSS (GNU time %M), ${runs} cold runs each, alternating:`,
      '',
      '| run | peak RSS median | peak RSS max | wall median |',
      '|---|---|---|---|',
      ...stats.map((s) => `| ${s.label} | ${mb(s.rssMedianMb)} | ${mb(s.rssMaxMb)} | ${sec(s.median)} |`),
      '',
      `- goal verify run ≤ 70 MB peak RSS (median): ${mb(verify.rssMedianMb)} → ${verdict(verify.rssMedianMb <= 70)}`,
      `- of which: node itself ${mb(base.rssMedianMb)}, loading the bundle +${mb(loaded.rssMedianMb - base.rssMedianMb)}, the verify run (IMDS, lazily loaded SDK clients, probes) +${mb(verify.rssMedianMb - loaded.rssMedianMb)}`,
      '',
      '(MB here = MiB, 1,048,576 bytes; the 1 MB size goal is read as 1,000,000 bytes.)',
    ].join('\n');
  } finally {
    await v.stop();
  }
}

export const run = () => runBench(ID, TITLE, body);
if (isMain(import.meta.url)) await run();
