// Benchmark harness: cold-process timing of alternating contenders, a local AWS stack, RESULTS.md writer.
// Plain Node ESM so it runs with `node` after `pnpm build`; imports the built packages by relative path.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.dirname(BENCH_DIR);
export const RESULTS_FILE = path.join(BENCH_DIR, 'RESULTS.md');
export const DIST = {
  coreIndex: path.join(ROOT, 'packages/core/dist/index.js'),
  coreCli: path.join(ROOT, 'packages/core/dist/cli.js'),
  sandbox: path.join(ROOT, 'packages/sandbox/dist/index.js'),
  agentBundle: path.join(ROOT, 'packages/agent/dist/instance-role-agent.mjs'),
};
export const RUNS = positiveInt(process.env.BENCH_RUNS, 15);
export const DUMMY_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIABENCHDUMMYKEY000',
  AWS_SECRET_ACCESS_KEY: 'bench-dummy-secret',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_PAGER: '',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
};
const TIME_BIN = '/usr/bin/time';
// The SDK's Node 20 end-of-support warning is noise in the harness; children run as users would.
const SDK_WARNING = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
const sdkWarningSetByUser = SDK_WARNING in process.env;
process.env[SDK_WARNING] ??= 'true';

/** A piece of the project that is not built (yet): the benchmark reports it as skipped. */
export class SkipError extends Error {
  name = 'SkipError';
}

export function positiveInt(raw, fallback) {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && url === pathToFileURL(path.resolve(process.argv[1])).href;
}

/** Import a built file, or throw SkipError naming the piece. */
export async function importBuilt(file, piece, names = []) {
  if (!existsSync(file)) throw new SkipError(`${piece} not built (${path.relative(ROOT, file)} missing)`);
  const mod = await import(pathToFileURL(file).href);
  const missing = names.filter((n) => typeof mod[n] !== 'function');
  if (missing.length > 0)
    throw new SkipError(`${piece} not built (${path.relative(ROOT, file)} lacks ${missing.join(', ')})`);
  return mod;
}

export function requireFile(file, piece) {
  if (!existsSync(file)) throw new SkipError(`${piece} not built (${path.relative(ROOT, file)} missing)`);
  return file;
}

/**
 * Our ensure + attach as one cold invocation: `ensure --instance` when the CLI has it, else
 * `ensure` then `attach` in one `sh -c` (two node processes, as a user would type them).
 */
export function ourEnsureAttach() {
  const help = requireCliCommand('ensure');
  if (help.includes('--instance')) {
    return {
      how: '`instance-role ensure --name N --preset s3-read-only --instance I` (one node process)',
      argv: (name, instance) => ({
        cmd: process.execPath,
        args: [DIST.coreCli, 'ensure', '--name', name, '--preset', 's3-read-only', '--instance', instance],
      }),
    };
  }
  requireCliCommand('attach');
  const q = (x) => `'${x}'`;
  const cli = `${q(process.execPath)} ${q(DIST.coreCli)}`;
  return {
    how: '`instance-role ensure --name N --preset s3-read-only && instance-role attach --instance I --profile N` (ensure has no --instance yet: two node processes)',
    argv: (name, instance) => ({
      cmd: 'sh',
      args: [
        '-c',
        `${cli} ensure --name ${q(name)} --preset s3-read-only >/dev/null && ${cli} attach --instance ${q(instance)} --profile ${q(name)} >/dev/null`,
      ],
    }),
  };
}

/** Throw SkipError unless `node packages/core/dist/cli.js <command> --help` succeeds; returns the help text. */
export function requireCliCommand(command) {
  requireFile(DIST.coreCli, 'core CLI');
  let help = '';
  try {
    help = execFileSync(process.execPath, [DIST.coreCli, command, '--help'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: childEnv(),
    });
  } catch {}
  if (!help.includes(command) || !help.includes('--')) {
    throw new SkipError(
      `core CLI command '${command}' not built (node packages/core/dist/cli.js ${command} --help fails)`,
    );
  }
  return help;
}

/** Load an AWS SDK v3 client package from the sandbox package's dependencies (bench/ has none of its own). */
export function sdk(name) {
  const require = createRequire(path.join(ROOT, 'packages/sandbox/package.json'));
  return require(`@aws-sdk/${name}`);
}

// ---------- one cold process ----------

/**
 * Run one command as a fresh process. Wall time is taken around spawn..exit with process.hrtime.bigint;
 * peak RSS comes from GNU time (`-f %M`, written to a file), else from polling /proc/PID/status VmHWM.
 */
export async function runOnce({ cmd, args = [], env = {}, cwd = ROOT, input }) {
  const useTime = existsSync(TIME_BIN);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const rssFile = path.join(dir, 'rss');
  const [file, argv] = useTime ? [TIME_BIN, ['-o', rssFile, '-f', '%M', cmd, ...args]] : [cmd, args];
  const start = process.hrtime.bigint();
  const child = spawn(file, argv, {
    cwd,
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  child.stdin.end(input ?? '');
  let polledKb = 0;
  const poller = useTime
    ? undefined
    : setInterval(() => (polledKb = Math.max(polledKb, vmHwm(child.pid))), 5);
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve(c ?? signal));
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (poller) clearInterval(poller);
  const rssKb = useTime ? readRss(rssFile) : polledKb;
  rmSync(dir, { recursive: true, force: true });
  return { wallMs, rssKb, code, stdout, stderr };
}

/** process.env + dummy keys + `env`; a key set to undefined in `env` is removed. */
export function childEnv(env = {}) {
  const merged = { ...process.env, ...DUMMY_ENV, ...env };
  if (!sdkWarningSetByUser) delete merged[SDK_WARNING];
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return merged;
}

function readRss(file) {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return Number(lines.at(-1)) || 0;
  } catch {
    return 0;
  }
}

function vmHwm(pid) {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// ---------- alternating comparison ----------

/**
 * Run each contender `runs` times, alternating (A B C, B C A, ...), each a cold process.
 * A contender: { label, cmd, args, env, okCodes? (default [0]), prepare?(i) -> {env?, args?} (untimed),
 * check?(result, extra) -> problem string | undefined, after?(result, extra, i) (untimed) }.
 * A failed run (non-zero exit or failed check) throws with its stderr, so figures never hide errors.
 */
export async function compare(contenders, { runs = RUNS, log = true } = {}) {
  const samples = contenders.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < contenders.length; k++) {
      const j = (i + k) % contenders.length;
      const c = contenders[j];
      const extra = (await c.prepare?.(i)) ?? {};
      const result = await runSurvivingRebuilds({
        cmd: extra.cmd ?? c.cmd,
        args: extra.args ?? c.args ?? [],
        env: { ...c.env, ...extra.env },
        input: extra.input ?? c.input,
      });
      const problem = !(c.okCodes ?? [0]).includes(result.code)
        ? `exit ${result.code}`
        : c.check?.(result, extra);
      if (problem)
        throw new Error(
          `${c.label} run ${i + 1} failed (${problem}):\n${redact(result.stderr || result.stdout)}`,
        );
      await c.after?.(result, extra, i);
      samples[j].push(result);
    }
    if (log) process.stderr.write(`  run ${i + 1}/${runs}\r`);
  }
  if (log) process.stderr.write('\n');
  return contenders.map((c, j) => ({ label: c.label, ...summarize(samples[j]) }));
}

const MISSING_MODULE = /Cannot find module|ERR_MODULE_NOT_FOUND/;

/**
 * runOnce, retried (up to 3 times, 10 s apart) when the run failed because a built file vanished:
 * on a shared checkout someone's `pnpm build` (tsup clean) can empty a dist/ mid-run. Such a run
 * failed before doing any work, so its retry measures the same job.
 */
export async function runSurvivingRebuilds(spec) {
  for (let attempt = 1; ; attempt++) {
    const result = await runOnce(spec);
    if (result.code === 0 || attempt > 3 || !MISSING_MODULE.test(result.stderr)) return result;
    process.stderr.write(`  (a built file is missing, probably a rebuild in progress: retry in 10 s)\n`);
    await sleep(10_000);
  }
}

export function summarize(results) {
  const wall = results.map((r) => r.wallMs);
  const rss = results.map((r) => r.rssKb).filter((x) => x > 0);
  return {
    runs: results.length,
    median: quantile(wall, 0.5),
    p90: quantile(wall, 0.9),
    min: Math.min(...wall),
    rssMedianMb: rss.length ? quantile(rss, 0.5) / 1024 : Number.NaN,
    rssMaxMb: rss.length ? Math.max(...rss) / 1024 : Number.NaN,
  };
}

/** Nearest-rank quantile (q in 0..1) of a list of numbers. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

export const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : 'n/a');
export const sec = (x) => (Number.isFinite(x) ? `${(x / 1000).toFixed(3)} s` : 'n/a');
export const mb = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} MB` : 'n/a');
export const ratio = (slow, fast) => (fast > 0 ? `${(slow / fast).toFixed(2)}×` : 'n/a');
export const verdict = (ok) => (ok ? 'met' : '**missed**');

/** A markdown table of compare() output, ratios against the first contender. */
export function statsTable(stats) {
  const base = stats[0];
  const rows = stats.map(
    (s) =>
      `| ${s.label} | ${s.runs} | ${sec(s.median)} | ${sec(s.p90)} | ${sec(s.min)} | ${mb(s.rssMedianMb)} | ${s === base ? '1×' : ratio(s.median, base.median)} |`,
  );
  return [
    `| contender | runs | median | p90 | min | peak RSS (median) | median vs ${base.label} |`,
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function redact(text) {
  return String(text)
    .replace(
      /("?(?:SecretAccessKey|SessionToken|Token|secretAccessKey|sessionToken)"?\s*[:=]\s*)"?[^",\s}]+"?/g,
      '$1"<redacted>"',
    )
    .slice(0, 4000);
}

// ---------- local AWS: moto + proxy + IMDS ----------

/**
 * Start moto_server and the counting proxy in front of it (both on loopback).
 * Returns { moto, proxy, endpoint (= proxy), imds(opts), stop() }.
 */
export async function startStack({ propagationDelayMs = 0 } = {}) {
  const sandbox = await importBuilt(DIST.sandbox, '@instance-role/sandbox', ['startMoto', 'startAwsProxy']);
  const moto = await sandbox.startMoto();
  let proxy;
  try {
    proxy = await sandbox.startAwsProxy({ target: moto.endpoint, propagationDelayMs });
  } catch (err) {
    await moto.stop();
    throw err;
  }
  const imdsList = [];
  return {
    moto,
    proxy,
    endpoint: proxy.endpoint,
    async imds(options) {
      if (typeof sandbox.startImds !== 'function')
        throw new SkipError('@instance-role/sandbox startImds not built');
      const imds = await sandbox.startImds({ awsEndpoint: moto.endpoint, ...options });
      imdsList.push(imds);
      return imds;
    },
    async stop() {
      for (const i of imdsList) await i.close().catch(() => {});
      await proxy.close().catch(() => {});
      await moto.stop();
    },
  };
}

/** SDK clients pointed at an endpoint with the dummy keys. */
export function clients(endpoint) {
  const config = {
    endpoint,
    region: 'us-east-1',
    credentials: {
      accessKeyId: DUMMY_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: DUMMY_ENV.AWS_SECRET_ACCESS_KEY,
    },
  };
  const { EC2Client } = sdk('client-ec2');
  const { IAMClient } = sdk('client-iam');
  const { SSMClient } = sdk('client-ssm');
  const { STSClient } = sdk('client-sts');
  return {
    config,
    ec2: new EC2Client(config),
    iam: new IAMClient(config),
    ssm: new SSMClient(config),
    sts: new STSClient(config),
  };
}

let amiCache;
/** Launch `count` running instances in moto (untimed setup); returns their ids. */
export async function runInstances(ec2, count = 1, extra = {}) {
  const { RunInstancesCommand, DescribeImagesCommand } = sdk('client-ec2');
  if (!amiCache) {
    const images = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    amiCache = images.Images?.[0]?.ImageId ?? 'ami-12c6146b';
  }
  const ids = [];
  for (let left = count; left > 0; ) {
    const n = Math.min(left, 250);
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: amiCache,
        InstanceType: 't3.micro',
        MinCount: n,
        MaxCount: n,
        ...extra,
      }),
    );
    ids.push(...(out.Instances ?? []).map((i) => i.InstanceId));
    left -= n;
  }
  return ids;
}

let seq = 0;
/** A fresh resource name, unique within this process and across runs. */
export function freshName(prefix) {
  seq += 1;
  return `${prefix}-${process.pid.toString(36)}${Date.now().toString(36)}${seq}`;
}

export function sleep(msValue) {
  return new Promise((r) => setTimeout(r, msValue));
}

// ---------- machine + RESULTS.md ----------

function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return (err.stdout || err.stderr || 'n/a').toString().trim() || 'n/a';
  }
}

export function machineInfo() {
  const cpu =
    /model name\s*:\s*(.*)/.exec(safeRead('/proc/cpuinfo'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    nproc: tryRun('nproc', []),
    cpu,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    python: tryRun('python3', ['--version']),
    awsCli: tryRun('aws', ['--version']),
    boto3: tryRun('python3', [
      '-c',
      'import boto3, botocore; print(boto3.__version__, botocore.__version__)',
    ]),
    moto: tryRun('python3', ['-c', 'import moto; print(moto.__version__)']),
    peakRss: existsSync(TIME_BIN) ? `GNU time (${TIME_BIN} -f %M)` : '/proc/PID/status VmHWM polling',
    loadavg: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    date: new Date().toISOString(),
  };
}

function safeRead(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const HEADER_END = '<!-- /bench:header -->';

function header(info) {
  return [
    '# instance-role benchmarks',
    '',
    'Generated by `pnpm bench` (bench/run-all.mjs). Benchmarks, not tests: nothing fails on a time.',
    'Each comparison alternates its contenders run by run, each run a cold process, all against the same',
    'moto_server on loopback (through the sandbox counting proxy).',
    '',
    '## Machine',
    '',
    `- date: ${info.date}`,
    `- nproc: ${info.nproc}; CPU: ${info.cpu}; memory: ${info.memory}; ${info.kernel}`,
    `- load average when this file was last written (1/5/15 min): ${info.loadavg} (a busy machine makes every figure noisy)`,
    `- node ${info.node}; ${info.python}; ${info.awsCli}; boto3/botocore ${info.boto3}; moto ${info.moto}`,
    `- peak RSS from ${info.peakRss}`,
    '',
    '## How to reproduce',
    '',
    '```sh',
    'pnpm install',
    'pnpm bench                            # pnpm build, then every benchmark; rewrites this file',
    'BENCH_RUNS=30 node bench/run-all.mjs  # without the build; more runs per contender (default 15)',
    'BENCH_ONLY=02,05 node bench/run-all.mjs   # some benchmarks, updates only their sections',
    'node bench/02-verify-cold.mjs         # one benchmark, updates only its section',
    '```',
    '',
    'Other knobs: BENCH_PROPAGATION_DELAYS (ms list, default `2000,5000,10000`), BENCH_PROPAGATION_RUNS',
    '(default 5), BENCH_RSS_RUNS (default min(BENCH_RUNS, 10)), BENCH_FLEET_SIZE (default 1000).',
    'Needs moto_server 5.2.1, the AWS CLI (`aws`), python3 with boto3, and GNU time (`/usr/bin/time`, Debian',
    'package `time`; without it peak RSS is polled from /proc/PID/status VmHWM).',
    HEADER_END,
  ].join('\n');
}

/** Replace (or append) one benchmark's section in RESULTS.md; the header is rewritten with fresh machine facts. */
export function writeSection(id, markdown, { info = machineInfo() } = {}) {
  const begin = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '';
  const body = current.includes(HEADER_END)
    ? current.slice(current.indexOf(HEADER_END) + HEADER_END.length)
    : '';
  const sections = parseSections(body);
  sections.set(id, `${begin}\n${markdown.trim()}\n${end}`);
  const ordered = [...sections.keys()].sort().map((k) => sections.get(k));
  writeFileSync(RESULTS_FILE, `${header(info)}\n\n${ordered.join('\n\n')}\n`);
}

function parseSections(body) {
  const map = new Map();
  const re = /<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g;
  for (const m of body.matchAll(re)) map.set(m[1], m[0]);
  return map;
}

/**
 * Run a benchmark body and record its section; a SkipError becomes "skipped: <reason>",
 * any other error "failed: <message>" (the run goes on with the other benchmarks).
 */
export async function runBench(id, title, body) {
  const started = Date.now();
  process.stderr.write(`\n== ${id}: ${title}\n`);
  let markdown;
  let status = 'ok';
  try {
    markdown = await body();
  } catch (err) {
    status = err instanceof SkipError ? 'skipped' : 'failed';
    markdown = `${status}: ${redact(err instanceof SkipError ? err.message : (err.stack ?? err))}`;
    if (status === 'failed') markdown = `${status}:\n\n\`\`\`\n${redact(err.stack ?? err)}\n\`\`\``;
  }
  const took = ((Date.now() - started) / 1000).toFixed(1);
  writeSection(id, `## ${title}\n\n${markdown}\n\n_(benchmark took ${took} s)_`);
  process.stderr.write(`== ${id}: ${status} in ${took} s\n`);
  return status;
}
