import { parseArgs } from 'node:util';
import { type AttachRoleResult, attachRole } from '../attach-role.js';
import { hopLimitProblems, instanceIdProblems, profileProblems } from '../ec2-ids.js';
import { type EnsureAndAttachResult, ensureAndAttach } from '../ensure-and-attach.js';
import { assertNoProblems, type Problem } from '../errors.js';
import type { InstanceRoleSpec } from '../spec.js';
import { type AttachArgs, parseHopLimit } from './attach-options.js';
import { type CliIo, createProgress, processIo } from './progress.js';
import { EXIT } from './shared.js';

export { ATTACH_OPTIONS, type AttachArgs, attachArgProblems, parseHopLimit } from './attach-options.js';

const USAGE = `Usage: instance-role attach --instance ID --profile NAME [--replace] [--hop-limit N] [--json]

Attach an instance profile (its role) to an existing instance.

  --instance ID     the instance, i-0123456789abcdef0
  --profile NAME    instance profile name or ARN
  --replace         replace another profile already on the instance
  --hop-limit N     also require IMDSv2 with this hop limit (1; 2 when containers read IMDS)
  --json            print the result as JSON; no progress output
`;

/** `instance-role attach`: attachRole from the command line. */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      instance: { type: 'string' },
      profile: { type: 'string' },
      replace: { type: 'boolean', default: false },
      'hop-limit': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const hopLimit = parseHopLimit(values['hop-limit']);
  assertNoProblems([
    ...required({ '--instance': values.instance, '--profile': values.profile }),
    ...(values.instance ? instanceIdProblems(values.instance, '--instance') : []),
    ...(values.profile ? profileProblems(values.profile, '--profile') : []),
    ...hopLimitProblems(hopLimit, '--hop-limit'),
  ]);
  const progress = createProgress(io, { quiet: values.json });
  const result = await attachRole(
    {
      instanceId: values.instance as string,
      instanceProfile: values.profile as string,
      replace: values.replace,
      ...(hopLimit === undefined ? {} : { metadata: { hopLimit } }),
    },
    { onEvent: progress.onEvent },
  ).finally(() => progress.done());
  io.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${describeAttach(result)}\n`);
  return EXIT.ok;
}

/** Problems for required options that are missing. */
export function required(options: Record<string, string | undefined>): Problem[] {
  return Object.entries(options)
    .filter(([, value]) => value === undefined || value === '')
    .map(([field]) => ({ field, rule: 'required' }));
}

/** One line saying what attach did. */
export function describeAttach(r: AttachRoleResult): string {
  const imds = r.metadata ? `; IMDSv2 required (hop limit ${r.metadata.hopLimit})` : '';
  if (r.action === 'unchanged')
    return `${r.instanceId} already has instance profile ${r.instanceProfile.arn}; nothing to do${imds}`;
  if (r.action === 'associated')
    return `Attached instance profile ${r.instanceProfile.arn} to ${r.instanceId}${imds}`;
  const how =
    r.method === 'disassociate-associate' ? ' (instance stopped: disassociated, then associated)' : '';
  return `Replaced ${r.previousProfile?.arn} with ${r.instanceProfile.arn} on ${r.instanceId}${how}${imds}`;
}

/**
 * `ensure ... --instance ID`: ensure the role, then attach it to each instance, with progress on stderr.
 *
 * @example
 * const { ensure, attachments } = await ensureThenAttach(spec, { instance: ['i-0123456789abcdef0'] });
 */
export async function ensureThenAttach(
  spec: InstanceRoleSpec,
  values: AttachArgs,
  io: CliIo = processIo,
): Promise<EnsureAndAttachResult> {
  const hopLimit = parseHopLimit(values['hop-limit']);
  const progress = createProgress(io, { quiet: values.json });
  return ensureAndAttach(
    spec,
    {
      instances: values.instance ?? [],
      replace: values.replace ?? false,
      ...(hopLimit === undefined ? {} : { metadata: { hopLimit } }),
    },
    { onEvent: progress.onEvent },
  ).finally(() => progress.done());
}
