import { spawn } from 'node:child_process';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { type AwsProxy, type MotoServer, startAwsProxy, startMoto } from '@instance-role/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachRole } from '../src/attach-role.js';
import { ensureAndAttach } from '../src/ensure-and-attach.js';
import { ensureInstanceRole } from '../src/ensure-instance-role.js';
import { ValidationError } from '../src/errors.js';
import { requireImdsV2 } from '../src/imds-options.js';
import { launchWithRole } from '../src/launch.js';
import type { InstanceRoleSpec } from '../src/spec.js';
import { createProfile } from './attach-fixtures.js';
import { ensureCli, isRead, motoState } from './support/moto-state.js';
import { outputOf } from './support/process.js';

/** One broken rule: the field as the library names it, the field as the CLI names it, the rule. */
interface Expected {
  /** Library field; omitted when only the CLI has this problem. */
  readonly field?: string;
  /** CLI field (the option); omitted when only the library has this problem. */
  readonly cli?: string;
  readonly rule: string;
  readonly hint?: string;
}

interface Clients {
  readonly iam: IAMClient;
  readonly ec2: EC2Client;
  readonly sts: STSClient;
}

interface Case {
  readonly title: string;
  readonly lib: (c: Clients) => Promise<unknown>;
  readonly cli: () => readonly string[];
  readonly expect: readonly Expected[];
}

/** A real instance and profile, so that a late validation would change them. Filled in beforeAll. */
const f = { instanceId: '', profile: 'bad-input-existing' };

const AMI = ['--image-id', 'ami-12c6146b', '--instance-type', 't3.micro'];
const RUN = { ImageId: 'ami-12c6146b', InstanceType: 't3.micro' as const, MinCount: 1, MaxCount: 1 };
const MANAGED = [
  'AmazonS3ReadOnlyAccess',
  'AmazonDynamoDBReadOnlyAccess',
  'IAMReadOnlyAccess',
  'CloudWatchAgentServerPolicy',
  'AmazonSSMManagedInstanceCore',
  'AmazonEC2ReadOnlyAccess',
  'AmazonSQSReadOnlyAccess',
  'AmazonSNSReadOnlyAccess',
  'AWSLambda_ReadOnlyAccess',
  'CloudWatchReadOnlyAccess',
  'AmazonRDSReadOnlyAccess',
].map((n) => `arn:aws:iam::aws:policy/${n}`);
const BUCKET_RULE = 'bucket name:';
const LONG_PREFIX = 'p'.repeat(1000);

let seq = 0;
/** A fresh, valid role name: a late validation would create it, and the snapshot would show it. */
const fresh = () => `bad-input-${process.pid}-${seq++}`;

function ensureCase(
  title: string,
  spec: Omit<InstanceRoleSpec, 'name'> & { name?: string },
  args: readonly string[],
  expected: readonly Expected[],
): Case {
  const name = spec.name ?? fresh();
  return {
    title,
    lib: (c) => ensureInstanceRole({ ...spec, name }, { iam: c.iam, sts: c.sts }),
    cli: () => ['ensure', ...(spec.name === undefined ? ['--name', name] : []), ...args],
    expect: expected,
  };
}

/** Preset/ARN cases: the same list goes to the library as `policies` and to the CLI as --preset/--policy-arn. */
function policiesCase(title: string, policies: readonly string[], expected: readonly Expected[]): Case {
  const args = policies.flatMap((p) => (p.startsWith('arn:') ? ['--policy-arn', p] : ['--preset', p]));
  // the CLI puts presets before ARNs: keep the given order presets-first so indexes agree
  return ensureCase(title, { policies }, args, expected);
}

function cases(): Case[] {
  const n65 = 'r'.repeat(65);
  const n129 = 'q'.repeat(129);
  return [
    ensureCase(
      'role name of 65 characters',
      { name: n65 },
      ['--name', n65],
      [{ field: 'name', cli: '--name', rule: 'role name: 1-64 characters' }],
    ),
    ensureCase(
      'role name with a space and !',
      { name: 'web role!' },
      ['--name', 'web role!'],
      [{ field: 'name', cli: '--name', rule: 'role name: 1-64 characters' }],
    ),
    ensureCase(
      'name of 129 characters (too long for the profile too)',
      { name: n129 },
      ['--name', n129],
      [
        { field: 'name', cli: '--name', rule: 'role name: 1-64 characters' },
        { field: 'name', cli: '--name', rule: 'instance profile name: 1-128 characters' },
      ],
    ),
    {
      title: 'instance profile name of 129 characters (attach)',
      lib: (c) => attachRole({ instanceId: f.instanceId, instanceProfile: n129 }, c),
      cli: () => ['attach', '--instance', f.instanceId, '--profile', n129],
      expect: [{ field: 'instanceProfile', cli: '--profile', rule: 'an instance profile name (1-128' }],
    },
    {
      title: 'instance profile name with bad characters (attach)',
      lib: (c) => attachRole({ instanceId: f.instanceId, instanceProfile: 'web/profile' }, c),
      cli: () => ['attach', '--instance', f.instanceId, '--profile', 'web/profile'],
      expect: [{ field: 'instanceProfile', cli: '--profile', rule: 'an instance profile name (1-128' }],
    },
    ensureCase(
      'path without slashes',
      { path: 'team' },
      ['--path', 'team'],
      [{ field: 'path', cli: '--path', rule: 'starts and ends with /' }],
    ),
    ensureCase(
      'path with //',
      { path: '/team//web/' },
      ['--path', '/team//web/'],
      [{ field: 'path', cli: '--path', rule: 'no //' }],
    ),
    policiesCase(
      'policy ARN of another service (s3)',
      ['arn:aws:s3:::my-bucket'],
      [{ field: 'policies[0]', cli: '--policy-arn', rule: 'service must be iam' }],
    ),
    policiesCase(
      'role ARN where a policy ARN belongs',
      ['arn:aws:iam::123456789012:role/web'],
      [{ field: 'policies[0]', cli: '--policy-arn', rule: 'service must be iam, resource policy/NAME' }],
    ),
    policiesCase(
      'policy ARN in an unknown partition',
      ['arn:aws-mars:iam::aws:policy/ReadOnlyAccess'],
      [
        {
          field: 'policies[0]',
          cli: '--policy-arn',
          rule: 'partition must be one of aws, aws-cn, aws-us-gov',
        },
      ],
    ),
    policiesCase(
      'policy ARNs in two partitions',
      ['arn:aws-cn:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::aws:policy/IAMReadOnlyAccess'],
      [{ field: 'policies[1]', cli: '--policy-arn', rule: 'every ARN must be in partition aws-cn' }],
    ),
    policiesCase(
      'policy ARN with a 5-digit account',
      ['arn:aws:iam::12345:policy/Mine'],
      [
        {
          field: 'policies[0]',
          cli: '--policy-arn',
          rule: 'must look like arn:PARTITION:iam::ACCOUNT:policy/NAME',
        },
      ],
    ),
    policiesCase(
      'policy ARN with a region',
      ['arn:aws:iam:us-east-1:aws:policy/ReadOnlyAccess'],
      [{ field: 'policies[0]', cli: '--policy-arn', rule: 'an IAM ARN has no region' }],
    ),
    ensureCase(
      'permissions boundary ARN of another service (sqs)',
      { permissionsBoundary: 'arn:aws:sqs:us-east-1:123456789012:queue' },
      ['--boundary', 'arn:aws:sqs:us-east-1:123456789012:queue'],
      [{ field: 'permissionsBoundary', cli: '--boundary', rule: 'service must be iam' }],
    ),
    {
      title: 'role ARN where an instance profile ARN belongs (attach)',
      lib: (c) =>
        attachRole({ instanceId: f.instanceId, instanceProfile: 'arn:aws:iam::123456789012:role/web' }, c),
      cli: () => ['attach', '--instance', f.instanceId, '--profile', 'arn:aws:iam::123456789012:role/web'],
      expect: [
        {
          field: 'instanceProfile',
          cli: '--profile',
          rule: 'or ARN (arn:aws:iam::ACCOUNT:instance-profile/NAME)',
        },
      ],
    },
    policiesCase(
      'unknown preset with a typo',
      ['s3-raed-only'],
      [
        {
          field: 'policies[0]',
          cli: '--preset',
          rule: 'unknown preset',
          hint: 'did you mean "s3-read-only"?',
        },
      ],
    ),
    policiesCase(
      'unknown scoped preset',
      ['dynamo-read:orders'],
      [
        {
          field: 'policies[0]',
          cli: '--preset',
          rule: 'unknown preset',
          hint: 'did you mean "dynamodb-read"?',
        },
      ],
    ),
    policiesCase(
      'managed preset given a parameter',
      ['s3-read-only:my-bucket'],
      [{ field: 'policies[0]', cli: '--preset', rule: 'preset s3-read-only takes no parameter' }],
    ),
    policiesCase(
      'scoped preset without its parameter',
      ['dynamodb-read'],
      [{ field: 'policies[0]', cli: '--preset', rule: 'preset dynamodb-read needs a parameter' }],
    ),
    policiesCase(
      'bucket name with uppercase',
      ['s3-read:MyBucket'],
      [{ field: 'policies[0]', cli: '--preset', rule: BUCKET_RULE }],
    ),
    policiesCase(
      'bucket name with ..',
      ['s3-read:my..bucket'],
      [{ field: 'policies[0]', cli: '--preset', rule: BUCKET_RULE }],
    ),
    policiesCase(
      'bucket name in IP address form',
      ['s3-read:192.168.10.5'],
      [{ field: 'policies[0]', cli: '--preset', rule: BUCKET_RULE }],
    ),
    policiesCase(
      'bucket name of 2 characters',
      ['s3-read-write:ab/logs'],
      [{ field: 'policies[0]', cli: '--preset', rule: BUCKET_RULE }],
    ),
    policiesCase(
      'bucket name of 64 characters',
      [`s3-read:${'b'.repeat(64)}`],
      [{ field: 'policies[0]', cli: '--preset', rule: BUCKET_RULE }],
    ),
    policiesCase(
      'bucket name with the xn-- prefix',
      ['s3-read:xn--bucket'],
      [{ field: 'policies[0]', cli: '--preset', rule: BUCKET_RULE }],
    ),
    policiesCase(
      'bucket name with the -s3alias suffix',
      ['s3-read:logs-s3alias'],
      [{ field: 'policies[0]', cli: '--preset', rule: BUCKET_RULE }],
    ),
    policiesCase(
      'the same preset twice',
      ['s3-read-only', 's3-read-only'],
      [{ field: 'policies[1]', cli: '--preset', rule: 'duplicate managed policy' }],
    ),
    policiesCase(
      'a preset and its own managed policy ARN',
      ['iam-read-only', 'arn:aws:iam::aws:policy/IAMReadOnlyAccess'],
      [{ field: 'policies[1]', cli: '--policy-arn', rule: 'duplicate managed policy' }],
    ),
    policiesCase(
      'scoped presets whose inline policy exceeds 10,240 characters',
      Array.from({ length: 10 }, (_, i) => `s3-read-write:bucket-${i}/${LONG_PREFIX}`),
      [{ field: 'inlinePolicies', cli: 'inlinePolicies', rule: 'at most 10240 characters' }],
    ),
    {
      title: 'an inline policy document over 10,240 characters (library; the CLI sets it through presets)',
      lib: (c) =>
        ensureInstanceRole(
          {
            name: fresh(),
            inlinePolicies: {
              big: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: 's3:GetObject',
                    Resource: MANAGED.map(() => `arn:aws:s3:::b/${'k'.repeat(1000)}`),
                  },
                ],
              },
            },
          },
          c,
        ),
      cli: () => [
        'ensure',
        '--name',
        fresh(),
        ...Array.from({ length: 10 }, (_, i) => ['--preset', `s3-read:bucket-${i}/${LONG_PREFIX}`]).flat(),
      ],
      expect: [{ field: 'inlinePolicies', cli: 'inlinePolicies', rule: 'at most 10240 characters' }],
    },
    policiesCase('11 managed policies', MANAGED, [
      { field: 'policies', cli: '--preset/--policy-arn', rule: 'at most 10 managed policies per role' },
    ]),
    policiesCase(
      'AdministratorAccess without allowAdmin',
      ['arn:aws:iam::aws:policy/AdministratorAccess'],
      [{ field: 'policies[0]', cli: '--policy-arn', rule: 'admin access is refused unless allowAdmin' }],
    ),
    ensureCase(
      'maxSessionDuration 3599',
      { maxSessionDuration: 3599 },
      ['--max-session-duration', '3599'],
      [
        {
          field: 'maxSessionDuration',
          cli: '--max-session-duration',
          rule: 'an integer from 3600 to 43200 seconds',
        },
      ],
    ),
    ensureCase(
      'maxSessionDuration 43201',
      { maxSessionDuration: 43201 },
      ['--max-session-duration', '43201'],
      [
        {
          field: 'maxSessionDuration',
          cli: '--max-session-duration',
          rule: 'an integer from 3600 to 43200 seconds',
        },
      ],
    ),
    ensureCase(
      'maxSessionDuration not an integer',
      { maxSessionDuration: 3600.5 },
      ['--max-session-duration', '1h'],
      [
        {
          field: 'maxSessionDuration',
          cli: '--max-session-duration',
          rule: 'an integer from 3600 to 43200 seconds',
        },
      ],
    ),
    ensureCase(
      'tag key with the aws: prefix',
      { tags: { 'aws:team': 'web' } },
      ['--tag', 'aws:team=web'],
      [{ field: 'tags.aws:team', cli: '--tag aws:team', rule: 'the aws: prefix is reserved for AWS' }],
    ),
    ensureCase(
      'tag key of 129 characters',
      { tags: { ['k'.repeat(129)]: 'v' } },
      ['--tag', `${'k'.repeat(129)}=v`],
      [
        {
          field: `tags.${'k'.repeat(129)}`,
          cli: `--tag ${'k'.repeat(129)}`,
          rule: 'tag key: 1-128 characters',
        },
      ],
    ),
    ensureCase(
      'tag key with # and !',
      { tags: { 'team#1!': 'web' } },
      ['--tag', 'team#1!=web'],
      [{ field: 'tags.team#1!', cli: '--tag team#1!', rule: 'tag key: 1-128 characters' }],
    ),
    ensureCase(
      'the ownership tag with another value',
      { tags: { 'managed-by': 'me' } },
      ['--tag', 'managed-by=me'],
      [
        {
          field: 'tags.managed-by',
          cli: '--tag managed-by',
          rule: 'reserved: instance-role sets managed-by=instance-role',
        },
      ],
    ),
    {
      title: 'instance ID i-123 (attach)',
      lib: (c) => attachRole({ instanceId: 'i-123', instanceProfile: f.profile }, c),
      cli: () => ['attach', '--instance', 'i-123', '--profile', f.profile],
      expect: [
        { field: 'instanceId', cli: '--instance', rule: '"i-" followed by 8 or 17 hexadecimal digits' },
      ],
    },
    {
      title: 'instance ID with 10 hex digits (attach)',
      lib: (c) => attachRole({ instanceId: 'i-0123456789', instanceProfile: f.profile }, c),
      cli: () => ['attach', '--instance', 'i-0123456789', '--profile', f.profile],
      expect: [
        { field: 'instanceId', cli: '--instance', rule: '"i-" followed by 8 or 17 hexadecimal digits' },
      ],
    },
    {
      title: 'instance ID with a non-hex digit (requireImdsV2 / attach)',
      lib: (c) => requireImdsV2('i-0123456g', { ec2: c.ec2 }),
      cli: () => ['attach', '--instance', 'i-0123456g', '--profile', f.profile],
      expect: [
        { field: 'instanceId', cli: '--instance', rule: '"i-" followed by 8 or 17 hexadecimal digits' },
      ],
    },
    {
      title: 'instance ID that is a name (ensure --instance)',
      lib: (c) => ensureAndAttach({ name: fresh() }, { instances: ['web-1'] }, c),
      cli: () => ['ensure', '--name', fresh(), '--instance', 'web-1'],
      expect: [
        { field: 'instances[0]', cli: '--instance[0]', rule: '"i-" followed by 8 or 17 hexadecimal digits' },
      ],
    },
    {
      title: 'hop limit 0 on a real instance and profile (requireImdsV2 / attach)',
      lib: (c) => requireImdsV2(f.instanceId, { hopLimit: 0, ec2: c.ec2 }),
      cli: () => ['attach', '--instance', f.instanceId, '--profile', f.profile, '--hop-limit', '0'],
      expect: [{ field: 'hopLimit', cli: '--hop-limit', rule: 'an integer from 1 to 64' }],
    },
    {
      title: 'hop limit 65 (launchWithRole / launch)',
      lib: (c) => launchWithRole(RUN, { instanceProfile: f.profile, hopLimit: 65 }, c),
      cli: () => ['launch', '--name', fresh(), ...AMI, '--hop-limit', '65'],
      expect: [{ field: 'hopLimit', cli: '--hop-limit', rule: 'an integer from 1 to 64' }],
    },
    {
      title: 'hop limit 0 with a real instance (ensureAndAttach / ensure --instance)',
      lib: (c) =>
        ensureAndAttach({ name: fresh() }, { instances: [f.instanceId], metadata: { hopLimit: 0 } }, c),
      cli: () => ['ensure', '--name', fresh(), '--instance', f.instanceId, '--hop-limit', '0'],
      expect: [{ field: 'metadata.hopLimit', cli: '--hop-limit', rule: 'an integer from 1 to 64' }],
    },
    {
      title: 'hop limit that is not an integer (attachRole / attach)',
      lib: (c) =>
        attachRole({ instanceId: f.instanceId, instanceProfile: f.profile, metadata: { hopLimit: 1.5 } }, c),
      cli: () => ['attach', '--instance', f.instanceId, '--profile', f.profile, '--hop-limit', 'two'],
      expect: [{ field: 'metadata.hopLimit', cli: '--hop-limit', rule: 'an integer from 1 to 64' }],
    },
    {
      title: 'several problems at once (ensureAndAttach / ensure --instance): all listed',
      lib: (c) =>
        ensureAndAttach(
          {
            name: 'web role!',
            path: 'team',
            maxSessionDuration: 60,
            tags: { 'aws:team': 'web' },
            policies: ['s3-raed-only', 's3-read:MyBucket'],
          },
          { instances: ['i-zz'], metadata: { hopLimit: 65 } },
          c,
        ),
      cli: () => [
        'ensure',
        '--name',
        'web role!',
        '--path',
        'team',
        '--max-session-duration',
        '60',
        '--tag',
        'aws:team=web',
        '--preset',
        's3-raed-only',
        '--preset',
        's3-read:MyBucket',
        '--instance',
        'i-zz',
        '--hop-limit',
        '65',
      ],
      expect: [
        { field: 'name', cli: '--name', rule: 'role name: 1-64 characters' },
        { field: 'path', cli: '--path', rule: 'starts and ends with /' },
        { field: 'maxSessionDuration', cli: '--max-session-duration', rule: 'an integer from 3600 to 43200' },
        { field: 'tags.aws:team', cli: '--tag aws:team', rule: 'the aws: prefix is reserved' },
        {
          field: 'policies[0]',
          cli: '--preset',
          rule: 'unknown preset',
          hint: 'did you mean "s3-read-only"?',
        },
        { field: 'policies[1]', cli: '--preset', rule: BUCKET_RULE },
        { field: 'instances[0]', cli: '--instance[0]', rule: '"i-" followed by 8 or 17 hexadecimal digits' },
        { field: 'metadata.hopLimit', cli: '--hop-limit', rule: 'an integer from 1 to 64' },
      ],
    },
    {
      title: 'several problems at once (attachRole / attach): all listed',
      lib: (c) => attachRole({ instanceId: 'i-1', instanceProfile: 'a b', metadata: { hopLimit: 0 } }, c),
      cli: () => ['attach', '--instance', 'i-1', '--profile', 'a b', '--hop-limit', '0'],
      expect: [
        { field: 'instanceId', cli: '--instance', rule: '"i-" followed by 8 or 17 hexadecimal digits' },
        { field: 'instanceProfile', cli: '--profile', rule: 'an instance profile name (1-128' },
        { field: 'metadata.hopLimit', cli: '--hop-limit', rule: 'an integer from 1 to 64' },
      ],
    },
    {
      title: 'several problems at once (launchWithRole / launch): all listed',
      lib: (c) => launchWithRole(RUN, { instanceProfile: 'web role!', hopLimit: 65 }, c),
      cli: () => [
        'launch',
        '--name',
        'web role!',
        ...AMI,
        '--preset',
        's3-raed-only',
        '--hop-limit',
        '65',
        '--count',
        '0',
      ],
      expect: [
        { field: 'instanceProfile', rule: 'an instance profile name (1-128' },
        { cli: '--name', rule: 'role name: 1-64 characters' },
        { cli: '--preset', rule: 'unknown preset', hint: 'did you mean "s3-read-only"?' },
        { cli: '--count', rule: 'an integer from 1 to 100' },
        { field: 'hopLimit', cli: '--hop-limit', rule: 'an integer from 1 to 64' },
      ],
    },
  ];
}

function spawnCli(cli: string, args: readonly string[], endpoint: string) {
  const child = spawn(process.execPath, [cli, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/nonexistent',
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return outputOf(child);
}

/** The problem lines of a CLI's ValidationError output (`  - FIELD: RULE ...`). */
function problemLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('  - '));
}

function matchesLine(line: string, e: Expected): boolean {
  // long fields are shortened to 80 characters, like values
  const shown = (e.cli ?? '').length > 80 ? `${e.cli?.slice(0, 79)}…` : e.cli;
  return line.startsWith(`  - ${shown}: `) && line.includes(e.rule) && (!e.hint || line.includes(e.hint));
}

let moto: MotoServer;
let proxy: AwsProxy;
let clients: Clients;
let cli: string;
const table = cases();
const figures = { cases: 0, libraryRuns: 0, cliRuns: 0, problemsAsserted: 0, reads: 0, writes: 0 };

beforeAll(async () => {
  cli = ensureCli();
  // A private moto: the before/after snapshots must not see other test files' resources.
  moto = await startMoto();
  proxy = await startAwsProxy({ target: moto.endpoint });
  const config = {
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  };
  clients = { iam: new IAMClient(config), ec2: new EC2Client(config), sts: new STSClient(config) };
  const setup = { ...config, endpoint: moto.endpoint };
  await createProfile(new IAMClient(setup), f.profile);
  const out = await new EC2Client(setup).send(new RunInstancesCommand(RUN));
  f.instanceId = out.Instances?.[0]?.InstanceId as string;
}, 120_000);

afterAll(async () => {
  console.log(
    `bad input: ${figures.cases} cases, ${figures.libraryRuns} library calls + ${figures.cliRuns} CLI runs, ` +
      `${figures.problemsAsserted} problems asserted by field and rule, AWS calls during them: ${figures.reads} reads, ${figures.writes} writes; moto unchanged after each`,
  );
  await proxy?.close();
  await moto?.stop();
});

describe('Function: bad input through the library and the built CLI', () => {
  it('has at least 30 cases', () => {
    expect(table.length).toBeGreaterThanOrEqual(30);
  });

  it('counts the calls that do reach AWS (control: a dry run reads and writes nothing)', async () => {
    // Prepare
    const before = await motoState(moto.endpoint);
    proxy.resetCounts();

    // Act
    await ensureInstanceRole({ name: fresh(), policies: ['s3-read-only'] }, { ...clients, dryRun: true });

    // Assess
    expect(Object.keys(proxy.counts())).toContain('iam:GetRole');
    expect(await motoState(moto.endpoint)).toEqual(before);
  });

  it.each(table)(
    'rejects $title: ValidationError + exit 2, every problem listed, moto unchanged',
    async (c) => {
      // Prepare
      const before = await motoState(moto.endpoint);
      proxy.resetCounts();
      figures.cases++;

      // Act
      const thrown = await c.lib(clients).then(
        () => undefined,
        (err: unknown) => err,
      );
      const run = await spawnCli(cli, c.cli(), proxy.endpoint);
      figures.libraryRuns++;
      figures.cliRuns++;

      // Assess
      const calls = Object.entries(proxy.counts());
      const writes = calls.filter(([key]) => !isRead(key.split(':')[1] ?? ''));
      figures.reads += calls
        .filter(([key]) => isRead(key.split(':')[1] ?? ''))
        .reduce((s, [, n]) => s + n, 0);
      figures.writes += writes.reduce((s, [, n]) => s + n, 0);
      const libExpected = c.expect.filter((e) => e.field !== undefined);
      const cliExpected = c.expect.filter((e) => e.cli !== undefined);
      expect(thrown, c.title).toBeInstanceOf(ValidationError);
      const problems = (thrown as ValidationError).problems;
      for (const e of libExpected) {
        expect(
          problems.some(
            (p) => p.field === e.field && p.rule.includes(e.rule) && (!e.hint || p.hint?.includes(e.hint)),
          ),
          `${c.title}: library lists ${e.field}: ${e.rule}\n${(thrown as Error).message}`,
        ).toBe(true);
      }
      expect(problems, c.title).toHaveLength(libExpected.length);
      expect(run.code, `${c.title}\n${run.stderr}`).toBe(2);
      expect(run.stderr).toContain('Nothing was written.');
      expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      const lines = problemLines(run.stderr);
      for (const e of cliExpected) {
        expect(
          lines.some((l) => matchesLine(l, e)),
          `${c.title}: CLI lists ${e.cli}: ${e.rule}\n${run.stderr}`,
        ).toBe(true);
      }
      expect(lines, `${c.title}\n${run.stderr}`).toHaveLength(cliExpected.length);
      figures.problemsAsserted += libExpected.length + cliExpected.length;
      expect(writes, c.title).toEqual([]);
      expect(await motoState(moto.endpoint), c.title).toEqual(before);
    },
  );
});
