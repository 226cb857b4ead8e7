import { parseArgs } from 'node:util';
import { type EnsureResult, ensureInstanceRole } from '../ensure-instance-role.js';
import { InstanceRoleError, type Problem, redactSecrets, ValidationError } from '../errors.js';
import { describeChange, formatPlan } from '../plan.js';
import { type InstanceRoleSpec, validateSpec } from '../spec.js';
import { ATTACH_OPTIONS, attachArgProblems } from './attach-options.js';
import { type CliIo, processIo } from './progress.js';
import { EXIT } from './shared.js';

const USAGE = `Usage: instance-role ensure --name NAME [options]

Create or converge an IAM role EC2 can assume, and its instance profile.

  --name NAME                   role and instance profile name
  --preset P                    a policy preset (repeatable; see 'instance-role presets')
  --policy-arn ARN              a managed policy ARN (repeatable)
  --boundary ARN                permissions boundary policy ARN
  --tag K=V                     a tag for the role and profile (repeatable)
  --path P                      IAM path of a new role and profile (default /)
  --description D               role description
  --max-session-duration S      seconds, 3600-43200
  --prune                       remove policies, tags and a boundary the spec does not list
  --adopt                       manage an existing role/profile that instance-role did not create
  --allow-admin                 permit admin access (*:*, AdministratorAccess, IAMFullAccess, iam:PassRole on *)
  --plan                        print the plan and write nothing
  --instance ID                 also attach the role to this instance (repeatable)
  --replace                     replace another instance profile already on an instance
  --hop-limit N                 with --instance: also require IMDSv2 with this hop limit
  --json                        print the result object as JSON

Exit codes: 0 done, 1 an AWS operation failed, 2 invalid input (nothing written).
`;

/** The options of `ensure`, one table: other commands that build on ensure spread it into theirs. */
export const ENSURE_OPTIONS = {
  name: { type: 'string' },
  preset: { type: 'string', multiple: true },
  'policy-arn': { type: 'string', multiple: true },
  boundary: { type: 'string' },
  tag: { type: 'string', multiple: true },
  path: { type: 'string' },
  description: { type: 'string' },
  'max-session-duration': { type: 'string' },
  prune: { type: 'boolean' },
  adopt: { type: 'boolean' },
  'allow-admin': { type: 'boolean' },
  plan: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parsed values of the ENSURE_OPTIONS table. */
export interface EnsureArgs {
  readonly name?: string;
  readonly preset?: readonly string[];
  readonly 'policy-arn'?: readonly string[];
  readonly boundary?: string;
  readonly tag?: readonly string[];
  readonly path?: string;
  readonly description?: string;
  readonly 'max-session-duration'?: string;
  readonly prune?: boolean;
  readonly adopt?: boolean;
  readonly 'allow-admin'?: boolean;
}

/**
 * Build a spec from command-line values, with every problem (command-line and spec) listed.
 *
 * @example
 * specFromArgs({ name: 'web', preset: ['s3-read-only'], tag: ['team=web'] }).problems; // []
 */
export function specFromArgs(values: EnsureArgs): { spec: InstanceRoleSpec; problems: Problem[] } {
  const { tags, problems } = parseTags(values.tag ?? []);
  const seconds = values['max-session-duration'];
  if (seconds !== undefined && !/^\d+$/.test(seconds)) {
    problems.push({
      field: '--max-session-duration',
      rule: 'an integer from 3600 to 43200 seconds',
      value: seconds,
    });
  }
  const spec: InstanceRoleSpec = {
    name: values.name ?? '',
    policies: [...(values.preset ?? []), ...(values['policy-arn'] ?? [])],
    tags,
    ...(values.boundary === undefined ? {} : { permissionsBoundary: values.boundary }),
    ...(values.path === undefined ? {} : { path: values.path }),
    ...(values.description === undefined ? {} : { description: values.description }),
    ...(seconds === undefined || problems.some((p) => p.field === '--max-session-duration')
      ? {}
      : { maxSessionDuration: Number(seconds) }),
    prune: values.prune ?? false,
    adopt: values.adopt ?? false,
    allowAdmin: values['allow-admin'] ?? false,
  };
  const presets = values.preset?.length ?? 0;
  const specProblems = validateSpec(spec).map((p) => ({ ...p, field: cliField(p.field, presets) }));
  return { spec, problems: [...problems, ...specProblems] };
}

/** `instance-role ensure`: ensureInstanceRole from the command line. */
export async function run(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { ...ENSURE_OPTIONS, ...ATTACH_OPTIONS },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return EXIT.ok;
    }
    const { spec, problems } = specFromArgs(values);
    problems.push(...attachArgProblems(values));
    if (problems.length > 0) throw new ValidationError(problems);
    if (values.instance?.length && !values.plan) {
      const { describeAttach, ensureThenAttach } = await import('./attach.js');
      const both = await ensureThenAttach(spec, values, io);
      const out = { ...both.ensure, attachments: both.attachments };
      io.stdout.write(
        values.json
          ? `${JSON.stringify(out, null, 2)}\n`
          : `${[describeEnsure(both.ensure), ...both.attachments.map(describeAttach)].join('\n')}\n`,
      );
      return EXIT.ok;
    }
    const result = await ensureInstanceRole(spec, { dryRun: values.plan ?? false });
    io.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${describeEnsure(result)}\n`);
    return EXIT.ok;
  } catch (err) {
    return reportFailure(io, err);
  }
}

/**
 * The human output of ensure: the plan as a diff, then what was done.
 *
 * @example
 * describeEnsure(result); // 'Role web:\n  + create role web ...\n\nDone: 4 changes applied. ...'
 */
export function describeEnsure(r: EnsureResult): string {
  const plan = formatPlan(r.plan);
  if (r.dryRun) return `${plan}\n\nPlan only (--plan): nothing was written.`;
  if (r.plan.changes.length === 0) {
    return `${plan}\nRole ${r.role.arn}\nInstance profile ${r.instanceProfile.arn}`;
  }
  const extra = r.applied.filter((c) => !r.plan.changes.some((p) => describeChange(p) === describeChange(c)));
  const also =
    extra.length > 0
      ? `\nAlso applied after a concurrent change:\n${extra.map((c) => `  ${describeChange(c)}`).join('\n')}`
      : '';
  return `${plan}\n\nDone: ${r.applied.length} change${r.applied.length === 1 ? '' : 's'} applied.${also}\nRole ${r.role.arn}\nInstance profile ${r.instanceProfile.arn}`;
}

/** Print an error without a stack trace or secrets; exit 2 for invalid input, 1 otherwise. */
export function reportFailure(io: CliIo, err: unknown): number {
  if (err instanceof ValidationError) {
    io.stderr.write(`instance-role: ${err.message}\nNothing was written.\n`);
    return EXIT.usage;
  }
  if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    io.stderr.write(`instance-role: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof InstanceRoleError ? ` [${err.code}]` : '';
  io.stderr.write(`instance-role: error${code}: ${redactSecrets(message)}\n`);
  return EXIT.failed;
}

/** Name a spec field by the option that set it, e.g. `policies[2]` -> `--policy-arn` when 2 presets came first. */
function cliField(field: string, presets: number): string {
  const index = /^policies\[(\d+)\]$/.exec(field)?.[1];
  if (index !== undefined) return Number(index) < presets ? '--preset' : '--policy-arn';
  const renamed: Record<string, string> = {
    name: '--name',
    permissionsBoundary: '--boundary',
    path: '--path',
    description: '--description',
    maxSessionDuration: '--max-session-duration',
    policies: '--preset/--policy-arn',
  };
  return renamed[field] ?? field.replace(/^tags\./, '--tag ');
}

function parseTags(pairs: readonly string[]): { tags: Record<string, string>; problems: Problem[] } {
  const tags: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push({ field: '--tag', rule: 'KEY=VALUE', value: pair });
      continue;
    }
    const key = pair.slice(0, eq);
    if (key in tags) problems.push({ field: '--tag', rule: `duplicate tag key ${key}`, value: pair });
    tags[key] = pair.slice(eq + 1);
  }
  return { tags, problems };
}
