// 1. ensure + attach, cold process: our CLI versus the AWS CLI sequence (and boto3, for reference).
import path from 'node:path';
import {
  BENCH_DIR,
  clients,
  compare,
  freshName,
  isMain,
  ourEnsureAttach,
  ratio,
  runBench,
  runInstances,
  sec,
  startStack,
  statsTable,
  verdict,
} from './lib.mjs';
import { associatedProfile, countsText } from './support/aws-setup.mjs';
import { cliLoadBreakdown } from './support/cli-load.mjs';

export const ID = '01-ensure-attach';
export const TITLE = '1. ensure + attach, cold process';

export async function body() {
  const ours = ourEnsureAttach();
  const stack = await startStack();
  try {
    const { ec2 } = clients(stack.moto.endpoint);
    const env = { AWS_ENDPOINT_URL: stack.endpoint };
    const callsOf = {};
    const contender = (label, argv) => ({
      label,
      env,
      async prepare() {
        const [instance] = await runInstances(ec2, 1);
        const name = freshName('bench1');
        stack.proxy.resetCounts();
        return { ...argv(name, instance), name, instance };
      },
      async after(_result, extra) {
        callsOf[label] ??= stack.proxy.counts();
        const got = await associatedProfile(ec2, extra.instance);
        if (got !== extra.name) throw new Error(`${label}: instance ${extra.instance} has profile ${got}`);
      },
    });
    const stats = await compare([
      contender('instance-role CLI (node)', ours.argv),
      contender('AWS CLI v1, 5 commands', (name, instance) => ({
        cmd: 'bash',
        args: [path.join(BENCH_DIR, 'peers/ensure-attach.sh'), name, instance],
      })),
      contender('boto3, 1 script (reference)', (name, instance) => ({
        cmd: 'python3',
        args: [path.join(BENCH_DIR, 'peers/ensure-attach.py'), name, instance],
      })),
    ]);
    const [mine, cli] = stats;
    return [
      `Ours: ${ours.how}.`,
      'Fresh role/profile names and a fresh moto instance per run (RunInstances before the clock starts).',
      'Each run ends with the profile associated (checked after the clock stops). No propagation delay here',
      '(benchmark 4 covers it); the AWS CLI sequence has no `sleep`.',
      '',
      statsTable(stats),
      '',
      `- goal ≥ 9× faster than the AWS CLI: ${ratio(cli.median, mine.median)} → ${verdict(cli.median / mine.median >= 9)}`,
      `- goal ours < 0.45 s (median): ${sec(mine.median)} → ${verdict(mine.median < 450)}`,
      '',
      'API calls of the first run of each (through the proxy):',
      '',
      ...Object.entries(callsOf).map(([label, c]) => `- ${label}: ${countsText(c)}`),
      '',
      await cliLoadBreakdown({
        env,
        argv: async () => {
          const [instance] = await runInstances(ec2, 1);
          return ours.argv(freshName('bench1t'), instance);
        },
      }),
    ].join('\n');
  } finally {
    await stack.stop();
  }
}

export const run = () => runBench(ID, TITLE, body);
if (isMain(import.meta.url)) await run();
