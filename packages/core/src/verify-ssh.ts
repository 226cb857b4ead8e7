import { spawn } from 'node:child_process';
import type { Report } from '@instance-role/agent';
import { readAgentBundle } from './agent-bundle.js';
import { AgentError, assertNoProblems, type Problem, SshError } from './errors.js';

/** The agent's JSON report (schema version 1), as `instance-role-agent --json` prints it. */
export type AgentReport = Report;

/** What the agent should check on the instance. */
export interface AgentExpectations {
  /** Preset refs whose expectations the agent probes, e.g. `['s3-read-only']`. @default [] */
  readonly presets?: readonly string[];
  /** The role name the instance must have. @default no role-name check */
  readonly expectRole?: string;
  /** An `ensure --json` manifest or its `expect` field, passed to the agent's `--expect`. @default none */
  readonly expect?: object;
  /** Also probe the write actions (`--write-probes`). @default false */
  readonly writeProbes?: boolean;
}

/** Where and how to reach the instance. Anything unset comes from the user's ssh config. */
export interface SshTarget {
  readonly host: string;
  /** @default the ssh config's user, else the local user */
  readonly user?: string;
  /** @default the ssh config's port, else 22 */
  readonly port?: number;
  /** Private key file (`ssh -i`). @default the ssh config's keys and agent */
  readonly identityFile?: string;
  /** Extra `ssh` arguments, e.g. `['-o', 'ProxyJump=bastion']`. @default [] */
  readonly sshOptions?: readonly string[];
}

export interface VerifyOverSshOptions extends SshTarget {
  /** @default {} (the agent only reads IMDS and the role's identity) */
  readonly expectations?: AgentExpectations;
  /** Deadline for the whole session, connection included. @default 60_000 */
  readonly timeoutMs?: number;
  /** Environment for the agent on the instance (`env VAR=... node ...`), e.g. `AWS_REGION`. @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** @default the installed `@instance-role/agent/bundle` */
  readonly bundlePath?: string;
  /** @default 'ssh' from PATH */
  readonly sshCommand?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Run the one-file agent on an instance over SSH, installing nothing: the bundle is streamed on stdin
 * to `node` on the instance, and its JSON report comes back typed. Uses the system `ssh` (your
 * ~/.ssh/config, agent and known_hosts apply; `BatchMode=yes`, host-key checking untouched).
 *
 * @throws SshError (`reason`: ssh-missing, auth, host-key, unreachable, node-missing, timeout, other)
 * @throws AgentError (`reason`: no-role, usage, malformed-output, bundle-missing)
 *
 * @example
 * const report = await verifyOverSsh({
 *   host: 'ec2-3-91-0-1.compute-1.amazonaws.com',
 *   user: 'ec2-user',
 *   expectations: { presets: ['s3-read-only'], expectRole: 'web-app' },
 * });
 * console.log(report.verdict, report.role.name);
 */
export async function verifyOverSsh(options: VerifyOverSshOptions): Promise<AgentReport> {
  validate(options);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const bundle = readAgentBundle(options.bundlePath);
  const command = remoteCommand(agentArgs(options.expectations ?? {}, agentTimeout(timeoutMs)), options);
  const result = await runSsh(
    options.sshCommand ?? 'ssh',
    sshArgs(options, timeoutMs, command),
    bundle,
    timeoutMs,
  );
  return interpret(result, options.host);
}

/** The agent's command-line arguments for these expectations (`--json` first). */
export function agentArgs(expectations: AgentExpectations, timeoutMs: number): string[] {
  const args = ['--json', '--timeout-ms', String(timeoutMs)];
  for (const preset of expectations.presets ?? []) args.push('--preset', preset);
  if (expectations.expectRole) args.push('--expect-role', expectations.expectRole);
  if (expectations.writeProbes) args.push('--write-probes');
  return args;
}

/** Quote a word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function validate(o: VerifyOverSshOptions): void {
  const problems: Problem[] = [];
  if (!o.host || /\s/.test(o.host) || o.host.startsWith('-')) {
    problems.push({
      field: 'host',
      rule: 'a host name or address, no spaces, not starting with "-"',
      value: o.host,
    });
  }
  if (o.user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/.test(o.user)) {
    problems.push({ field: 'user', rule: 'a user name of [A-Za-z0-9._-]', value: o.user });
  }
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) {
    problems.push({ field: 'port', rule: 'an integer 1-65535', value: String(o.port) });
  }
  if (o.timeoutMs !== undefined && !(Number.isFinite(o.timeoutMs) && o.timeoutMs >= 1000)) {
    problems.push({ field: 'timeoutMs', rule: 'at least 1000 ms', value: String(o.timeoutMs) });
  }
  for (const name of Object.keys(o.env ?? {})) {
    if (!ENV_NAME.test(name))
      problems.push({ field: `env.${name}`, rule: 'a variable name of [A-Za-z0-9_]' });
  }
  assertNoProblems(problems);
}

function agentTimeout(timeoutMs: number): number {
  return Math.max(1000, Math.floor(timeoutMs * 0.8));
}

/** `node` reads the ESM bundle from stdin; an `--expect` document travels in a temp file removed afterwards. */
function remoteCommand(args: string[], o: VerifyOverSshOptions): string {
  const env = Object.entries(o.env ?? {}).map(([k, v]) => shellQuote(`${k}=${v}`));
  const expect = o.expectations?.expect;
  const node = [
    ...(env.length > 0 ? ['env', ...env] : []),
    'node',
    '--input-type=module',
    '-',
    ...args.map(shellQuote),
  ];
  if (!expect) return node.join(' ');
  const doc = shellQuote(JSON.stringify(expect));
  return `e=$(mktemp) && printf '%s' ${doc} > "$e" && { ${node.join(' ')} --expect "$e"; rc=$?; rm -f "$e"; exit $rc; }`;
}

function sshArgs(o: VerifyOverSshOptions, timeoutMs: number, command: string): string[] {
  const connectTimeout = Math.max(1, Math.min(30, Math.ceil(timeoutMs / 2000)));
  const args = ['-T', '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${connectTimeout}`];
  if (o.port !== undefined) args.push('-p', String(o.port));
  if (o.identityFile) args.push('-i', o.identityFile);
  args.push(...(o.sshOptions ?? []));
  args.push('--', o.user ? `${o.user}@${o.host}` : o.host, command);
  return args;
}

interface SshResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly spawnError?: NodeJS.ErrnoException;
}

function runSsh(ssh: string, args: string[], stdin: Buffer, timeoutMs: number): Promise<SshResult> {
  return new Promise((resolve) => {
    const child = spawn(ssh, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => {}); // ssh may exit before reading the bundle; its exit code says why
    child.once('error', (spawnError: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stdout: '', stderr: '', timedOut, spawnError });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        timedOut,
      });
    });
    child.stdin.end(stdin);
  });
}

function interpret(r: SshResult, host: string): AgentReport {
  if (r.spawnError) throw sshSpawnError(r.spawnError, host);
  if (r.timedOut)
    throw new SshError(
      'timeout',
      host,
      `No answer from ${host} before the deadline; ${lastLine(r.stderr)}`,
      null,
    );
  if (r.code === 255) throw sshFailure(r, host);
  if (r.code === 127 && /node/.test(r.stderr)) throw nodeMissing(host, r.stderr);
  if (r.code === 3) throw noRole(host, r.stdout);
  if (r.code === 2)
    throw new AgentError('usage', `The agent on ${host} rejected its arguments: ${lastLine(r.stderr)}`, 2);
  return parseReport(r.stdout, r.code, r.stderr);
}

/**
 * Parse the agent's `--json` output; anything that is not a schema-1 report is an AgentError.
 *
 * @example
 * const report = parseReport(execFileSync('node', ['instance-role-agent.mjs', '--json'], { encoding: 'utf8' }));
 */
export function parseReport(stdout: string, exitCode: number | null = null, stderr = ''): AgentReport {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (cause) {
    throw malformed(stdout, exitCode, stderr, cause);
  }
  if (!isReport(value)) throw malformed(stdout, exitCode, stderr);
  return value;
}

function isReport(v: unknown): v is AgentReport {
  const r = v as Partial<AgentReport> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.schemaVersion === 1 &&
    ['pass', 'fail', 'error'].includes(r.verdict as string) &&
    Array.isArray(r.checks) &&
    Array.isArray(r.findings)
  );
}

function malformed(stdout: string, exitCode: number | null, stderr: string, cause?: unknown): AgentError {
  const seen = stdout.trim() ? `output began ${JSON.stringify(stdout.trim().slice(0, 120))}` : 'no output';
  const err = stderr.trim() ? `; stderr: ${lastLine(stderr)}` : '';
  return new AgentError(
    'malformed-output',
    `The agent did not print a schema-1 JSON report (exit ${exitCode}, ${seen}${err})`,
    exitCode,
    cause,
  );
}

function sshSpawnError(e: NodeJS.ErrnoException, host: string): SshError {
  if (e.code === 'ENOENT') {
    return new SshError(
      'ssh-missing',
      host,
      'The ssh client was not found on PATH. Install OpenSSH: Debian/Ubuntu `sudo apt-get install -y openssh-client`, Amazon Linux/RHEL `sudo dnf install -y openssh-clients`, macOS and Windows 10+ ship it',
      null,
      e,
    );
  }
  return new SshError('other', host, `Could not run ssh: ${e.message}`, null, e);
}

function sshFailure(r: SshResult, host: string): SshError {
  const s = r.stderr;
  if (/Permission denied|Too many authentication failures/i.test(s)) {
    return new SshError(
      'auth',
      host,
      `ssh to ${host} was refused: ${lastLine(s)}. Check the user (ec2-user on Amazon Linux, ubuntu on Ubuntu) and the key (--identity FILE, or ssh-add it); BatchMode is on, so passwords are never asked`,
      255,
    );
  }
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(s)) {
    return new SshError(
      'host-key',
      host,
      `${host}'s host key is unknown or changed (${lastLine(s)}). Connect once with plain ssh to confirm and record it, or add it to known_hosts; host-key checking is never turned off`,
      255,
    );
  }
  if (
    /Connection refused|Connection timed out|No route to host|Network is unreachable|Could not resolve hostname|Operation timed out|Connection closed by/i.test(
      s,
    )
  ) {
    return new SshError(
      'unreachable',
      host,
      `${host} is unreachable: ${lastLine(s)}. Check the address, that the instance runs, and that its security group allows SSH (TCP 22) from here`,
      255,
    );
  }
  return new SshError('other', host, `ssh to ${host} failed (exit 255): ${lastLine(s)}`, 255);
}

function nodeMissing(host: string, stderr: string): SshError {
  return new SshError(
    'node-missing',
    host,
    `Node.js is not installed on ${host} (or not on the login PATH): ${lastLine(stderr)}. Install it: Amazon Linux 2023 \`sudo dnf install -y nodejs\`, Ubuntu/Debian \`sudo apt-get install -y nodejs\` (the agent needs Node 18 or later)`,
    127,
  );
}

function noRole(host: string, stdout: string): AgentError {
  const id = /"id"\s*:\s*"(i-[0-9a-f]+)"/.exec(stdout)?.[1] ?? 'INSTANCE_ID';
  return new AgentError(
    'no-role',
    `The instance at ${host} has no role credentials (no instance profile attached). Attach one: instance-role attach --instance ${id} --profile PROFILE (or aws ec2 associate-iam-instance-profile --instance-id ${id} --iam-instance-profile Name=PROFILE)`,
    3,
  );
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? '(no message)';
}
