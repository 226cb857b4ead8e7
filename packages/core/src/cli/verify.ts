import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport } from '@instance-role/agent';
import { AgentError, type Problem, ValidationError } from '../errors.js';
import { type FleetResult, verifyFleet } from '../verify-fleet.js';
import { type AgentExpectations, verifyOverSsh } from '../verify-ssh.js';
import { EXIT } from './shared.js';

/** `verify --ssh` exits 3 when the instance has no role credentials (same as the agent). */
export const EXIT_NO_ROLE = 3;

export const HELP = `Usage:
  instance-role verify --ssh [user@]host [--port N] [--identity FILE] [--ssh-option OPT]...
                       [--env NAME=VALUE]... [expectations] [--timeout-ms N] [--json]
  instance-role verify --fleet (--instance ID... | --tag KEY=VALUE[,VALUE]...) [expectations]
                       [--concurrency N] [--timeout-ms N] [--bundle-s3-uri S3URI | --bundle-url URL]
                       [--output-s3-bucket BUCKET] [--json]

Expectations:
  --preset P          preset whose expectations the agent checks (repeatable), e.g. s3-read-only
  --expect-role NAME  fail unless the instance uses this role
  --expect FILE       an 'instance-role ensure --json' manifest (or its expect field)

--ssh streams the one-file agent to 'node' on the instance over your ssh (config, agent and
known_hosts apply; BatchMode, host-key checking stays on). --fleet sends it through SSM Run Command
(AWS-RunShellScript, 50 instances per call or tag targets); the bundle is too big to inline, so
upload it once and pass --bundle-s3-uri (fetched with the instance role) or --bundle-url.

Exit codes: 0 every instance passed, 1 a check failed or an instance was not verified,
2 usage error, 3 (--ssh) the instance has no role credentials.`;

const OPTIONS = {
  ssh: { type: 'string' },
  fleet: { type: 'boolean' },
  port: { type: 'string' },
  identity: { type: 'string' },
  'ssh-option': { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  instance: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  preset: { type: 'string', multiple: true },
  'expect-role': { type: 'string' },
  expect: { type: 'string' },
  concurrency: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'bundle-s3-uri': { type: 'string' },
  'bundle-url': { type: 'string' },
  'output-s3-bucket': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true });
}

export async function run(argv: readonly string[]): Promise<number> {
  let values: Values;
  try {
    values = parse(argv).values;
  } catch (err) {
    process.stderr.write(`instance-role verify: ${(err as Error).message}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if ((values.ssh === undefined) === !values.fleet) {
    process.stderr.write(`instance-role verify: give --ssh HOST or --fleet (one of them)\n\n${HELP}\n`);
    return EXIT.usage;
  }
  return values.fleet ? runFleet(values) : runSsh(values);
}

async function runSsh(v: Values): Promise<number> {
  const problems: Problem[] = [];
  const [user, host] = splitTarget(v.ssh ?? '');
  const port = optionalInt(v.port, 'port', problems);
  const timeoutMs = optionalInt(v['timeout-ms'], 'timeout-ms', problems);
  const env = pairs(v.env ?? [], 'env', problems);
  const expectations = readExpectations(v, problems);
  if (problems.length > 0) throw new ValidationError(problems);
  try {
    const report = await verifyOverSsh({
      host,
      user,
      port,
      identityFile: v.identity,
      sshOptions: v['ssh-option'],
      env,
      timeoutMs,
      expectations,
    });
    process.stdout.write(
      v.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : `${formatReport(report, { color: process.stdout.isTTY })}\n`,
    );
    return report.verdict === 'pass' ? EXIT.ok : EXIT.failed;
  } catch (err) {
    if (err instanceof AgentError && err.reason === 'no-role') {
      process.stderr.write(`instance-role: ${err.message}\n`);
      return EXIT_NO_ROLE;
    }
    throw err;
  }
}

async function runFleet(v: Values): Promise<number> {
  const problems: Problem[] = [];
  const concurrency = optionalInt(v.concurrency, 'concurrency', problems);
  const timeoutMs = optionalInt(v['timeout-ms'], 'timeout-ms', problems);
  const tagPairs = pairs(v.tag ?? [], 'tag', problems);
  const expectations = readExpectations(v, problems);
  if (problems.length > 0) throw new ValidationError(problems);
  const tags: Record<string, string[]> = {};
  for (const [k, value] of Object.entries(tagPairs ?? {})) tags[k] = value.split(',');
  const fleet = await verifyFleet({
    instanceIds: v.instance,
    tags: v.tag ? tags : undefined,
    expectations,
    concurrency,
    timeoutMs,
    bundleS3Uri: v['bundle-s3-uri'],
    bundleUrl: v['bundle-url'],
    outputS3Bucket: v['output-s3-bucket'],
  });
  process.stdout.write(v.json ? `${JSON.stringify(fleet, null, 2)}\n` : formatFleet(fleet));
  const all = fleet.instances.length;
  return all > 0 && fleet.counts.passed === all ? EXIT.ok : EXIT.failed;
}

/** The fleet as a table: one line per instance, then the failures grouped. */
export function formatFleet(fleet: FleetResult): string {
  const c = fleet.counts;
  const lines = [
    `fleet: ${fleet.instances.length} instance(s), ${fleet.commandIds.length} command(s), ${(fleet.durationMs / 1000).toFixed(1)} s${fleet.deadlineReached ? ' (deadline reached)' : ''}`,
    `  passed ${c.passed}  failed ${c.failed}  unreachable ${c.unreachable}  not-managed ${c['not-managed']}  error ${c.error}`,
    '',
    `${'INSTANCE'.padEnd(21)} ${'OUTCOME'.padEnd(11)} ${'ROLE'.padEnd(24)} DETAIL`,
  ];
  for (const i of fleet.instances) {
    const failing = i.report
      ? [
          ...i.report.findings.filter((f) => f.severity !== 'info').map((f) => f.code),
          ...i.report.checks.filter((k) => !k.ok).map((k) => k.action),
        ]
      : [];
    const detail = failing.join(', ') || i.problem || '';
    lines.push(
      `${i.instanceId.padEnd(21)} ${i.outcome.padEnd(11)} ${(i.report?.role.name ?? '-').padEnd(24)} ${detail}`,
    );
  }
  if (fleet.groups.length > 0) lines.push('', 'grouped:');
  for (const g of fleet.groups) {
    lines.push(`  ${g.key} (${g.instanceIds.length}): ${g.description}`, `    ${g.instanceIds.join(' ')}`);
  }
  if (!fleet.managedCheck)
    lines.push(
      '',
      'note: DescribeInstanceInformation was not available; unmanaged instances show as unreachable',
    );
  return `${lines.join('\n')}\n`;
}

function splitTarget(target: string): [string | undefined, string] {
  const at = target.lastIndexOf('@');
  return at < 0 ? [undefined, target] : [target.slice(0, at), target.slice(at + 1)];
}

function optionalInt(raw: string | undefined, field: string, problems: Problem[]): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) problems.push({ field: `--${field}`, rule: 'a whole number', value: raw });
  return Number(raw);
}

function pairs(
  list: readonly string[],
  field: string,
  problems: Problem[],
): Record<string, string> | undefined {
  if (list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) problems.push({ field: `--${field}`, rule: 'NAME=VALUE', value: item });
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function readExpectations(v: Values, problems: Problem[]): AgentExpectations {
  let expect: object | undefined;
  if (v.expect) {
    try {
      expect = JSON.parse(readFileSync(v.expect, 'utf8'));
    } catch (err) {
      problems.push({
        field: '--expect',
        rule: 'a readable JSON file',
        value: v.expect,
        hint: (err as Error).message,
      });
    }
  }
  return { presets: v.preset, expectRole: v['expect-role'], expect };
}
