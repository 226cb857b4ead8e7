import { parseArgs } from 'node:util';
import type { _InstanceType, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { hopLimitProblems } from '../ec2-ids.js';
import { ensureInstanceRole } from '../ensure-instance-role.js';
import { assertNoProblems, type Problem } from '../errors.js';
import { launchWithRole } from '../launch.js';
import { parseHopLimit, required } from './attach.js';
import { specFromArgs } from './ensure.js';
import { type CliIo, createProgress, processIo } from './progress.js';
import { EXIT } from './shared.js';

const USAGE = `Usage: instance-role launch --name NAME --image-id AMI --instance-type T [--preset P]... [options]

Ensure the role NAME (and its instance profile) with the presets, then launch instances with it and
IMDSv2 required.

  --name NAME               role and instance profile name
  --image-id AMI            e.g. ami-0123456789abcdef0
  --instance-type T         e.g. t3.micro
  --preset P                policy preset, repeatable (run 'instance-role presets')
  --count N                 how many instances (default 1)
  --subnet-id S             subnet to launch into
  --key-name K              EC2 key pair for SSH
  --security-group-id SG    repeatable
  --containers              hop limit 2, so containers on the instance can reach IMDS
  --hop-limit N             explicit IMDS hop limit (1-64)
  --json                    print the result as JSON (includes the ensure manifest); no progress output
`;

const OPTIONS = {
  name: { type: 'string' },
  'image-id': { type: 'string' },
  'instance-type': { type: 'string' },
  preset: { type: 'string', multiple: true },
  count: { type: 'string', default: '1' },
  'subnet-id': { type: 'string' },
  'key-name': { type: 'string' },
  'security-group-id': { type: 'string', multiple: true },
  containers: { type: 'boolean', default: false },
  'hop-limit': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parse>['values'];
const parse = (argv: readonly string[]) => parseArgs({ args: [...argv], options: OPTIONS, strict: true });

/** `instance-role launch`: the role and a new instance using it, end to end. */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const { values } = parse(argv);
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const count = Number(values.count);
  assertNoProblems([
    ...required({
      '--name': values.name,
      '--image-id': values['image-id'],
      '--instance-type': values['instance-type'],
    }),
    ...(values.name ? specFromArgs({ name: values.name, preset: values.preset }).problems : []),
    ...countProblems(count),
    ...hopLimitProblems(parseHopLimit(values['hop-limit']), '--hop-limit'),
  ]);
  const progress = createProgress(io, { quiet: values.json });
  try {
    const ensure = await ensureInstanceRole(
      { name: values.name as string, policies: values.preset ?? [] },
      { onEvent: progress.onEvent },
    );
    const launch = await launchWithRole(runInput(values, count), {
      instanceProfile: ensure.instanceProfile.name,
      containers: values.containers,
      hopLimit: parseHopLimit(values['hop-limit']),
      onEvent: progress.onEvent,
    });
    progress.done();
    const manifest = {
      role: ensure.role,
      instanceProfile: ensure.instanceProfile,
      expect: ensure.expect,
      changed: ensure.changed,
    };
    const out = {
      ...manifest,
      instanceIds: launch.instanceIds,
      reservationId: launch.reservationId,
      metadataOptions: launch.input.MetadataOptions,
    };
    io.stdout.write(values.json ? `${JSON.stringify(out, null, 2)}\n` : `${describeLaunch(out)}\n`);
    return EXIT.ok;
  } finally {
    progress.done();
  }
}

function runInput(values: Values, count: number): RunInstancesCommandInput {
  const groups = values['security-group-id'] ?? [];
  return {
    ImageId: values['image-id'],
    InstanceType: values['instance-type'] as _InstanceType,
    MinCount: count,
    MaxCount: count,
    ...(values['subnet-id'] ? { SubnetId: values['subnet-id'] } : {}),
    ...(values['key-name'] ? { KeyName: values['key-name'] } : {}),
    ...(groups.length > 0 ? { SecurityGroupIds: groups } : {}),
  };
}

function countProblems(count: number): Problem[] {
  return Number.isInteger(count) && count >= 1 && count <= 100
    ? []
    : [{ field: '--count', rule: 'an integer from 1 to 100', value: String(count) }];
}

function describeLaunch(out: {
  role: { arn: string };
  instanceProfile: { name: string };
  instanceIds: readonly string[];
  metadataOptions?: { HttpPutResponseHopLimit?: number };
}): string {
  return [
    `Launched ${out.instanceIds.join(', ')} with instance profile ${out.instanceProfile.name} (role ${out.role.arn})`,
    `IMDSv2 required, hop limit ${out.metadataOptions?.HttpPutResponseHopLimit}`,
  ].join('\n');
}
