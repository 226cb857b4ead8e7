// 4. Propagation overshoot: time from the end of the proxy's IAM propagation delay to attach done.
import {
  clients,
  DIST,
  freshName,
  importBuilt,
  isMain,
  ms,
  positiveInt,
  quantile,
  runBench,
  runInstances,
  startStack,
  verdict,
} from './lib.mjs';
import { createRoleAndProfile } from './support/aws-setup.mjs';

export const ID = '04-propagation';
export const TITLE = '4. Propagation overshoot (attachRole in-process)';
const DELAYS = (process.env.BENCH_PROPAGATION_DELAYS ?? '2000,5000,10000')
  .split(',')
  .map(Number)
  .filter((x) => Number.isFinite(x) && x > 0);
const RUNS = positiveInt(process.env.BENCH_PROPAGATION_RUNS, 5);
const FIXED_SLEEP_MS = 30_000;

export async function body() {
  const { attachRole } = await importBuilt(DIST.coreIndex, '@instance-role/core attachRole', ['attachRole']);
  const stack = await startStack();
  try {
    const direct = clients(stack.moto.endpoint);
    const viaProxy = clients(stack.endpoint);
    const rows = [];
    for (const delay of DELAYS) {
      stack.proxy.setPropagationDelay(delay);
      const overshoots = [];
      const attempts = [];
      for (let i = 0; i < RUNS; i++) {
        const [instanceId] = await runInstances(direct.ec2, 1);
        const name = freshName('bench4');
        stack.proxy.resetCounts();
        await createRoleAndProfile(viaProxy.iam, name);
        const added = stack.proxy.calls().findLast((c) => c.action === 'AddRoleToInstanceProfile');
        const delayEnd = added.at + delay;
        await attachRole(
          { instanceId, instanceProfile: name },
          { ec2: viaProxy.ec2, iam: viaProxy.iam, sts: viaProxy.sts, profileJustCreated: true },
        );
        overshoots.push(Date.now() - delayEnd);
        attempts.push(stack.proxy.calls().filter((c) => c.action === 'AssociateIamInstanceProfile').length);
        process.stderr.write(`  delay ${delay} ms run ${i + 1}/${RUNS}\r`);
      }
      rows.push({ delay, overshoots, attempts });
    }
    process.stderr.write('\n');
    const all = rows.flatMap((r) => r.overshoots);
    const overall = quantile(all, 0.5);
    return [
      `${RUNS} runs per delay. Each run: fresh role + profile created through the proxy (the delay starts at`,
      'AddRoleToInstanceProfile, as the proxy saw it), then `attachRole` at once with `profileJustCreated`;',
      'overshoot = attach done − (AddRoleToInstanceProfile + delay). A fixed `sleep 30` before',
      'associate-iam-instance-profile overshoots by 30 s − delay (computed, plus one call).',
      '',
      '| delay | overshoot median | p90 | min | max | AssociateIamInstanceProfile attempts (median) | fixed `sleep 30` overshoot |',
      '|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.delay / 1000} s | ${ms(quantile(r.overshoots, 0.5))} | ${ms(quantile(r.overshoots, 0.9))} | ${ms(Math.min(...r.overshoots))} | ${ms(Math.max(...r.overshoots))} | ${quantile(r.attempts, 0.5)} | ${((FIXED_SLEEP_MS - r.delay) / 1000).toFixed(1)} s |`,
      ),
      '',
      `- goal median overshoot < 1 s: ${ms(overall)} over all ${all.length} runs; worst per-delay median ${ms(Math.max(...rows.map((r) => quantile(r.overshoots, 0.5))))} → ${verdict(rows.every((r) => quantile(r.overshoots, 0.5) < 1000))}`,
    ].join('\n');
  } finally {
    await stack.stop();
  }
}

export const run = () => runBench(ID, TITLE, body);
if (isMain(import.meta.url)) await run();
