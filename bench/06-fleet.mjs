// 6. Fleet: SendCommand and polling calls to verify 1,000 instances through SSM Run Command.
import {
  clients,
  DIST,
  importBuilt,
  isMain,
  positiveInt,
  runBench,
  runInstances,
  SkipError,
  sdk,
  sec,
  startStack,
  verdict,
} from './lib.mjs';
import { countsText } from './support/aws-setup.mjs';

export const ID = '06-fleet';
export const TITLE = '6. Fleet verify: SendCommand and polling calls';
const FLEET = positiveInt(process.env.BENCH_FLEET_SIZE, 1000);
const POLLS = ['GetCommandInvocation', 'ListCommandInvocations', 'ListCommands'];

export async function body() {
  const { verifyFleet } = await importBuilt(DIST.coreIndex, '@instance-role/core verifyFleet', [
    'verifyFleet',
  ]);
  const sandbox = await importBuilt(DIST.sandbox, '@instance-role/sandbox', ['startSsmStandIn']).catch(() => {
    throw new SkipError('@instance-role/sandbox startSsmStandIn not built');
  });
  const stack = await startStack();
  let standIn;
  try {
    const direct = clients(stack.moto.endpoint);
    const ids = await runInstances(direct.ec2, FLEET);
    // SDK -> SSM stand-in (answers DescribeInstanceInformation, which moto lacks) -> counting proxy -> moto
    standIn = await sandbox.startSsmStandIn({ target: stack.endpoint, managedInstanceIds: ids });
    const { SSMClient } = sdk('client-ssm');
    const viaProxy = clients(stack.endpoint);
    const ssm = new SSMClient({ ...viaProxy.config, endpoint: standIn.endpoint });
    stack.proxy.resetCounts();
    const started = Date.now();
    const fleet = await verifyFleet({
      instanceIds: ids,
      ssm,
      ec2: viaProxy.ec2,
      bundleS3Uri: 's3://instance-role-tools/instance-role-agent.mjs',
      timeoutMs: 300_000,
    });
    const took = Date.now() - started;
    const counts = { ...stack.proxy.counts() };
    const described = standIn.counts().DescribeInstanceInformation ?? 0;
    if (described) counts['ssm:DescribeInstanceInformation'] = described;
    const sends = counts['ssm:SendCommand'] ?? 0;
    const polls = POLLS.reduce((n, a) => n + (counts[`ssm:${a}`] ?? 0), 0);
    const reported = FLEET - (fleet.counts.unreachable ?? 0);
    return [
      `${FLEET} moto instances (RunInstances in batches of 250, untimed), all listed as managed by the sandbox SSM`,
      'stand-in; `verifyFleet` from @instance-role/core with its defaults (bundle fetched from S3 on the instance).',
      "moto marks every invocation `Success` at once (with empty output, so every outcome is 'error': no report",
      'to parse), so the polling figure is the floor: one polling round, no instance still running.',
      '',
      `- SendCommand calls: ${sends} → goal ≤ 20: ${verdict(sends <= 20)}`,
      `- polling calls until all ${reported} reported: ${polls} (${POLLS.map((a) => `${a} ${counts[`ssm:${a}`] ?? 0}`).join(', ')})`,
      `- outcomes: ${JSON.stringify(fleet.counts)}; commands: ${fleet.commandIds.length}; wall ${sec(took)}`,
      `- all calls: ${countsText(counts)}`,
      '',
      `Polling reads each invocation with GetCommandInvocation, ${polls} calls here. One read per instance is the floor`,
      'as long as the report is read from StandardOutputContent (ListCommandInvocations `Details: true` truncates',
      'plugin output to 2,500 characters). While instances are still running, each extra round costs one call per',
      `pending instance; ListCommandInvocations per command (50 per page, about ${Math.ceil(FLEET / 50)} calls per round here)`,
      'would find the finished ones first, so only those are read.',
    ].join('\n');
  } finally {
    await standIn?.close();
    await stack.stop();
  }
}

export const run = () => runBench(ID, TITLE, body);
if (isMain(import.meta.url)) await run();
