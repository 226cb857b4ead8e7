import { readFileSync } from 'node:fs';
import { mergeExpectations, resolvePreset } from '@instance-role/core/presets';
import { AgentError, AgentUsageError } from './errors.js';
import type { PlannedProbe } from './probes.js';
import type { Expectations, ProbeService, ProbeSpec } from './types.js';

const SERVICES: readonly ProbeService[] = ['s3', 'dynamodb', 'iam', 'sts', 'logs'];

/** Expectations and the role they name, read from an `--expect` manifest. */
export interface ExpectFile {
  readonly expect: Expectations;
  readonly role: string | null;
}

/** Targeted read-only probes. */
export interface ProbeTargets {
  readonly bucket?: string;
  readonly key?: string;
  readonly table?: string;
  readonly roleName?: string;
}

/**
 * Resolve preset references with core's preset data, bundled into the agent at build time.
 *
 * @example
 * presetExpectations(['s3-read-only']).deny; // [{ service: 'dynamodb', action: 'dynamodb:ListTables' }, ...]
 */
export function presetExpectations(refs: readonly string[], region?: string): Expectations {
  const problems: string[] = [];
  const list: Expectations[] = [];
  for (const ref of refs) {
    try {
      list.push(resolvePreset(ref, region ? { region } : {}).expect);
    } catch (error) {
      problems.push(`--preset ${ref}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new AgentUsageError(problems);
  return mergeExpectations(list) as Expectations;
}

/**
 * Read an `--expect` file: the whole `instance-role ensure --json` manifest or just its `expect` field.
 *
 * @example
 * const { expect, role } = readExpectFile('manifest.json');
 */
export function readExpectFile(path: string): ExpectFile {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new AgentError('EXPECT_FILE', `--expect ${path}: not readable JSON (${(cause as Error).message})`, {
      cause,
    });
  }
  return parseExpectations(value, `--expect ${path}`);
}

/** Validate a manifest value; lists every problem. */
export function parseExpectations(value: unknown, where: string): ExpectFile {
  const root = (value ?? {}) as Record<string, unknown>;
  const expect = (typeof root.expect === 'object' && root.expect !== null ? root.expect : root) as Record<
    string,
    unknown
  >;
  const problems: string[] = [];
  const lists = (['allow', 'deny', 'writes'] as const).map((field) => {
    const list = expect[field] ?? [];
    if (!Array.isArray(list)) {
      problems.push(`${where}: ${field} must be an array`);
      return [];
    }
    return list.filter((spec, i) => {
      const s = (spec ?? {}) as Record<string, unknown>;
      const bad =
        !SERVICES.includes(s.service as ProbeService) ||
        typeof s.action !== 'string' ||
        (s.resource !== undefined && typeof s.resource !== 'string');
      if (bad)
        problems.push(
          `${where}: ${field}[${i}] must be { service: ${SERVICES.join('|')}, action, resource? }`,
        );
      return !bad;
    }) as ProbeSpec[];
  });
  if (problems.length > 0) throw new AgentUsageError(problems);
  const role = typeof expect.role === 'string' ? expect.role : null;
  return { expect: { allow: lists[0]!, deny: lists[1]!, writes: lists[2]! }, role };
}

/**
 * The probes of a run: the default read-only probes, targeted ones, and whatever the expectations
 * name. Without expectations every probe expects `any` (discovery). Writes only with `writeProbes`.
 *
 * @example
 * planProbes(null, { bucket: 'my-bucket' }, false).map((p) => p.spec.action);
 */
export function planProbes(
  expect: Expectations | null,
  targets: ProbeTargets,
  writeProbes: boolean,
): PlannedProbe[] {
  const plan = new Map<string, PlannedProbe>();
  const add = (spec: ProbeSpec, expected: PlannedProbe['expected']) => {
    const id = `${spec.action}|${spec.resource ?? ''}`;
    const current = plan.get(id);
    if (!current || current.expected === 'any') plan.set(id, { spec, expected });
  };
  add({ service: 'sts', action: 'sts:GetCallerIdentity' }, 'allow');
  for (const spec of defaultProbes(targets)) add(spec, 'any');
  for (const spec of expect?.allow ?? []) add(spec, 'allow');
  for (const spec of expect?.deny ?? []) add(spec, 'deny');
  if (writeProbes) for (const spec of expect?.writes ?? []) add(spec, 'allow');
  return [...plan.values()];
}

function defaultProbes(t: ProbeTargets): ProbeSpec[] {
  const specs: ProbeSpec[] = [
    { service: 's3', action: 's3:ListAllMyBuckets' },
    { service: 'dynamodb', action: 'dynamodb:ListTables' },
    { service: 'iam', action: 'iam:ListRoles' },
  ];
  if (t.bucket) specs.push({ service: 's3', action: 's3:ListBucket', resource: t.bucket });
  if (t.bucket && t.key)
    specs.push({ service: 's3', action: 's3:GetObject', resource: `${t.bucket}/${t.key}` });
  if (t.table) specs.push({ service: 'dynamodb', action: 'dynamodb:DescribeTable', resource: t.table });
  if (t.roleName) specs.push({ service: 'iam', action: 'iam:GetRole', resource: t.roleName });
  return specs;
}
