import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { type ImdsEmulator, type ImdsFaults, startImds } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Report } from '../src/types.js';
import { type AgentRun, ensureBundle, runAgent } from './support/agent-bundle.js';
import { instanceWithRole, STACK_LINE } from './support/instance-with-role.js';

/** The agent's deadline in these runs, and what a cold node process may add on two busy cores. */
const TIMEOUT_MS = 3000;
const SLACK_MS = 3000;
const HUGE = 16 * 1024 * 1024;
/** One gzip member of 16 MB of zeros (~16 KB); members concatenated inflate one after another. */
const BOMB_MEMBER = gzipSync(Buffer.alloc(HUGE));
/** What reading user-data may add to the agent's peak RSS over the no-fault run. */
const USER_DATA_RSS_MB = 24;

interface Scenario {
  readonly name: string;
  readonly faults?: ImdsFaults;
  readonly userData?: Buffer;
  /** Verdicts a correct agent may give; anything but `pass` must come with a finding. */
  readonly verdicts: readonly Report['verdict'][];
  /** Finding codes of which at least one must be reported. */
  readonly findings?: readonly string[];
  /** The role's credentials reach AWS: sts:GetCallerIdentity is allowed. */
  readonly credentialsWork?: boolean;
  /** Nothing on stderr (e.g. no SDK console warning). */
  readonly quietStderr?: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'no fault (control)', verdicts: ['pass', 'fail'], credentialsWork: true },
  {
    name: 'every answer 4 s late (beyond the deadline)',
    faults: { slowMs: 4000 },
    verdicts: ['error'],
    findings: ['IMDS_UNREACHABLE', 'NO_CREDENTIALS', 'DEADLINE_EXCEEDED'],
  },
  {
    name: 'malformed JSON credentials',
    faults: { malformedCredentials: true },
    verdicts: ['error'],
    findings: ['NO_CREDENTIALS'],
  },
  {
    name: 'credentials that expired an hour ago',
    faults: { expiredCredentials: true },
    verdicts: ['pass', 'fail'],
    findings: ['CREDENTIALS_EXPIRED'],
    credentialsWork: true,
    quietStderr: true,
  },
  {
    name: 'HTTP 500 on every request',
    faults: { status500: true },
    verdicts: ['error'],
    findings: ['IMDS_UNREACHABLE', 'NO_CREDENTIALS'],
  },
  {
    name: 'a token that expires mid-run (1 s TTL, answers 600 ms late)',
    faults: { tokenTtlOverrideSeconds: 1, slowMs: 600 },
    verdicts: ['pass', 'fail', 'error'],
  },
  {
    name: `a gzip bomb in user-data (${Math.round((16 * BOMB_MEMBER.length) / 1024)} KB that inflate to 256 MB)`,
    userData: Buffer.concat(Array.from({ length: 16 }, () => BOMB_MEMBER)),
    verdicts: ['pass', 'fail'],
    credentialsWork: true,
  },
  {
    name: 'a 16 MB user-data (real IMDS caps it at 16 KB)',
    userData: Buffer.alloc(HUGE, 0x61),
    verdicts: ['pass', 'fail'],
    credentialsWork: true,
  },
];
const MODES = [
  { name: '--json', args: ['--json'] },
  { name: 'human', args: [] },
] as const;

let bundle: string;
let instanceId: string;
const emulators: ImdsEmulator[] = [];
const figures = { runs: 0, slowestMs: 0, maxRssMb: 0 };
const outcomes: string[] = [];
const baselineRssMb: Record<string, number> = {};

/** Peak RSS of a child, polled from /proc while it runs (Linux). */
async function runWatched(
  args: readonly string[],
  env: Record<string, string>,
): Promise<AgentRun & { peakRssMb: number }> {
  let peak = 0;
  const started = runAgent(bundle, args, env);
  const timer = setInterval(() => {
    peak = Math.max(peak, peakRssOfChildren());
  }, 25);
  const run = await started.finally(() => clearInterval(timer));
  return { ...run, peakRssMb: peak };
}

function peakRssOfChildren(): number {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map((pid) => {
        try {
          const status = readFileSync(`/proc/${pid}/status`, 'utf8');
          if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(bundle)) return 0;
          return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
        } catch {
          return 0;
        }
      })
      .reduce((a, b) => Math.max(a, b), 0);
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  bundle = ensureBundle();
  instanceId = await instanceWithRole(inject('motoEndpoint'), `agent-robust-${process.pid}`);
}, 120_000);

afterAll(async () => {
  console.log(
    `agent robustness: ${SCENARIOS.length} IMDS scenarios (${SCENARIOS.length - 1} faults) x ${MODES.length} modes = ${figures.runs} runs of the built agent, ` +
      `deadline ${TIMEOUT_MS} ms, slowest ${Math.round(figures.slowestMs)} ms, peak RSS ${Math.round(figures.maxRssMb)} MB, no hang, no stack trace`,
  );
  console.log(outcomes.map((o) => `  ${o}`).join('\n'));
  await Promise.all(emulators.map((e) => e.close()));
});

describe('Function: instance-role-agent.mjs against a misbehaving IMDS', () => {
  for (const scenario of SCENARIOS) {
    for (const mode of MODES) {
      it(`answers within the deadline, without a stack trace: ${scenario.name} (${mode.name})`, async () => {
        // Prepare
        const imds = await startImds({
          instanceId,
          awsEndpoint: inject('motoEndpoint'),
          associationTtlMs: 3_600_000,
          ...(scenario.userData ? { userData: scenario.userData } : {}),
        });
        emulators.push(imds);
        imds.update({ faults: scenario.faults ?? {} });

        // Act
        const run = await runWatched(
          [
            '--preset',
            's3-read-only',
            '--timeout-ms',
            String(TIMEOUT_MS),
            '--credentials-file',
            '/nonexistent',
            ...mode.args,
          ],
          {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: '/nonexistent',
            AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
            AWS_ENDPOINT_URL: inject('motoEndpoint'),
            AWS_REGION: 'us-east-1',
          },
        );
        figures.runs++;
        figures.slowestMs = Math.max(figures.slowestMs, run.ms);
        figures.maxRssMb = Math.max(figures.maxRssMb, run.peakRssMb);

        // Assess
        const context = `${scenario.name} ${mode.name}: exit ${run.code} in ${Math.round(run.ms)} ms\n${run.stdout}\n${run.stderr}`;
        expect(run.ms, context).toBeLessThan(TIMEOUT_MS + SLACK_MS);
        expect(`\n${run.stdout}`, context).not.toMatch(STACK_LINE);
        expect(`\n${run.stderr}`, context).not.toMatch(STACK_LINE);
        expect([0, 1, 3], context).toContain(run.code);
        if (scenario.quietStderr) expect(run.stderr, context).toBe('');
        if (mode.name === '--json') {
          const report = JSON.parse(run.stdout) as Report;
          expect(scenario.verdicts, context).toContain(report.verdict);
          const failed = report.checks.filter((c) => !c.ok).length + report.findings.length;
          if (report.verdict !== 'pass') expect(failed, context).toBeGreaterThan(0);
          const identity = report.checks.find((c) => c.action === 'sts:GetCallerIdentity');
          if (scenario.credentialsWork) expect(identity?.outcome, context).toBe('allowed');
          outcomes.push(
            `${scenario.name}: exit ${run.code}, ${Math.round(run.ms)} ms, peak RSS ${Math.round(run.peakRssMb)} MB, verdict ${report.verdict}, findings [${report.findings.map((f) => f.code).join(', ')}], identity ${identity?.outcome ?? 'not probed'}${run.stderr ? `, stderr: ${run.stderr.trim().split('\n')[0]}` : ''}`,
          );
          if (scenario.findings)
            expect(
              report.findings.map((f) => f.code).some((c) => scenario.findings?.includes(c)),
              context,
            ).toBe(true);
        } else {
          expect(run.stdout, context).toMatch(/verdict: (PASS|FAIL|ERROR)/);
        }
        if (!scenario.faults && !scenario.userData) baselineRssMb[mode.name] = run.peakRssMb;
        if (scenario.userData)
          expect(run.peakRssMb, context).toBeLessThan((baselineRssMb[mode.name] ?? 60) + USER_DATA_RSS_MB);
      });
    }
  }
});
