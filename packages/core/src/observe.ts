import {
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import { defaultIam } from './clients/iam.js';
import { AbortedError, AwsOperationError } from './errors.js';

/** A role as IAM reports it. Policy documents are parsed JSON (IAM returns them URL-encoded). */
export interface ObservedRole {
  readonly name: string;
  readonly arn: string;
  readonly path: string;
  readonly description?: string;
  readonly maxSessionDuration?: number;
  readonly trustPolicy: unknown;
  readonly permissionsBoundary?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly managedPolicyArns: readonly string[];
  /** Every inline policy name, when they were listed (see ObserveTarget.listInlinePolicies). */
  readonly inlinePolicyNames?: readonly string[];
  /** Documents of the inline policies that were read; a name that does not exist is absent. */
  readonly inlinePolicies: Readonly<Record<string, unknown>>;
}

/** An instance profile as IAM reports it. */
export interface ObservedInstanceProfile {
  readonly name: string;
  readonly arn: string;
  readonly path: string;
  readonly roles: readonly { readonly name: string; readonly arn: string }[];
  readonly tags: Readonly<Record<string, string>>;
}

/** What exists now. A missing role or profile is `undefined`, not an error. */
export interface ObservedState {
  readonly role?: ObservedRole;
  readonly instanceProfile?: ObservedInstanceProfile;
}

/** What to read. */
export interface ObserveTarget {
  /** Role and instance profile name. */
  readonly name: string;
  /** Inline policies whose documents to read. @default [] */
  readonly inlinePolicyNames?: readonly string[];
  /** Also list every inline policy name (needed to prune). @default false */
  readonly listInlinePolicies?: boolean;
}

export interface ObserveOptions {
  readonly iam?: IAMClient;
  readonly signal?: AbortSignal;
}

/**
 * Read the role (trust policy, boundary, tags, managed and inline policies) and the instance profile
 * with as few calls as possible: GetRole, GetInstanceProfile, ListAttachedRolePolicies, plus
 * ListRolePolicies only to prune and one GetRolePolicy per wanted inline policy.
 *
 * @example
 * const observed = await observeInstanceRole({ name: 'web' });
 * observed.role?.managedPolicyArns; // ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']
 */
export async function observeInstanceRole(
  target: ObserveTarget,
  options: ObserveOptions = {},
): Promise<ObservedState> {
  const iam = defaultIam(options);
  const opts = { abortSignal: options.signal };
  const [roleOut, profileOut] = await Promise.all([
    missingAsUndefined('GetRole', () => iam.send(new GetRoleCommand({ RoleName: target.name }), opts)),
    missingAsUndefined('GetInstanceProfile', () =>
      iam.send(new GetInstanceProfileCommand({ InstanceProfileName: target.name }), opts),
    ),
  ]);
  const role = roleOut?.Role ? await observeRolePolicies(iam, opts, target, roleOut.Role) : undefined;
  const p = profileOut?.InstanceProfile;
  const instanceProfile: ObservedInstanceProfile | undefined = p
    ? {
        name: p.InstanceProfileName!,
        arn: p.Arn!,
        path: p.Path ?? '/',
        roles: (p.Roles ?? []).map((r) => ({ name: r.RoleName!, arn: r.Arn! })),
        tags: tagRecord(p.Tags),
      }
    : undefined;
  return { role, instanceProfile };
}

type SendOptions = { abortSignal: AbortSignal | undefined };
type IamRole = NonNullable<Awaited<ReturnType<typeof fetchRole>>>;
const fetchRole = async (iam: IAMClient, name: string) =>
  (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;

async function observeRolePolicies(
  iam: IAMClient,
  opts: SendOptions,
  target: ObserveTarget,
  role: IamRole,
): Promise<ObservedRole | undefined> {
  const name = role.RoleName!;
  const [managed, names, docs] = await Promise.all([
    listAttached(iam, opts, name),
    target.listInlinePolicies ? listInline(iam, opts, name) : Promise.resolve(undefined),
    Promise.all(
      (target.inlinePolicyNames ?? []).map(async (policy) => {
        const out = await missingAsUndefined('GetRolePolicy', () =>
          iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policy }), opts),
        );
        return [
          policy,
          out?.PolicyDocument === undefined ? undefined : parsePolicyText(out.PolicyDocument),
        ] as const;
      }),
    ),
  ]);
  // The role vanished between reads: report it as missing.
  if (managed === undefined) return undefined;
  return {
    name,
    arn: role.Arn!,
    path: role.Path ?? '/',
    description: role.Description,
    maxSessionDuration: role.MaxSessionDuration,
    trustPolicy:
      role.AssumeRolePolicyDocument === undefined
        ? undefined
        : parsePolicyText(role.AssumeRolePolicyDocument),
    permissionsBoundary: role.PermissionsBoundary?.PermissionsBoundaryArn,
    tags: tagRecord(role.Tags),
    managedPolicyArns: managed,
    inlinePolicyNames: names,
    inlinePolicies: Object.fromEntries(docs.filter(([, doc]) => doc !== undefined)),
  };
}

async function listAttached(iam: IAMClient, opts: SendOptions, name: string): Promise<string[] | undefined> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const out = await missingAsUndefined('ListAttachedRolePolicies', () =>
      iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, Marker: marker }), opts),
    );
    if (!out) return undefined;
    arns.push(...(out.AttachedPolicies ?? []).map((p) => p.PolicyArn!));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return arns;
}

async function listInline(iam: IAMClient, opts: SendOptions, name: string): Promise<string[]> {
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const out = await missingAsUndefined('ListRolePolicies', () =>
      iam.send(new ListRolePoliciesCommand({ RoleName: name, Marker: marker }), opts),
    );
    names.push(...(out?.PolicyNames ?? []));
    marker = out?.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return names;
}

/**
 * Parse a policy document as IAM returns it: URL-encoded JSON (or plain JSON from some endpoints).
 * Returns the text itself when it is not JSON.
 *
 * @example
 * parsePolicyText('%7B%22Version%22%3A%222012-10-17%22%7D'); // { Version: '2012-10-17' }
 */
export function parsePolicyText(text: string): unknown {
  for (const candidate of [text, safeDecode(text)]) {
    try {
      return JSON.parse(candidate);
    } catch {
      // try the next form
    }
  }
  return text;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return text;
  }
}

function tagRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.Key!, t.Value ?? '']));
}

/** Run an IAM read; NoSuchEntity becomes `undefined`, any other failure an AwsOperationError. */
async function missingAsUndefined<T>(operation: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (
      (err as { name?: string }).name === 'NoSuchEntityException' ||
      (err as { name?: string }).name === 'NoSuchEntity'
    ) {
      return undefined;
    }
    if ((err as { name?: string }).name === 'AbortError') throw new AbortedError(`${operation}`, err);
    throw new AwsOperationError(operation, err);
  }
}
