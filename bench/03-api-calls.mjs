// 3. API calls counted by the sandbox proxy: fresh ensure+attach, a converged re-run, the AWS CLI sequence.
import path from 'node:path';
import {
  BENCH_DIR,
  clients,
  freshName,
  isMain,
  ourEnsureAttach,
  redact,
  runBench,
  runInstances,
  runOnce,
  startStack,
  verdict,
} from './lib.mjs';
import { countsText, readsAndWrites } from './support/aws-setup.mjs';

export const ID = '03-api-calls';
export const TITLE = '3. API calls (counted by the proxy)';

export async function body() {
  const ours = ourEnsureAttach();
  const stack = await startStack();
  try {
    const { ec2 } = clients(stack.moto.endpoint);
    const env = { AWS_ENDPOINT_URL: stack.endpoint };
    const counted = async (label, { cmd, args }) => {
      stack.proxy.resetCounts();
      const r = await runOnce({ cmd, args, env });
      if (r.code !== 0) throw new Error(`${label} failed (exit ${r.code}):\n${redact(r.stderr || r.stdout)}`);
      const counts = stack.proxy.counts();
      return { label, counts, ...readsAndWrites(counts) };
    };
    const [oursInstance, cliInstance] = await runInstances(ec2, 2);
    const name = freshName('bench3');
    const rows = [
      await counted('instance-role, fresh', ours.argv(name, oursInstance)),
      await counted('instance-role, converged re-run', ours.argv(name, oursInstance)),
      await counted('AWS CLI sequence, fresh (5 commands)', {
        cmd: 'bash',
        args: [path.join(BENCH_DIR, 'peers/ensure-attach.sh'), freshName('bench3cli'), cliInstance],
      }),
    ];
    const rerun = rows[1];
    return [
      `Ours: ${ours.how}.`,
      '',
      '| run | reads | writes | total | calls |',
      '|---|---|---|---|---|',
      ...rows.map(
        (r) => `| ${r.label} | ${r.reads} | ${r.writes} | ${r.reads + r.writes} | ${countsText(r.counts)} |`,
      ),
      '',
      'Reads are actions starting Get/List/Describe/Simulate/Head/Lookup; everything else counts as a write.',
      '',
      `- goal re-run ≤ 5 reads, 0 writes: ${rerun.reads} reads, ${rerun.writes} writes → ${verdict(rerun.reads <= 5 && rerun.writes === 0)}`,
    ].join('\n');
  } finally {
    await stack.stop();
  }
}

export const run = () => runBench(ID, TITLE, body);
if (isMain(import.meta.url)) await run();
