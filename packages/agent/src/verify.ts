import { mergeExpectations } from '@instance-role/core/presets';
import { loadImdsCredentials } from './aws/load.js';
import { AwsClients, type CredentialIdentity, type CredentialsProvider } from './aws-clients.js';
import {
  type ExpectFile,
  type ProbeTargets,
  planProbes,
  presetExpectations,
  readExpectFile,
} from './expectations.js';
import {
  clockSkewFindings,
  credentialsFileFindings,
  defaultCredentialsFiles,
  envFindings,
  imdsFindings,
  userDataFindings,
} from './findings.js';
import { DEFAULT_IMDS_ENDPOINT, diagnoseImds, type ImdsDiagnosis } from './imds.js';
import { type PlannedProbe, runProbe } from './probes.js';
import type { Check, Expectations, Finding, Report, Verdict } from './types.js';

/** Options of one verification run. */
export interface VerifyOptions extends ProbeTargets {
  /** Preset references, e.g. `s3-read-only`, `s3-read:my-bucket/logs`. @default [] */
  readonly presets?: readonly string[];
  /** Path of an `instance-role ensure --json` manifest (or just its `expect` field). */
  readonly expectFile?: string;
  /** Expectations given directly; merged with presets and the file. */
  readonly expect?: Expectations;
  /** The role the instance must use; a different one is a `ROLE_MISMATCH` failure. */
  readonly expectRole?: string;
  /** Also probe the expectations' write actions (put then delete). @default false */
  readonly writeProbes?: boolean;
  /** Deadline of the whole run. @default 10000 */
  readonly timeoutMs?: number;
  /** @default env.AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254 */
  readonly imdsEndpoint?: string;
  /** Credentials files to inspect for `STATIC_KEYS_FILE`. @default /root/.aws/credentials, /home/*\/.aws/credentials, AWS_SHARED_CREDENTIALS_FILE */
  readonly credentialsFiles?: readonly string[];
  /** Probes in flight at once. @default 8 */
  readonly concurrency?: number;
  /** The environment to judge and configure from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the raw IMDS diagnostic requests (e.g. a test double). @default node:http requests */
  readonly fetch?: typeof globalThis.fetch;
  /** Role credentials. @default one shared `fromInstanceMetadata` provider */
  readonly credentials?: CredentialsProvider;
}

/**
 * Verify the instance role from the instance: who am I, does what should work work, is what should
 * be denied denied, and what on this instance undermines the role.
 *
 * @example
 * const report = await verify({ presets: ['s3-read-only'] });
 * process.exitCode = exitCodeOf(report);
 */
export async function verify(options: VerifyOptions = {}): Promise<Report> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const expected = readExpected(options);
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const endpoint = options.imdsEndpoint ?? env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? DEFAULT_IMDS_ENDPOINT;
  const disabled = env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true';
  const diagnosis = diagnoseImds({
    endpoint,
    fetch: options.fetch,
    disabled,
    timeoutMs: Math.min(1000, options.timeoutMs ?? 1000),
  });
  // The diagnosis starts first; the SDK's own IMDS credential fetch runs alongside it.
  const sdkWarnings: string[] = [];
  const credentials = options.credentials ?? (disabled ? null : await imdsCredentials(endpoint, sdkWarnings));
  // Do not wait for the SDK's retries and fallbacks once the diagnosis shows IMDS cannot give a role.
  const hopeless = diagnosis.then((d) => (canServeRole(d) ? new Promise<null>(() => {}) : null));
  const creds = credentials ? await Promise.race([credentials().catch(() => null), hopeless]) : null;
  let serverDate: string | null = null;
  // Probes start as soon as credentials are there; the rest of the IMDS diagnosis runs meanwhile.
  const probing = creds
    ? regionOf(env, diagnosis).then((region) => {
        const clients = new AwsClients({
          region,
          endpoint: env.AWS_ENDPOINT_URL || undefined,
          credentials: async () => creds,
          requestTimeoutMs: Math.max(
            500,
            Math.min(5000, (options.timeoutMs ?? 10_000) - (performance.now() - started)),
          ),
          signal: deadline,
          onServerDate: (date) => {
            serverDate = date;
          },
        });
        const plan = planProbes(expected.expect, options, options.writeProbes === true);
        return runAll(plan, clients, options.concurrency ?? 8).then((results) => ({ region, results }));
      })
    : null;
  const imds = await diagnosis;
  const staticFindings = [
    ...envFindings(env),
    ...imdsFindings(imds),
    ...userDataFindings(imds.userData),
    ...credentialsFileFindings(options.credentialsFiles ?? defaultCredentialsFiles(env)),
  ];
  const report = ({ verdict, ...rest }: Partial<Report> & Pick<Report, 'verdict'>): Report => ({
    schemaVersion: 1,
    verdict,
    role: { name: imds.roleName, arn: null, instanceProfileArn: imds.instanceProfileArn },
    instance: { id: imds.instanceId, region: env.AWS_REGION ?? imds.region, accountId: null },
    imds: imdsReport(imds),
    checks: [],
    findings: staticFindings,
    ...rest,
    durationMs: Math.round(performance.now() - started),
  });
  if (!probing) return report({ verdict: 'error', findings: withNoCredentials(staticFindings) });

  const { region, results } = await probing;
  const checks = results.map((r) => r.check);
  const identity = results.find((r) => r.check.action === 'sts:GetCallerIdentity')?.output as
    | { Arn?: string; Account?: string }
    | undefined;
  const role = roleFromArn(identity?.Arn);
  const findings = [
    ...staticFindings,
    ...clockSkewFindings(serverDate),
    ...roleFindings(role, imds, options.expectRole ?? expected.role),
    ...expiredFindings(sdkWarnings),
    ...(deadline.aborted ? [deadlineFinding(options.timeoutMs ?? 10_000)] : []),
  ];
  return report({
    verdict: verdictOf(checks, findings),
    role: {
      name: role.name ?? imds.roleName,
      arn: identity?.Arn ?? null,
      instanceProfileArn: imds.instanceProfileArn,
    },
    instance: { id: imds.instanceId, region, accountId: identity?.Account ?? null },
    checks,
    findings,
  });
}

/**
 * Exit code of a report: 0 pass, 1 failed expectation or `fail` finding, 3 no role credentials.
 *
 * @example
 * process.exitCode = exitCodeOf(await verify());
 */
export function exitCodeOf(report: Pick<Report, 'verdict'>): number {
  return report.verdict === 'pass' ? 0 : report.verdict === 'fail' ? 1 : 3;
}

function canServeRole(d: ImdsDiagnosis): boolean {
  return d.reachable && (d.v2 || d.v1Open === true) && d.roleAttached !== false;
}

async function regionOf(
  env: VerifyOptions['env'] & object,
  diagnosis: Promise<ImdsDiagnosis>,
): Promise<string> {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || (await diagnosis).region || 'us-east-1';
}

function readExpected(options: VerifyOptions): { expect: Expectations | null; role: string | null } {
  const list: Expectations[] = [];
  let file: ExpectFile | null = null;
  if (options.presets?.length) list.push(presetExpectations(options.presets));
  if (options.expectFile) {
    file = readExpectFile(options.expectFile);
    list.push(file.expect);
  }
  if (options.expect) list.push(options.expect);
  if (list.length === 0) return { expect: null, role: file?.role ?? null };
  const merged = mergeExpectations(list) as Expectations;
  return { expect: merged, role: file?.role ?? null };
}

async function imdsCredentials(endpoint: string, sdkWarnings: string[]): Promise<CredentialsProvider> {
  // The SDK provider reads its endpoint from the environment only.
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = endpoint;
  const { fromInstanceMetadata } = await loadImdsCredentials();
  // The SDK warns on the console (a renewal failure even with a stack trace): keep that as a finding.
  const warn = (...args: unknown[]) => {
    sdkWarnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  };
  const quiet = () => {};
  const logger = { trace: quiet, debug: quiet, info: quiet, warn, error: warn };
  const provider = fromInstanceMetadata({ timeout: 1000, maxRetries: 0, logger });
  let shared: Promise<CredentialIdentity> | undefined;
  return () => {
    shared ??= provider();
    return shared;
  };
}

async function runAll(plan: readonly PlannedProbe[], clients: AwsClients, concurrency: number) {
  const results: Awaited<ReturnType<typeof runProbe>>[] = new Array(plan.length);
  let next = 0;
  const worker = async () => {
    while (next < plan.length) {
      const i = next++;
      results[i] = await runProbe(plan[i]!, clients);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, plan.length)) }, worker));
  return results;
}

function roleFromArn(arn: string | undefined): { name: string | null; session: string | null } {
  const match = /:assumed-role\/([^/]+)\/(.+)$/.exec(arn ?? '');
  return { name: match?.[1] ?? null, session: match?.[2] ?? null };
}

function roleFindings(
  role: { name: string | null; session: string | null },
  imds: ImdsDiagnosis,
  expectRole: string | null,
): Finding[] {
  const out: Finding[] = [];
  if (expectRole && role.name !== expectRole) {
    out.push({
      code: 'ROLE_MISMATCH',
      severity: 'fail',
      message: `The instance uses role ${role.name ?? '(none)'}, not ${expectRole}: attach the instance profile of ${expectRole}.`,
    });
  } else if (role.name && imds.roleName && role.name !== imds.roleName) {
    out.push({
      code: 'ROLE_MISMATCH',
      severity: 'fail',
      message: `The credentials belong to role ${role.name} but IMDS serves role ${imds.roleName}: find what supplies other credentials.`,
    });
  } else if (role.session && imds.instanceId && role.session !== imds.instanceId) {
    out.push({
      code: 'ROLE_MISMATCH',
      severity: 'warn',
      message: `The role session is ${role.session}, not this instance (${imds.instanceId}): the credentials may come from elsewhere.`,
    });
  }
  return out;
}

function withNoCredentials(findings: readonly Finding[]): Finding[] {
  const explained = findings.some((f) =>
    ['NO_ROLE_ATTACHED', 'IMDS_UNREACHABLE', 'IMDS_DISABLED'].includes(f.code),
  );
  if (explained) return [...findings];
  return [
    ...findings,
    {
      code: 'NO_CREDENTIALS',
      severity: 'fail',
      message:
        'No role credentials could be read from IMDS: check the instance profile and the IMDS settings above.',
    },
  ];
}

function expiredFindings(sdkWarnings: readonly string[]): Finding[] {
  if (!sdkWarnings.some((w) => /expiration extension/i.test(w))) return [];
  return [
    {
      code: 'CREDENTIALS_EXPIRED',
      severity: 'warn',
      message:
        'IMDS served role credentials that had already expired; the SDK extended them for a few minutes. IMDS could not refresh them: if this persists, check the instance clock (CLOCK_SKEW) and stop and start the instance.',
    },
  ];
}

function deadlineFinding(timeoutMs: number): Finding {
  return {
    code: 'DEADLINE_EXCEEDED',
    severity: 'fail',
    message: `The run hit its ${timeoutMs} ms deadline; unfinished probes are errors: raise --timeout-ms or check network access to AWS.`,
  };
}

function verdictOf(checks: readonly Check[], findings: readonly Finding[]): Verdict {
  return checks.some((c) => !c.ok) || findings.some((f) => f.severity === 'fail') ? 'fail' : 'pass';
}

function imdsReport(d: ImdsDiagnosis): Report['imds'] {
  const { instanceId: _i, region: _r, roleName: _n, instanceProfileArn: _a, userData: _u, ...rest } = d;
  return rest;
}
