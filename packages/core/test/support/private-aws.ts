import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeIamInstanceProfileAssociationsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListInstanceProfilesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import {
  type AwsProxy,
  type FaultRule,
  type MotoServer,
  startAwsProxy,
  startMoto,
} from '@instance-role/sandbox';
import { outputOf, type ProcessOutput } from './process.js';

/** A private, empty moto with the fault-injecting proxy in front of it. */
export interface PrivateAws {
  readonly moto: MotoServer;
  readonly proxy: AwsProxy;
  stop(): Promise<void>;
}

export async function startPrivateAws(
  options: { faults?: readonly FaultRule[]; seed?: number } = {},
): Promise<PrivateAws> {
  const moto = await startMoto();
  const proxy = await startAwsProxy({ target: moto.endpoint, faults: options.faults, seed: options.seed });
  return {
    moto,
    proxy,
    stop: async () => {
      await proxy.close();
      await moto.stop();
    },
  };
}

/** SDK clients configured like the library's defaults (adaptive retry, 6 attempts), against `endpoint`. */
export function clientsAt(endpoint: string) {
  const config = { endpoint, region: 'us-east-1', retryMode: 'adaptive' as const, maxAttempts: 6 };
  return { iam: new IAMClient(config), ec2: new EC2Client(config), sts: new STSClient(config) };
}

/** `count` running instances launched with no instance profile. */
export async function launchBare(ec2: EC2Client, count: number): Promise<string[]> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: count,
      MaxCount: count,
    }),
  );
  return (out.Instances ?? []).map((i) => i.InstanceId!);
}

export interface RoleFacts {
  readonly tags: Readonly<Record<string, string>>;
  readonly trust: string;
  readonly managed: readonly string[];
  readonly inline: readonly string[];
}

/** Everything IAM and EC2 hold in a private moto, read directly (never through the proxy). */
export interface Inventory {
  readonly roles: Readonly<Record<string, RoleFacts>>;
  /** profile name -> names of the roles in it */
  readonly profiles: Readonly<Record<string, readonly string[]>>;
  /** active associations: instance ID -> profile names */
  readonly associations: Readonly<Record<string, readonly string[]>>;
}

export async function inventory(motoEndpoint: string): Promise<Inventory> {
  const { iam, ec2 } = clientsAt(motoEndpoint);
  const roleList = (await iam.send(new ListRolesCommand({ MaxItems: 1000 }))).Roles ?? [];
  const roles: Record<string, RoleFacts> = {};
  for (const r of roleList) roles[r.RoleName!] = await roleFacts(iam, r.RoleName!);
  const profileList =
    (await iam.send(new ListInstanceProfilesCommand({ MaxItems: 1000 }))).InstanceProfiles ?? [];
  const profiles = Object.fromEntries(
    profileList.map((p) => [p.InstanceProfileName!, (p.Roles ?? []).map((x) => x.RoleName!)]),
  );
  const assocList =
    (await ec2.send(new DescribeIamInstanceProfileAssociationsCommand({}))).IamInstanceProfileAssociations ??
    [];
  const associations: Record<string, string[]> = {};
  for (const a of assocList) {
    if (!['associating', 'associated'].includes(a.State ?? '')) continue;
    const name = a.IamInstanceProfile?.Arn?.split('/').pop() ?? '?';
    associations[a.InstanceId!] = [...(associations[a.InstanceId!] ?? []), name];
  }
  return { roles, profiles, associations };
}

export async function roleFacts(iam: IAMClient, name: string): Promise<RoleFacts> {
  const role = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role!;
  const managed = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
  const inline = await iam.send(new ListRolePoliciesCommand({ RoleName: name }));
  return {
    tags: Object.fromEntries((role.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
    trust: decodeURIComponent(role.AssumeRolePolicyDocument ?? ''),
    managed: (managed.AttachedPolicies ?? []).map((p) => p.PolicyArn!).sort(),
    inline: [...(inline.PolicyNames ?? [])].sort(),
  };
}

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** A private copy of the built CLI: a concurrent `tsup` build (clean: true) cannot pull it away mid-test. */
const SNAPSHOT = fileURLToPath(
  new URL(`../../node_modules/.cache/reliability-cli-${process.pid}/`, import.meta.url),
);
export const CLI = `${SNAPSHOT}cli.js`;

/**
 * Build the CLI when dist/cli.js is missing, then snapshot dist/ (tests of the real binary). Test files
 * run in parallel and others build too: one build at a time (a lock directory), retried when a
 * concurrent clean pulled the output away.
 */
export function ensureCliBuilt(): void {
  withBuildLock(() => {
    for (let attempt = 1; !existsSync(`${DIST}cli.js`); attempt++) {
      const out = spawnSync('pnpm', ['--filter', '@instance-role/core', 'build'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      if (out.status !== 0 && attempt >= 3)
        throw new Error(`building the CLI failed:\n${out.stdout}\n${out.stderr}`);
      if (out.status !== 0) sleepSync(2000);
    }
    rmSync(SNAPSHOT, { recursive: true, force: true });
    cpSync(DIST, SNAPSHOT, { recursive: true });
  });
}

const LOCK = fileURLToPath(new URL('../../node_modules/.cache/reliability-cli-build.lock', import.meta.url));

function withBuildLock(fn: () => void): void {
  const deadline = Date.now() + 180_000;
  mkdirSync(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK, { recursive: false });
      break;
    } catch {
      const since = statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() > deadline || Date.now() - since > 180_000)
        rmSync(LOCK, { recursive: true, force: true });
      sleepSync(250);
    }
  }
  try {
    fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function removeCliSnapshot(): void {
  rmSync(SNAPSHOT, { recursive: true, force: true });
}

export type CliRun = ProcessOutput;

/** A running `instance-role` process against `endpoint`. */
export function spawnCli(args: readonly string[], endpoint: string) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, done: outputOf(child) };
}

export function runCli(args: readonly string[], endpoint: string): Promise<CliRun> {
  return spawnCli(args, endpoint).done;
}

/** IAM and EC2 writes (anything that is not a read), as the proxy saw them. */
export const isWrite = (action: string) => !/^(Get|List|Describe)/.test(action);
