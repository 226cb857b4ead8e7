import type { AwsClients } from './aws-clients.js';
import { type Classification, classifyError, classifySuccess } from './classify.js';
import type { Check, Expected, ProbeSpec } from './types.js';

/** A probe to run, with what is expected of it. */
export interface PlannedProbe {
  readonly spec: ProbeSpec;
  readonly expected: Expected;
}

interface Sent {
  readonly $metadata?: { readonly httpStatusCode?: number };
}
type Runner = (aws: AwsClients, resource: string | undefined) => Promise<Sent>;

/** Every action the agent knows how to try. Writes clean up after themselves. */
const RUNNERS: Readonly<Record<string, Runner>> = {
  'sts:GetCallerIdentity': async (aws) => {
    const { m, client } = await aws.sts();
    return client.send(new m.GetCallerIdentityCommand({}), { abortSignal: aws.signal });
  },
  's3:ListAllMyBuckets': async (aws) => {
    const { m, client } = await aws.s3();
    return client.send(new m.ListBucketsCommand({}), { abortSignal: aws.signal });
  },
  's3:ListBucket': async (aws, resource) => {
    const { bucket, key } = splitS3(resource);
    const { m, client } = await aws.s3();
    const Prefix = key ? key.replace(/\*$/, '') : undefined;
    return client.send(new m.ListObjectsV2Command({ Bucket: bucket, Prefix, MaxKeys: 1 }), {
      abortSignal: aws.signal,
    });
  },
  's3:GetObject': async (aws, resource) => {
    const { bucket, key } = splitS3(resource);
    const { m, client } = await aws.s3();
    const Key = !key || /[/*]$/.test(key) ? probeKey(key) : key;
    return client.send(new m.HeadObjectCommand({ Bucket: bucket, Key }), { abortSignal: aws.signal });
  },
  's3:PutObject': async (aws, resource) => {
    const { bucket, key } = splitS3(resource);
    const { m, client } = await aws.s3();
    const Key = probeKey(key);
    const put = await client.send(
      new m.PutObjectCommand({ Bucket: bucket, Key, Body: 'instance-role-agent write probe' }),
      {
        abortSignal: aws.signal,
      },
    );
    await client
      .send(new m.DeleteObjectCommand({ Bucket: bucket, Key }), { abortSignal: aws.signal })
      .catch(() => {});
    return put;
  },
  's3:DeleteObject': async (aws, resource) => {
    const { bucket, key } = splitS3(resource);
    const { m, client } = await aws.s3();
    return client.send(new m.DeleteObjectCommand({ Bucket: bucket, Key: probeKey(key) }), {
      abortSignal: aws.signal,
    });
  },
  'dynamodb:ListTables': async (aws) => {
    const { m, client } = await aws.dynamodb();
    return client.send(new m.ListTablesCommand({ Limit: 1 }), { abortSignal: aws.signal });
  },
  'dynamodb:DescribeTable': async (aws, resource) => {
    const { m, client } = await aws.dynamodb();
    return client.send(new m.DescribeTableCommand({ TableName: required(resource, 'table') }), {
      abortSignal: aws.signal,
    });
  },
  'dynamodb:Scan': async (aws, resource) => {
    const { m, client } = await aws.dynamodb();
    return client.send(new m.ScanCommand({ TableName: required(resource, 'table'), Limit: 1 }), {
      abortSignal: aws.signal,
    });
  },
  'dynamodb:PutItem': async (aws, resource) => {
    const { m, client } = await aws.dynamodb();
    const TableName = required(resource, 'table');
    const Key = await probeItemKey(aws, TableName);
    const put = await client.send(new m.PutItemCommand({ TableName, Item: Key }), {
      abortSignal: aws.signal,
    });
    await client
      .send(new m.DeleteItemCommand({ TableName, Key }), { abortSignal: aws.signal })
      .catch(() => {});
    return put;
  },
  'dynamodb:DeleteItem': async (aws, resource) => {
    const { m, client } = await aws.dynamodb();
    const TableName = required(resource, 'table');
    const Key = await probeItemKey(aws, TableName);
    return client.send(new m.DeleteItemCommand({ TableName, Key }), { abortSignal: aws.signal });
  },
  'iam:ListRoles': async (aws) => {
    const { m, client } = await aws.iam();
    return client.send(new m.ListRolesCommand({ MaxItems: 1 }), { abortSignal: aws.signal });
  },
  'iam:GetRole': async (aws, resource) => {
    const { m, client } = await aws.iam();
    return client.send(new m.GetRoleCommand({ RoleName: required(resource, 'role name') }), {
      abortSignal: aws.signal,
    });
  },
};

/** Whether the agent has a probe for this action. */
export function canProbe(action: string): boolean {
  return action in RUNNERS;
}

/**
 * Run one probe and classify what happened. Never throws.
 *
 * @example
 * const { check } = await runProbe({ spec: { service: 's3', action: 's3:ListAllMyBuckets' }, expected: 'allow' }, clients);
 */
export async function runProbe(
  probe: PlannedProbe,
  aws: AwsClients,
): Promise<{ check: Check; output?: unknown }> {
  const started = performance.now();
  const runner = RUNNERS[probe.spec.action];
  let result: Classification;
  let output: unknown;
  if (!runner) {
    result = {
      outcome: 'skipped',
      errorCode: null,
      httpStatus: null,
      note: 'the agent has no probe for this action',
    };
  } else {
    try {
      output = await runner(aws, probe.spec.resource);
      result = classifySuccess((output as Sent | undefined)?.$metadata?.httpStatusCode ?? 200);
    } catch (error) {
      result = error instanceof MissingResourceError ? skipped(error.message) : classifyError(error);
    }
  }
  const check: Check = {
    service: probe.spec.service,
    action: probe.spec.action,
    resource: probe.spec.resource ?? null,
    expected: probe.expected,
    outcome: result.outcome,
    ok: meets(probe.expected, result.outcome),
    errorCode: result.errorCode,
    httpStatus: result.httpStatus,
    durationMs: Math.round(performance.now() - started),
    ...(result.note ? { note: result.note } : {}),
  };
  return { check, output };
}

/** Does an outcome meet an expectation? Skipped probes never fail a run. */
export function meets(expected: Expected, outcome: Check['outcome']): boolean {
  if (expected === 'any' || outcome === 'skipped') return true;
  return expected === 'allow' ? outcome === 'allowed' : outcome === 'denied';
}

class MissingResourceError extends Error {}

function skipped(note: string): Classification {
  return { outcome: 'skipped', errorCode: null, httpStatus: null, note };
}

function required(resource: string | undefined, what: string): string {
  if (!resource) throw new MissingResourceError(`no ${what} given`);
  return resource;
}

function splitS3(resource: string | undefined): { bucket: string; key: string } {
  const value = required(resource, 'bucket').replace(/^arn:[^:]+:s3:::/, '');
  const slash = value.indexOf('/');
  return slash < 0
    ? { bucket: value, key: '' }
    : { bucket: value.slice(0, slash), key: value.slice(slash + 1) };
}

function probeKey(prefix: string): string {
  const base = prefix.replace(/\*$/, '');
  const sep = base === '' || base.endsWith('/') ? '' : '/';
  return `${base}${sep}instance-role-agent-probe-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

async function probeItemKey(aws: AwsClients, TableName: string) {
  const { m, client } = await aws.dynamodb();
  const { Table } = await client.send(new m.DescribeTableCommand({ TableName }), { abortSignal: aws.signal });
  const types = new Map((Table?.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  const value = `instance-role-agent-probe-${Date.now()}`;
  return Object.fromEntries(
    (Table?.KeySchema ?? []).map((k) => {
      const type = types.get(k.AttributeName);
      const attr =
        type === 'N' ? { N: String(Date.now()) } : type === 'B' ? { B: Buffer.from(value) } : { S: value };
      return [k.AttributeName!, attr];
    }),
  ) as Record<string, { S: string }>;
}
