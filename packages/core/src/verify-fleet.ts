import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { readAgentBundle } from './agent-bundle.js';
import { defaultEc2 } from './clients/ec2.js';
import { defaultSsm } from './clients/ssm.js';
import { AwsOperationError, assertNoProblems, type Problem } from './errors.js';
import {
  type AgentExpectations,
  type AgentReport,
  agentArgs,
  parseReport,
  shellQuote,
} from './verify-ssh.js';

/** How one instance came out. `unreachable`: the command never ran or never finished there. */
export type FleetOutcome = 'passed' | 'failed' | 'unreachable' | 'not-managed' | 'error';

export interface FleetInstanceResult {
  readonly instanceId: string;
  readonly outcome: FleetOutcome;
  /** Run Command's status, e.g. `Success`, `Failed`, `Undeliverable`; `null` when there was no invocation. */
  readonly ssmStatus: string | null;
  readonly exitCode: number | null;
  readonly report: AgentReport | null;
  /** Why the instance has no report, and what to do. */
  readonly problem?: string;
}

/** Instances that share one failing check or finding. */
export interface FleetGroup {
  /** `finding:CODE`, `check:ACTION[ on RESOURCE]`, `ssm:STATUS`, `not-managed` or `error`. */
  readonly key: string;
  readonly description: string;
  readonly instanceIds: readonly string[];
}

export interface FleetResult {
  readonly commandIds: readonly string[];
  readonly counts: Readonly<Record<FleetOutcome, number>>;
  readonly instances: readonly FleetInstanceResult[];
  /** Failing checks and findings, biggest group first. */
  readonly groups: readonly FleetGroup[];
  /** `false` when DescribeInstanceInformation could not be read, so unmanaged instances show up as unreachable. */
  readonly managedCheck: boolean;
  readonly deadlineReached: boolean;
  readonly durationMs: number;
}

export type FleetEvent =
  | { readonly type: 'sent'; readonly commandId: string; readonly instanceIds: readonly string[] }
  | { readonly type: 'poll'; readonly pending: number }
  | { readonly type: 'result'; readonly result: FleetInstanceResult };

export interface VerifyFleetOptions {
  /** Instances to verify; sent in calls of at most 50. Give this or `tags`. */
  readonly instanceIds?: readonly string[];
  /** Tag targets, e.g. `{ Role: 'web' }`: one SendCommand with `tag:K` targets. Give this or `instanceIds`. */
  readonly tags?: Readonly<Record<string, string | readonly string[]>>;
  /** @default {} */
  readonly expectations?: AgentExpectations;
  /** Run Command's MaxConcurrency, and how many invocations are read at once. @default 10 */
  readonly concurrency?: number;
  /** Deadline for the whole fleet; instances still running then are `unreachable`. @default 300_000 */
  readonly timeoutMs?: number;
  /** Also write each instance's full output to this bucket (for outputs beyond 24,000 characters). @default none */
  readonly outputS3Bucket?: string;
  /** Fetch the bundle on the instance with `aws s3 cp` instead of inlining it (for bundles over `inlineLimit`). */
  readonly bundleS3Uri?: string;
  /** Fetch the bundle on the instance with `curl` (e.g. a presigned S3 URL) instead of inlining it; its SHA-256 is checked. */
  readonly bundleUrl?: string;
  /** @default the installed `@instance-role/agent/bundle` */
  readonly bundlePath?: string;
  /** First poll delay; later polls back off (with jitter) up to 15 s. @default 2000 */
  readonly pollIntervalMs?: number;
  readonly ssm?: SSMClient;
  readonly ec2?: EC2Client;
  readonly onEvent?: (event: FleetEvent) => void;
}

/**
 * Largest gzip+base64 bundle sent inside the command (SSM documents are limited to 64 KB); a bigger
 * bundle needs `bundleS3Uri` or `bundleUrl`.
 *
 * @example
 * const inline = gzipSync(readAgentBundle()).toString('base64').length <= INLINE_BUNDLE_LIMIT;
 */
export const INLINE_BUNDLE_LIMIT = 48_000;
/**
 * Run Command keeps at most this many characters of stdout inline; beyond it, use `outputS3Bucket`.
 *
 * @example
 * if (invocation.StandardOutputContent.length >= INLINE_OUTPUT_LIMIT) console.warn('truncated');
 */
export const INLINE_OUTPUT_LIMIT = 24_000;
const MAX_IDS_PER_CALL = 50;
const TERMINAL = new Set([
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
  'DeliveryTimedOut',
  'ExecutionTimedOut',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
]);
const UNREACHABLE = new Set(['Undeliverable', 'DeliveryTimedOut', 'TimedOut', 'Terminated', 'Cancelled']);

/**
 * Verify a fleet through Systems Manager Run Command: sends the agent with `AWS-RunShellScript` (at most
 * 50 instance IDs per call, or one call with tag targets), polls each invocation with jittered backoff
 * until it ends or the deadline passes, parses each instance's JSON report, and groups the failures.
 * Instances SSM does not manage are reported as `not-managed`, with the fix.
 *
 * @example
 * const fleet = await verifyFleet({
 *   tags: { App: 'web' },
 *   expectations: { presets: ['s3-read-only'], expectRole: 'web-app' },
 *   bundleS3Uri: 's3://my-tools/instance-role-agent.mjs',
 * });
 * console.log(fleet.counts); // { passed: 41, failed: 2, unreachable: 1, 'not-managed': 0, error: 0 }
 */
export async function verifyFleet(options: VerifyFleetOptions): Promise<FleetResult> {
  validate(options);
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 300_000);
  const ssm = defaultSsm(options);
  const script = fleetScript(options);
  const targets = await resolveTargets(options);
  const managed = await managedInstances(ssm, targets);
  const unmanaged = managed ? targets.filter((id) => !managed.has(id)) : [];
  const reachable = managed ? targets.filter((id) => managed.has(id)) : targets;
  for (const id of unmanaged) options.onEvent?.({ type: 'result', result: notManaged(id) });
  const sent = await send(ssm, options, script, reachable, Math.ceil((deadline - Date.now()) / 1000));
  const polled = await poll(ssm, sent.pending, deadline, options);
  const results = [...unmanaged.map(notManaged), ...polled.results];
  return {
    ...aggregateFleet(results),
    commandIds: sent.commandIds,
    managedCheck: managed !== null,
    deadlineReached: polled.deadlineReached,
    durationMs: Date.now() - started,
  };
}

/**
 * Count and group per-instance results: outcome counts, and the instances behind each failing
 * check, finding code or Run Command status.
 *
 * @example
 * const { counts, groups } = aggregateFleet(results);
 */
export function aggregateFleet(
  results: readonly FleetInstanceResult[],
): Pick<FleetResult, 'counts' | 'instances' | 'groups'> {
  const counts: Record<FleetOutcome, number> = {
    passed: 0,
    failed: 0,
    unreachable: 0,
    'not-managed': 0,
    error: 0,
  };
  const groups = new Map<string, { description: string; ids: string[] }>();
  const add = (key: string, description: string, id: string) => {
    const g = groups.get(key) ?? { description, ids: [] };
    if (!g.ids.includes(id)) g.ids.push(id);
    groups.set(key, g);
  };
  for (const r of results) {
    counts[r.outcome] += 1;
    for (const [key, description] of groupKeys(r)) add(key, description, r.instanceId);
  }
  const sorted = [...groups.entries()]
    .map(([key, g]) => ({ key, description: g.description, instanceIds: g.ids.sort() }))
    .sort((a, b) => b.instanceIds.length - a.instanceIds.length || a.key.localeCompare(b.key));
  return {
    counts,
    instances: [...results].sort((a, b) => a.instanceId.localeCompare(b.instanceId)),
    groups: sorted,
  };
}

function groupKeys(r: FleetInstanceResult): [string, string][] {
  if (r.outcome === 'passed') return [];
  if (r.outcome === 'not-managed') return [['not-managed', r.problem ?? 'not managed by SSM']];
  if (!r.report) {
    const key = r.outcome === 'unreachable' ? `ssm:${r.ssmStatus ?? 'NoInvocation'}` : 'error';
    return [[key, r.problem ?? 'no report']];
  }
  const keys: [string, string][] = [];
  for (const f of r.report.findings) {
    if (f.severity === 'fail' || f.severity === 'warn') keys.push([`finding:${f.code}`, f.message]);
  }
  for (const c of r.report.checks) {
    if (c.ok) continue;
    const on = c.resource ? ` on ${c.resource}` : '';
    keys.push([`check:${c.action}${on}`, `${c.action}${on}: expected ${c.expected}, got ${c.outcome}`]);
  }
  return keys;
}

/**
 * The shell script Run Command executes: writes the agent to a temp dir (inline, or fetched and
 * checked against its SHA-256), runs it with `--json`, prints the report minified, keeps its exit code.
 *
 * @example
 * const script = fleetScript({ expectations: { presets: ['s3-read-only'] } });
 */
export function fleetScript(
  options: Pick<
    VerifyFleetOptions,
    'expectations' | 'bundleS3Uri' | 'bundleUrl' | 'bundlePath' | 'timeoutMs'
  >,
): string {
  const bundle = readAgentBundle(options.bundlePath);
  const sha = createHash('sha256').update(bundle).digest('hex');
  const args = agentArgs(
    options.expectations ?? {},
    Math.max(1000, Math.floor((options.timeoutMs ?? 300_000) * 0.8)),
  );
  const expect = options.expectations?.expect;
  if (expect) args.push('--expect', '"$d/expect.json"');
  const quoted = args.map((a) => (a === '"$d/expect.json"' ? a : shellQuote(a)));
  return [
    'd=$(mktemp -d) || exit 1',
    `trap 'rm -rf "$d"' EXIT`,
    fetchLine(bundle, options),
    `echo ${sha}' '"$d/agent.mjs" | sha256sum -c --quiet >/dev/null || { echo 'instance-role: agent bundle checksum mismatch' >&2; exit 4; }`,
    "command -v node >/dev/null 2>&1 || { echo 'instance-role: node not found; install it: Amazon Linux 2023 dnf install -y nodejs, Ubuntu apt-get install -y nodejs' >&2; exit 127; }",
    ...(expect ? [`printf '%s' ${shellQuote(JSON.stringify(expect))} > "$d/expect.json"`] : []),
    `node "$d/agent.mjs" ${quoted.join(' ')} > "$d/report.json"; rc=$?`,
    `node -e 'const fs=require("fs");process.stdout.write(JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1],"utf8"))))' "$d/report.json" 2>/dev/null || cat "$d/report.json"`,
    'exit $rc',
  ].join('\n');
}

function fetchLine(bundle: Buffer, o: Pick<VerifyFleetOptions, 'bundleS3Uri' | 'bundleUrl'>): string {
  const fail = (what: string) =>
    `{ echo ${shellQuote(`instance-role: could not fetch the agent bundle from ${what}`)} >&2; exit 5; }`;
  if (o.bundleS3Uri) {
    return `aws s3 cp --only-show-errors ${shellQuote(o.bundleS3Uri)} "$d/agent.mjs" >&2 || ${fail(`${o.bundleS3Uri} (the instance role needs s3:GetObject on it, and the AWS CLI must be installed)`)}`;
  }
  if (o.bundleUrl)
    return `curl -fsSL --max-time 60 ${shellQuote(o.bundleUrl)} -o "$d/agent.mjs" || ${fail(o.bundleUrl)}`;
  const inline = gzipSync(bundle, { level: 9 }).toString('base64');
  if (inline.length > INLINE_BUNDLE_LIMIT) {
    assertNoProblems([
      {
        field: 'bundleS3Uri',
        rule: `required: the agent bundle is ${inline.length} characters gzipped+base64, over the ${INLINE_BUNDLE_LIMIT} that fit in a Run Command parameter`,
        hint: 'upload it (aws s3 cp instance-role-agent.mjs s3://BUCKET/KEY) and pass bundleS3Uri (--bundle-s3-uri), or bundleUrl',
      },
    ]);
  }
  return `printf '%s' '${inline}' | base64 -d | gunzip > "$d/agent.mjs" || exit 5`;
}

function validate(o: VerifyFleetOptions): void {
  const problems: Problem[] = [];
  const ids = o.instanceIds ?? [];
  const tags = Object.entries(o.tags ?? {});
  if (ids.length > 0 === tags.length > 0) {
    problems.push({ field: 'instanceIds', rule: 'give instance IDs or tags (one of them, not both)' });
  }
  ids.forEach((id, i) => {
    if (!/^(i|mi)-[0-9a-f]{8,17}$/.test(id))
      problems.push({
        field: `instanceIds[${i}]`,
        rule: 'an instance ID like i-0123456789abcdef0',
        value: id,
      });
  });
  for (const [k, v] of tags) {
    if (!k || k.length > 128) problems.push({ field: `tags.${k}`, rule: 'a tag key of 1-128 characters' });
    if ((Array.isArray(v) ? v : [v]).length === 0)
      problems.push({ field: `tags.${k}`, rule: 'at least one value' });
  }
  const c = o.concurrency;
  if (c !== undefined && !(Number.isInteger(c) && c >= 1 && c <= 1000))
    problems.push({ field: 'concurrency', rule: 'an integer 1-1000', value: String(c) });
  const t = o.timeoutMs;
  if (t !== undefined && !(Number.isFinite(t) && t >= 1000))
    problems.push({ field: 'timeoutMs', rule: 'at least 1000 ms', value: String(t) });
  if (o.bundleS3Uri && !/^s3:\/\/[a-z0-9.-]{3,63}\/.+/.test(o.bundleS3Uri))
    problems.push({ field: 'bundleS3Uri', rule: 's3://BUCKET/KEY', value: o.bundleS3Uri });
  if (o.bundleUrl && !/^(https:\/\/|http:\/\/(127\.0\.0\.1|localhost)[:/])/.test(o.bundleUrl))
    problems.push({
      field: 'bundleUrl',
      rule: 'an https:// URL (http:// only on loopback)',
      value: o.bundleUrl,
    });
  assertNoProblems(problems);
}

function tagTargets(tags: NonNullable<VerifyFleetOptions['tags']>): { Key: string; Values: string[] }[] {
  return Object.entries(tags).map(([k, v]) => ({
    Key: `tag:${k}`,
    Values: Array.isArray(v) ? [...v] : [v as string],
  }));
}

async function resolveTargets(o: VerifyFleetOptions): Promise<string[]> {
  if (o.instanceIds?.length) return [...new Set(o.instanceIds)];
  const ec2 = defaultEc2(o);
  const filters = [
    ...tagTargets(o.tags ?? {}).map((t) => ({ Name: t.Key, Values: t.Values })),
    { Name: 'instance-state-name', Values: ['running'] },
  ];
  const ids: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken })).catch((e) => {
      throw new AwsOperationError('DescribeInstances', e);
    });
    for (const r of page.Reservations ?? [])
      for (const i of r.Instances ?? []) if (i.InstanceId) ids.push(i.InstanceId);
    NextToken = page.NextToken;
  } while (NextToken);
  return ids;
}

/** Instance IDs SSM manages among `ids`, or `null` when DescribeInstanceInformation is unavailable. */
async function managedInstances(ssm: SSMClient, ids: readonly string[]): Promise<Set<string> | null> {
  const managed = new Set<string>();
  try {
    for (const chunk of chunks(ids, MAX_IDS_PER_CALL)) {
      let NextToken: string | undefined;
      do {
        const page = await ssm.send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: chunk }],
            MaxResults: 50,
            NextToken,
          }),
        );
        for (const i of page.InstanceInformationList ?? [])
          if (i.InstanceId && i.PingStatus !== 'ConnectionLost') managed.add(i.InstanceId);
        NextToken = page.NextToken;
      } while (NextToken);
    }
  } catch {
    return null;
  }
  return managed;
}

function notManaged(instanceId: string): FleetInstanceResult {
  return {
    instanceId,
    outcome: 'not-managed',
    ssmStatus: null,
    exitCode: null,
    report: null,
    problem:
      'not managed by Systems Manager: give its role the ssm-managed-instance preset (AmazonSSMManagedInstanceCore), make sure the SSM agent runs (preinstalled on Amazon Linux 2023 and Ubuntu AMIs) and can reach the SSM endpoints',
  };
}

interface Pending {
  readonly commandId: string;
  readonly instanceId: string;
}

async function send(
  ssm: SSMClient,
  o: VerifyFleetOptions,
  script: string,
  ids: readonly string[],
  secondsLeft: number,
): Promise<{ commandIds: string[]; pending: Pending[] }> {
  const base = {
    DocumentName: 'AWS-RunShellScript',
    Comment: 'instance-role verify --fleet',
    Parameters: { commands: [script], executionTimeout: [String(Math.max(30, secondsLeft))] },
    MaxConcurrency: String(o.concurrency ?? 10),
    MaxErrors: '100%',
    TimeoutSeconds: Math.max(30, secondsLeft),
    ...(o.outputS3Bucket
      ? { OutputS3BucketName: o.outputS3Bucket, OutputS3KeyPrefix: 'instance-role-verify' }
      : {}),
  };
  const calls =
    o.tags && !o.instanceIds?.length
      ? [{ Targets: tagTargets(o.tags), ids }]
      : chunks(ids, MAX_IDS_PER_CALL).map((c) => ({ InstanceIds: c, ids: c }));
  const commandIds: string[] = [];
  const pending: Pending[] = [];
  for (const { ids: expected, ...target } of calls) {
    if (expected.length === 0) continue;
    const out = await ssm.send(new SendCommandCommand({ ...base, ...target })).catch((e) => {
      throw new AwsOperationError('SendCommand', e);
    });
    const commandId = out.Command?.CommandId ?? '';
    commandIds.push(commandId);
    for (const instanceId of expected) pending.push({ commandId, instanceId });
    o.onEvent?.({ type: 'sent', commandId, instanceIds: expected });
  }
  return { commandIds, pending };
}

async function poll(
  ssm: SSMClient,
  initial: readonly Pending[],
  deadline: number,
  o: VerifyFleetOptions,
): Promise<{ results: FleetInstanceResult[]; deadlineReached: boolean }> {
  const results: FleetInstanceResult[] = [];
  let pending = [...initial];
  let delay = o.pollIntervalMs ?? 2000;
  while (pending.length > 0) {
    if (!(await sleepUntil(jitter(delay), deadline))) break;
    const answers = await mapLimit(pending, o.concurrency ?? 10, (p) => readInvocation(ssm, p, deadline));
    const still: Pending[] = [];
    answers.forEach((inv, i) => {
      const p = pending[i] as Pending;
      if (!inv || !TERMINAL.has(inv.Status ?? '')) still.push(p);
      else {
        const result = fromInvocation(p.instanceId, inv);
        results.push(result);
        o.onEvent?.({ type: 'result', result });
      }
    });
    pending = still;
    o.onEvent?.({ type: 'poll', pending: pending.length });
    delay = Math.min(delay * 2, 15_000);
  }
  for (const p of pending) {
    const result = noAnswer(p.instanceId);
    results.push(result);
    o.onEvent?.({ type: 'result', result });
  }
  return { results, deadlineReached: pending.length > 0 };
}

/** `undefined` while the invocation is not there yet (InvocationDoesNotExist) or the read failed. */
async function readInvocation(
  ssm: SSMClient,
  p: Pending,
  deadline: number,
): Promise<GetCommandInvocationCommandOutput | undefined> {
  const ms = deadline - Date.now();
  if (ms <= 0) return undefined;
  try {
    return await ssm.send(
      new GetCommandInvocationCommand({ CommandId: p.commandId, InstanceId: p.instanceId }),
      {
        abortSignal: AbortSignal.timeout(ms),
      },
    );
  } catch {
    return undefined;
  }
}

/** Turn one finished invocation into a result. Exported for tests with real agent output. */
export function fromInvocation(
  instanceId: string,
  inv: Pick<
    GetCommandInvocationCommandOutput,
    'Status' | 'ResponseCode' | 'StandardOutputContent' | 'StandardErrorContent'
  >,
): FleetInstanceResult {
  const ssmStatus = inv.Status ?? null;
  const exitCode = inv.ResponseCode ?? null;
  const base = { instanceId, ssmStatus, exitCode, report: null };
  if (UNREACHABLE.has(ssmStatus ?? ''))
    return {
      ...base,
      outcome: 'unreachable',
      problem: `Run Command status ${ssmStatus}: the instance did not run the agent`,
    };
  if (exitCode === 127)
    return {
      ...base,
      outcome: 'error',
      problem:
        'node is not installed: Amazon Linux 2023 `dnf install -y nodejs`, Ubuntu `apt-get install -y nodejs`',
    };
  const stdout = inv.StandardOutputContent ?? '';
  try {
    const report = parseReport(stdout, exitCode, inv.StandardErrorContent ?? '');
    return { ...base, report, outcome: report.verdict === 'pass' ? 'passed' : 'failed' };
  } catch (e) {
    const truncated =
      stdout.length >= INLINE_OUTPUT_LIMIT
        ? ' (output truncated at 24,000 characters: pass outputS3Bucket and read the full stdout there)'
        : '';
    return { ...base, outcome: 'error', problem: `${(e as Error).message}${truncated}` };
  }
}

function noAnswer(instanceId: string): FleetInstanceResult {
  return {
    instanceId,
    outcome: 'unreachable',
    ssmStatus: null,
    exitCode: null,
    report: null,
    problem:
      'no finished invocation before the deadline (still pending, or SSM never delivered it); raise --timeout-ms or check the SSM agent',
  };
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function jitter(ms: number): number {
  return Math.round(ms / 2 + Math.random() * (ms / 2));
}

/** Sleep `ms`, or until just before `deadline` (leaving time for a last poll); `false` once it has passed. */
async function sleepUntil(ms: number, deadline: number): Promise<boolean> {
  const remaining = deadline - Date.now() - 250;
  if (remaining <= 0) return false;
  await new Promise((r) => setTimeout(r, Math.min(ms, remaining)));
  return true;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
