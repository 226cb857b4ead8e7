import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { policyArnProblem } from '../src/arn.js';
import { ensureInstanceRole } from '../src/ensure-instance-role.js';
import {
  INLINE_POLICY_LIMIT,
  lintPolicies,
  PRESETS_POLICY_NAME,
  parsePolicyDocument,
  policySize,
} from '../src/policy-lint.js';
import { type Partition, type PolicyDocument, resolvePreset } from '../src/presets.js';
import { type InstanceRoleSpec, resolveSpec, validateSpec } from '../src/spec.js';

const MANAGED: Readonly<Record<string, string>> = {
  's3-read-only': 'AmazonS3ReadOnlyAccess',
  'dynamodb-full-access': 'AmazonDynamoDBFullAccess',
  'iam-read-only': 'IAMReadOnlyAccess',
  'cloudwatch-agent': 'CloudWatchAgentServerPolicy',
  'ssm-managed-instance': 'AmazonSSMManagedInstanceCore',
};

const partition = fc.constantFrom<Partition>('aws', 'aws-cn', 'aws-us-gov');
const account = fc.stringMatching(/^\d{12}$/);
const region = fc.constantFrom('us-east-1', 'eu-west-3', 'cn-north-1', 'us-gov-west-1');

/** S3's own naming rules, written here independently of presets.ts. */
const bucket = fc
  .stringMatching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)
  .filter(
    (b) =>
      !b.includes('..') &&
      !/^\d+\.\d+\.\d+\.\d+$/.test(b) &&
      !/^(xn--|sthree-|amzn-s3-demo-)/.test(b) &&
      !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(b),
  );
/** Object key prefixes: S3's safe characters and a few it allows that need care (space, &, $, @, =, ;). */
const prefix = fc.oneof(
  fc
    .array(fc.stringMatching(/^[A-Za-z0-9!_.'()&$@=;:+, -]{1,24}$/), { minLength: 1, maxLength: 5 })
    .map((p) => p.join('/')),
  fc.string({ unit: fc.constantFrom('a', 'z', '0', '/', '-', '_', '.'), minLength: 1, maxLength: 1024 }),
);
const table = fc.stringMatching(/^[a-zA-Z0-9_.-]{3,255}$/);
const logGroup = fc.stringMatching(/^[.\-_/#A-Za-z0-9]{1,512}$/);

type Ref = {
  ref: string;
  kind: 'managed' | 's3' | 'dynamodb' | 'logs';
  param?: { bucket?: string; prefix?: string; name?: string };
};
const presetRef: fc.Arbitrary<Ref> = fc.oneof(
  fc.constantFrom(...Object.keys(MANAGED)).map((ref): Ref => ({ ref, kind: 'managed' })),
  fc.tuple(fc.constantFrom('s3-read', 's3-read-write'), bucket, fc.option(prefix, { nil: undefined })).map(
    ([p, b, x]): Ref => ({
      ref: `${p}:${b}${x ? `/${x}` : ''}`,
      kind: 's3',
      param: { bucket: b, prefix: x },
    }),
  ),
  fc
    .tuple(fc.constantFrom('dynamodb-read', 'dynamodb-read-write'), table)
    .map(([p, t]): Ref => ({ ref: `${p}:${t}`, kind: 'dynamodb', param: { name: t } })),
  logGroup.map((g): Ref => ({ ref: `cloudwatch-logs:${g}`, kind: 'logs', param: { name: g } })),
);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const list = (v: string | readonly string[] | undefined) =>
  v === undefined ? [] : typeof v === 'string' ? [v] : v;

/** The ARN shapes each scoped preset may use, built from the inputs. */
function resourcePattern(r: Ref, p: Partition, acct: string, reg: string): RegExp {
  if (r.kind === 's3') {
    const b = escapeRegExp(r.param!.bucket!);
    return new RegExp(`^arn:${p}:s3:::${b}(/.*\\*)?$`);
  }
  if (r.kind === 'dynamodb')
    return new RegExp(
      `^arn:${p}:dynamodb:${reg}:${acct}:table/${escapeRegExp(r.param!.name!)}(/index/\\*)?$`,
    );
  return new RegExp(`^arn:${p}:logs:${reg}:${acct}:log-group:${escapeRegExp(r.param!.name!)}(:\\*)?$`);
}

describe('Property: presets', () => {
  it('resolve to valid JSON policies under the size limit, with ARNs of the partition and inputs', () => {
    fc.assert(
      fc.property(presetRef, partition, account, region, (r, p, acct, reg) => {
        const resolved = resolvePreset(r.ref, { partition: p, accountId: acct, region: reg });
        expect(lintPolicies({ policies: [r.ref], partition: p })).toEqual([]);
        if (r.kind === 'managed') {
          expect(resolved.managedPolicyArns).toEqual([`arn:${p}:iam::aws:policy/${MANAGED[r.ref]}`]);
          expect(policyArnProblem(resolved.managedPolicyArns[0]!)).toBeUndefined();
          return;
        }
        const docs = Object.entries(resolved.inlinePolicies);
        expect(docs.length).toBe(1);
        for (const [name, doc] of docs) {
          expect(name).toMatch(/^[\w+=,.@-]{1,128}$/);
          const text = JSON.stringify(doc);
          expect(JSON.parse(text)).toEqual(doc);
          expect(parsePolicyDocument(text)).toBeDefined();
          expect(policySize(doc)).toBeLessThanOrEqual(INLINE_POLICY_LIMIT);
          const pattern = resourcePattern(r, p, acct, reg);
          for (const s of doc.Statement) for (const arn of list(s.Resource)) expect(arn).toMatch(pattern);
        }
        for (const probe of [...resolved.expect.allow, ...resolved.expect.writes]) {
          expect(probe.action.startsWith(`${probe.service}:`)).toBe(true);
          const where = r.param?.bucket ?? r.param?.name;
          if (probe.resource !== undefined && where) expect(probe.resource.startsWith(where)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('combine into one inline policy with unique alphanumeric Sids, or a size problem before any write', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(presetRef, { maxLength: 8, selector: (r) => r.ref }),
        partition,
        (refs, p) => {
          const spec: InstanceRoleSpec = { name: 'web', policies: refs.map((r) => r.ref), partition: p };
          const problems = validateSpec(spec);
          const desired = resolveSpec(spec, { partition: p, accountId: '123456789012' });
          const doc = desired.inlinePolicies[PRESETS_POLICY_NAME];
          if (problems.length > 0) {
            expect(problems.map((x) => x.field)).toEqual(['inlinePolicies']);
            expect(policySize(doc!)).toBeGreaterThan(INLINE_POLICY_LIMIT);
            return;
          }
          if (!doc) return;
          const sids = doc.Statement.map((s) => s.Sid);
          expect(sids.every((s) => /^[A-Za-z0-9]+$/.test(s ?? ''))).toBe(true);
          expect(new Set(sids).size).toBe(sids.length);
          expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** A glob IAM would match against iam:PassRole: pieces of the name replaced by * or ?, any letter case. */
const passRoleGlob = fc
  .tuple(fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), fc.boolean(), fc.constantFrom('*', '?'))
  .map(([mask, upper, wild]) => {
    const chars = [...'iam:PassRole'].map((c, i) => (mask[i] && c !== ':' ? (wild === '?' ? '?' : '*') : c));
    const glob = chars.join('').replace(/\*+/g, '*');
    return upper ? glob.toUpperCase() : glob;
  });
const adminAction = fc.oneof(
  fc.constantFrom('*', '*:*', 'iam:*', 'IAM:*', 'iam:Pass*', '*:PassRole'),
  passRoleGlob,
);
const benignAction = fc.constantFrom('s3:GetObject', 'sqs:SendMessage', 'logs:PutLogEvents', 'ec2:Describe*');
const everyResource = (p: Partition) =>
  fc.constantFrom('*', 'arn:*', `arn:${p}:*`, `arn:${p}:*:*:*:*`, 'arn:*:*:*:*:*');
const benignStatement = fc.record({
  Effect: fc.constantFrom('Allow', 'Deny'),
  Action: fc.array(benignAction, { minLength: 1, maxLength: 3 }),
  Resource: fc.constant('arn:aws:s3:::some-bucket/*'),
});
const adminStatement = (p: Partition) =>
  fc.oneof(
    fc
      .tuple(adminAction, fc.array(benignAction, { maxLength: 2 }), everyResource(p), fc.boolean())
      .map(([a, others, res, asList]) => ({
        Effect: 'Allow',
        Action: asList ? [...others, a] : a,
        Resource: asList ? ['arn:aws:s3:::b', res] : res,
      })),
    adminAction.map((a) => ({ Effect: 'Allow', Action: a, NotResource: 'arn:aws:s3:::one-bucket' })),
    fc
      .array(benignAction, { minLength: 1, maxLength: 2 })
      .map((na) => ({ Effect: 'Allow', NotAction: na, Resource: '*' })),
  );

describe('Property: lintPolicies', () => {
  it('never accepts admin access without allowAdmin, however it is written', () => {
    fc.assert(
      fc.property(
        partition.chain((p) =>
          fc.tuple(
            fc.constant(p),
            adminStatement(p),
            fc.array(benignStatement, { maxLength: 3 }),
            fc.nat(),
            fc.boolean(),
          ),
        ),
        ([p, admin, others, at, asText]) => {
          const statements = [...others];
          statements.splice(at % (others.length + 1), 0, admin as never);
          const doc = { Version: '2012-10-17', Statement: statements } as unknown as PolicyDocument;
          const input = { inlinePolicies: { mine: asText ? JSON.stringify(doc) : doc }, partition: p };
          const refused = lintPolicies(input).filter((x) => x.rule.startsWith('admin access'));
          expect(refused.length).toBeGreaterThan(0);
          expect(
            lintPolicies({ ...input, allowAdmin: true }).filter((x) => x.rule.startsWith('admin')),
          ).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never accepts AdministratorAccess or IAMFullAccess in any partition without allowAdmin', () => {
    fc.assert(
      fc.property(
        partition,
        fc.constantFrom('AdministratorAccess', 'IAMFullAccess'),
        fc.uniqueArray(fc.constantFrom(...Object.keys(MANAGED)), { maxLength: 3 }),
        (p, admin, presets) => {
          const policies = [...presets, `arn:${p}:iam::aws:policy/${admin}`];
          expect(
            lintPolicies({ policies, partition: p }).some((x) => x.rule.startsWith('admin access')),
          ).toBe(true);
          expect(lintPolicies({ policies, partition: p, allowAdmin: true })).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});

/** Specs moto can hold: presets whose managed policies moto loads, tags, description, session length, prune. */
const tagText = fc.stringMatching(/^[A-Za-z0-9 _.:/=+@-]{1,20}$/);
const motoSpec = fc.record({
  policies: fc.uniqueArray(
    fc.constantFrom(
      's3-read-only',
      'iam-read-only',
      's3-read:prop-bucket/logs',
      'dynamodb-read:orders',
      'cloudwatch-logs:app',
    ),
    { maxLength: 3 },
  ),
  tags: fc.dictionary(
    tagText.filter((k) => !k.toLowerCase().startsWith('aws:') && k !== 'managed-by'),
    tagText,
    { maxKeys: 3 },
  ),
  description: fc.option(fc.stringMatching(/^[A-Za-z0-9 .,éü-]{0,40}$/), { nil: undefined }),
  maxSessionDuration: fc.option(fc.integer({ min: 3600, max: 43200 }), { nil: undefined }),
  prune: fc.boolean(),
});

describe('Property: ensureInstanceRole is idempotent (against moto)', () => {
  it('plans nothing after converging from another spec of the same role', async () => {
    const iam = new IAMClient({ endpoint: inject('motoEndpoint') });
    const sts = new STSClient({ endpoint: inject('motoEndpoint') });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(motoSpec, motoSpec, async (before, after) => {
        const name = `prop-${process.pid}-${run++}-${Math.random().toString(36).slice(2, 6)}`;
        const lower = (tags: Record<string, string>) =>
          new Set(Object.keys(tags).map((k) => k.toLowerCase()));
        fc.pre(lower(before.tags).size === Object.keys(before.tags).length);
        fc.pre(lower(after.tags).size === Object.keys(after.tags).length);
        await ensureInstanceRole({ name, ...before }, { iam, sts });
        await ensureInstanceRole({ name, ...after }, { iam, sts });
        const again = await ensureInstanceRole({ name, ...after }, { iam, sts });
        expect(again.plan.changes).toEqual([]);
        expect(again.applied).toEqual([]);
      }),
      { numRuns: 15 },
    );
  }, 60_000);
});
