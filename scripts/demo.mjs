#!/usr/bin/env node
// The seed's whole story against a local sandbox: ensure a role, launch an instance with it, verify it
// on the "instance" with the real one-file agent, catch static keys, replace the role, verify again.
// Needs only the built packages and moto_server on PATH. Exits 0 only if every step behaved as expected.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const started = Date.now();
// The promise is 15 s; DEMO_BUDGET_MS loosens it on a machine that is busy with other work (the test suite).
const BUDGET_MS = Number(process.env.DEMO_BUDGET_MS) || 15_000;
const REGION = 'us-east-1';
const BUNDLE = fileURLToPath(new URL('../packages/agent/dist/instance-role-agent.mjs', import.meta.url));
const BUCKET = 'demo-app-data';
const KEY = 'reports/today.txt';
const TABLE = 'demo-app-orders';
// The AWS documentation's example keys: obviously not real.
const FAKE_KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

// The operator side of the demo talks only to the sandbox, with the sandbox's dummy keys.
Object.assign(process.env, {
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'demo-operator',
  AWS_SECRET_ACCESS_KEY: 'demo-operator-secret',
});
for (const name of [
  'AWS_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_DEFAULT_PROFILE',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
])
  delete process.env[name];

const { startSandbox } = await import('../packages/sandbox/dist/index.js');
let core;

/** SDK clients the library does not export, resolved from the packages that depend on them. */
async function sdk(pkg, name) {
  const require = createRequire(new URL(`../packages/${pkg}/package.json`, import.meta.url));
  return import(pathToFileURL(require.resolve(name)).href);
}

class Mismatch extends Error {}

const children = new Set();
let sandboxStart;
let home;
let cleaning;
let signalled;

function cleanup() {
  cleaning ??= (async () => {
    for (const child of children) child.kill('SIGKILL');
    const sandbox = await sandboxStart?.catch(() => undefined);
    await sandbox?.moto.setEnforcement(false).catch(() => {});
    await sandbox?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.once(signal, () => {
    signalled = code;
    console.error(`\n${signal}: stopping everything the demo started`);
    cleanup().finally(() => process.exit(code));
  });
}

let stepNo = 0;
const STEPS = 6;
function step(title) {
  stepNo++;
  console.log(`\n[${stepNo}/${STEPS}] ${title}  (+${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
const say = (text) => console.log(indent(text));
const indent = (text, pad = '    ') =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `${pad}${l}`)
    .join('\n');

function expectThat(ok, expected, happened) {
  if (!ok) throw new Mismatch(`step ${stepNo}: expected ${expected}, but ${happened}`);
  say(`ok: ${expected}`);
}

/** Run the one-file agent as the instance would: a clean environment, no keys unless `extraEnv` adds some. */
function runAgent(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUNDLE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}

/** The verdict, role and finding codes, read from the human report the agent printed. */
function readReport(stdout) {
  return {
    verdict: /verdict: (\w+)/.exec(stdout)?.[1],
    role: /^role:\s+(\S+)/m.exec(stdout)?.[1],
    findings: [...stdout.matchAll(/^ {2}(?:fail|warn|info)\s+([A-Z0-9_]+):/gm)].map((m) => m[1]),
  };
}

async function agentStep(env, preset, expectation) {
  const args = ['--preset', preset, '--bucket', BUCKET, '--key', KEY, '--table', TABLE];
  say(`$ node packages/agent/dist/instance-role-agent.mjs ${args.join(' ')}`);
  const run = await runAgent(args, env);
  console.log(indent(run.stdout, '    | '));
  if (run.stderr.trim()) console.log(indent(run.stderr, '    ! '));
  const report = readReport(run.stdout);
  const leaked = Object.values(FAKE_KEYS).filter((k) => `${run.stdout}${run.stderr}`.includes(k));
  expectThat(leaked.length === 0, 'no key material in the output', 'a key was printed');
  expectThat(run.code === expectation.code, `exit ${expectation.code}`, `the agent exited ${run.code}`);
  expectThat(
    report.verdict === expectation.verdict,
    `verdict ${expectation.verdict}`,
    `the verdict was ${report.verdict}`,
  );
  expectThat(report.role === expectation.role, `role ${expectation.role}`, `the role was ${report.role}`);
  for (const code of expectation.findings ?? [])
    expectThat(report.findings.includes(code), `finding ${code}`, `the findings were [${report.findings}]`);
  if (!expectation.findings)
    expectThat(report.findings.length === 0, 'no findings', `the findings were [${report.findings}]`);
  return report;
}

async function main() {
  step('Start the sandbox: moto_server, the AWS proxy and (later) an IMDS emulator, all on 127.0.0.1');
  sandboxStart = startSandbox();
  // Loading the library and the SDK overlaps moto's start-up.
  const [sandbox, loaded, { EC2Client, DescribeInstancesCommand }, s3, dynamodb] = await Promise.all([
    sandboxStart,
    import('../packages/core/dist/index.js'),
    sdk('core', '@aws-sdk/client-ec2'),
    sdk('agent', '@aws-sdk/client-s3'),
    sdk('agent', '@aws-sdk/client-dynamodb'),
  ]);
  core = loaded;
  process.env.AWS_ENDPOINT_URL = sandbox.endpoint;
  say(`moto ${sandbox.moto.endpoint}, proxy ${sandbox.endpoint} (AWS_ENDPOINT_URL)`);

  step('Ensure role demo-app with preset s3-read-only');
  const ensured = await core.ensureInstanceRole({ name: 'demo-app', policies: ['s3-read-only'] });
  say(core.formatPlan(ensured.plan));
  expectThat(
    ensured.applied.some((c) => c.kind === 'create-role') && ensured.instanceProfile.name === 'demo-app',
    'role and instance profile demo-app created',
    `applied [${ensured.applied.map((c) => c.kind)}], profile ${ensured.instanceProfile.name}`,
  );
  const again = await core.ensureInstanceRole({ name: 'demo-app', policies: ['s3-read-only'] });
  expectThat(!again.changed, 'a second ensure changes nothing', `it applied ${again.applied.length} changes`);

  step('Launch an instance with the role (IMDSv2 required); create a bucket, an object and a table');
  const launched = await core.launchWithRole(
    { ImageId: 'ami-12c6146b', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 },
    { instanceProfile: 'demo-app' },
  );
  const instanceId = launched.instanceIds[0];
  const ec2 = new EC2Client({});
  const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const instance = described.Reservations?.[0]?.Instances?.[0];
  say(`instance ${instanceId}, profile ${instance?.IamInstanceProfile?.Arn}`);
  say(`MetadataOptions (DescribeInstances): ${JSON.stringify(instance?.MetadataOptions)}`);
  expectThat(
    instance?.MetadataOptions?.HttpTokens === 'required',
    'HttpTokens required',
    `HttpTokens was ${instance?.MetadataOptions?.HttpTokens}`,
  );
  const s3Client = new s3.S3Client({ forcePathStyle: true });
  await s3Client.send(new s3.CreateBucketCommand({ Bucket: BUCKET }));
  await s3Client.send(new s3.PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: 'hello from the demo\n' }));
  await new dynamodb.DynamoDBClient({}).send(
    new dynamodb.CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  say(`s3://${BUCKET}/${KEY} and table ${TABLE}`);

  step('Verify on the instance: the one-file agent, clean environment, credentials only from IMDS');
  // moto cannot AssumeRole a Service-principal role under enforcement: the emulator assumes it first.
  const imds = await sandbox.imds({ instanceId, httpTokens: 'required', associationTtlMs: 60_000 });
  await sandbox.moto.setEnforcement(true);
  say(`IMDS emulator ${imds.endpoint} (AWS_EC2_METADATA_SERVICE_ENDPOINT); moto IAM enforcement on`);
  home = mkdtempSync(join(tmpdir(), 'instance-role-demo-home-'));
  const instanceEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_REGION: REGION,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  await agentStep(instanceEnv, 's3-read-only', { code: 0, verdict: 'PASS', role: 'demo-app' });

  step('Bad practice caught: the same agent with static keys in its environment');
  say('AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set to the AWS docs example values');
  await agentStep({ ...instanceEnv, ...FAKE_KEYS }, 's3-read-only', {
    code: 1,
    verdict: 'FAIL',
    role: 'demo-app',
    findings: ['STATIC_KEYS_ENV', 'ENV_KEYS_OVERRIDE_ROLE'],
  });

  step('Replace the role with demo-app-dynamodb (dynamodb-full-access) and verify again');
  await sandbox.moto.setEnforcement(false);
  const dynamo = await core.ensureInstanceRole({
    name: 'demo-app-dynamodb',
    policies: ['dynamodb-full-access'],
  });
  say(core.formatPlan(dynamo.plan));
  const attached = await core.attachRole(
    { instanceId, instanceProfile: 'demo-app-dynamodb', replace: true },
    { profileJustCreated: true },
  );
  say(
    `attachRole: ${attached.action}, ${attached.previousProfile?.name ?? '-'} -> ${attached.instanceProfile.name} (${attached.method ?? '-'})`,
  );
  expectThat(
    attached.action === 'replaced' && attached.previousProfile?.name === 'demo-app',
    'replaced, previous profile demo-app',
    `action ${attached.action}, previous ${attached.previousProfile?.name}`,
  );
  await imds.refresh();
  await sandbox.moto.setEnforcement(true);
  say('IMDS emulator re-read the association; moto IAM enforcement on');
  await agentStep(instanceEnv, 'dynamodb-full-access', {
    code: 0,
    verdict: 'PASS',
    role: 'demo-app-dynamodb',
  });
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  exitCode = 1;
  if (signalled) console.error(`interrupted in step ${stepNo}`);
  else if (error instanceof Mismatch) console.error(`\nFAILED: ${error.message}`);
  else {
    const message = String(error?.message);
    console.error(
      `\nFAILED in step ${stepNo}: ${error?.name ?? 'Error'}: ${core?.redactSecrets(message) ?? message}`,
    );
  }
} finally {
  await cleanup();
}
const elapsed = Date.now() - started;
console.log(`\nelapsed ${(elapsed / 1000).toFixed(1)} s (budget ${BUDGET_MS / 1000} s)`);
if (exitCode === 0 && elapsed > BUDGET_MS) {
  console.error(
    `FAILED: expected the demo to finish within ${BUDGET_MS / 1000} s, it took ${(elapsed / 1000).toFixed(1)} s`,
  );
  exitCode = 1;
}
console.log(exitCode === 0 ? 'demo: every step behaved as expected' : 'demo: FAILED');
process.exit(signalled ?? exitCode);
