import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ImdsEmulator, type ImdsFaults, startImds } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AgentRun, ensureBundle, runAgent } from './support/agent-bundle.js';
import { instanceWithRole, STACK_LINE, servedSecrets } from './support/instance-with-role.js';

// agent.e2e.test.ts checks the served key and token over its own runs; this file adds canaries in the
// environment, a credentials file and user-data, the IMDS faults, both output modes and the failures.
const b64 = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '');
const CANARY = {
  accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: b64(30),
  sessionToken: `IQoJb3JpZ2luX2Vj${b64(300)}`,
};
const FILE_SECRET = b64(30);
const USER_DATA_SECRET = b64(30);
const USER_DATA_KEY_ID = `AKIAUD${randomBytes(7).toString('hex').toUpperCase()}`;
const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();

interface Scenario {
  readonly name: string;
  readonly args?: readonly string[];
  readonly faults?: ImdsFaults;
  readonly envKeys?: boolean;
  readonly withRole?: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'success', args: ['--preset', 's3-read-only'] },
  { name: 'role mismatch', args: ['--expect-role', 'another-role'] },
  { name: 'keys in the environment', envKeys: true },
  { name: 'no role attached', withRole: false },
  {
    name: 'malformed credentials (half a JSON document with the key in it)',
    faults: { malformedCredentials: true },
  },
  { name: 'expired credentials', faults: { expiredCredentials: true } },
  { name: 'HTTP 500', faults: { status500: true } },
  { name: 'usage error', args: ['--timeout-ms', 'soon'], envKeys: true },
  { name: 'unknown preset', args: ['--preset', 's3-raed-only'], envKeys: true },
];
const MODES = [
  { name: '--json', args: ['--json'] },
  { name: 'human', args: [] },
] as const;

let bundle: string;
let dir: string;
let withRole: string;
let withoutRole: string;
const emulators: ImdsEmulator[] = [];
const secrets: { name: string; value: string }[] = [];
const runs: AgentRun[] = [];
const codes = new Set<number | null>();

function leaks(text: string): string[] {
  return secrets.filter((s) => text.includes(s.value)).map((s) => s.name);
}

/** The secret itself, and its first and last 32 characters (a truncated copy leaks too). */
function canary(name: string, value: string): { name: string; value: string }[] {
  return [
    { name, value },
    { name: `${name} (start)`, value: value.slice(0, 32) },
    { name: `${name} (end)`, value: value.slice(-32) },
  ];
}

beforeAll(async () => {
  bundle = ensureBundle();
  dir = mkdtempSync(join(tmpdir(), 'agent-secrets-'));
  writeFileSync(
    join(dir, 'credentials'),
    `[default]\naws_access_key_id = AKIAFILE${randomBytes(6).toString('hex').toUpperCase()}\naws_secret_access_key = ${FILE_SECRET}\n`,
  );
  const endpoint = inject('motoEndpoint');
  withRole = await instanceWithRole(endpoint, `agent-secrets-${process.pid}`);
  withoutRole = await instanceWithRole(endpoint, `agent-secrets-b-${process.pid}`).then(async () => {
    // a second instance with no profile at all
    const { EC2Client, RunInstancesCommand } = await import('@aws-sdk/client-ec2');
    const out = await new EC2Client({ endpoint, region: 'us-east-1' }).send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
      }),
    );
    return out.Instances?.[0]?.InstanceId as string;
  });
  const probe = await startImds({ instanceId: withRole, awsEndpoint: endpoint, associationTtlMs: 3_600_000 });
  emulators.push(probe);
  const served = await servedSecrets(probe.endpoint);
  secrets.push(
    ...canary('served secret access key', served.secretAccessKey),
    ...canary('served session token', served.sessionToken),
    ...canary('env secret access key', CANARY.secretAccessKey),
    ...canary('env session token', CANARY.sessionToken),
    ...canary('credentials file secret', FILE_SECRET),
    ...canary('user-data secret', USER_DATA_SECRET),
    ...PRIVATE_KEY.split('\n')
      .filter((l) => l.length >= 32 && !l.startsWith('-----'))
      .map((value, i) => ({ name: `user-data private key line ${i + 1}`, value })),
  );
}, 120_000);

afterAll(async () => {
  console.log(
    `agent secrets canary: ${SCENARIOS.length} scenarios x ${MODES.length} modes = ${runs.length} runs of the built agent ` +
      `(exit codes ${[...codes].sort().join(', ')}), ${secrets.length} secret strings (served, environment, credentials file, user-data key and PEM, with truncated copies): no leak`,
  );
  await Promise.all(emulators.map((e) => e.close()));
});

describe('Function: instance-role-agent.mjs never prints a secret', () => {
  for (const scenario of SCENARIOS) {
    for (const mode of MODES) {
      it(`keeps stdout and stderr clean: ${scenario.name} (${mode.name})`, async () => {
        // Prepare
        const imds = await startImds({
          instanceId: scenario.withRole === false ? withoutRole : withRole,
          awsEndpoint: inject('motoEndpoint'),
          associationTtlMs: 3_600_000,
          userData: `#!/bin/bash\nexport AWS_ACCESS_KEY_ID=${USER_DATA_KEY_ID}\nexport AWS_SECRET_ACCESS_KEY=${USER_DATA_SECRET}\ncat > /root/.ssh/id_rsa <<'EOF'\n${PRIVATE_KEY}EOF\n`,
        });
        emulators.push(imds);
        imds.update({ faults: scenario.faults ?? {} });
        const env: Record<string, string> = {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
          AWS_ENDPOINT_URL: inject('motoEndpoint'),
          AWS_REGION: 'us-east-1',
          ...(scenario.envKeys
            ? {
                AWS_ACCESS_KEY_ID: CANARY.accessKeyId,
                AWS_SECRET_ACCESS_KEY: CANARY.secretAccessKey,
                AWS_SESSION_TOKEN: CANARY.sessionToken,
              }
            : {}),
        };

        // Act
        const run = await runAgent(
          bundle,
          [
            ...(scenario.args ?? []),
            '--credentials-file',
            join(dir, 'credentials'),
            '--timeout-ms',
            '5000',
            ...mode.args,
          ],
          env,
        );
        runs.push(run);
        codes.add(run.code);

        // Assess
        const context = `${scenario.name} ${mode.name}: exit ${run.code}\n${run.stdout}\n${run.stderr}`;
        expect(leaks(run.stdout), context).toEqual([]);
        expect(leaks(run.stderr), context).toEqual([]);
        expect(`\n${run.stdout}\n${run.stderr}`, context).not.toMatch(STACK_LINE);
        if (scenario.name === 'success' || scenario.name === 'keys in the environment') {
          // the canaries were really read: the agent reports where they are
          expect(run.stdout, context).toContain('STATIC_KEYS_FILE');
          expect(run.stdout, context).toContain('STATIC_KEYS_USER_DATA');
        }
      });
    }
  }
});
