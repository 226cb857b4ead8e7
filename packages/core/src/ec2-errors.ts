import { DecodeAuthorizationMessageCommand, type STSClient } from '@aws-sdk/client-sts';
import {
  AwsOperationError,
  InstanceRoleError,
  PassRoleDeniedError,
  ResourceNotFoundError,
} from './errors.js';

const PROPAGATION_MESSAGES = [/Invalid IAM Instance Profile (name|ARN)/i, /has no associated IAM Roles/i];
const DENIED_CODES = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']);
const ENCODED = /Encoded authorization failure message:\s*(\S+)/;

const nameOf = (err: unknown) => (err as { name?: string } | undefined)?.name ?? '';
const messageOf = (err: unknown) => (err as { message?: string } | undefined)?.message ?? '';

/**
 * True for the errors EC2 gives while it cannot yet see a freshly created instance profile (or the role
 * just added to it): `InvalidParameterValue` with "Invalid IAM Instance Profile name|ARN" or
 * "has no associated IAM Roles". Nothing else.
 *
 * @example
 * isPropagationError(err); // true for "Value (web) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
 */
export function isPropagationError(err: unknown): boolean {
  return (
    nameOf(err) === 'InvalidParameterValue' && PROPAGATION_MESSAGES.some((re) => re.test(messageOf(err)))
  );
}

/** True when IAM says the entity does not exist (`NoSuchEntity`). */
export function isNoSuchEntity(err: unknown): boolean {
  return nameOf(err) === 'NoSuchEntity' || nameOf(err) === 'NoSuchEntityException';
}

/** What an EC2 call was about, to turn its error into one of ours. */
export interface Ec2ErrorContext {
  readonly operation: string;
  readonly instanceId?: string;
  readonly profile?: string;
  /** The role in the profile, for a PassRole message. */
  readonly roleArn?: string;
  /** Used to decode an encoded authorization failure message, best effort. */
  readonly sts?: STSClient;
}

/**
 * Turn an EC2 error into a typed one: PassRole denials, unknown instance or profile; anything else becomes
 * an AwsOperationError naming the operation. Our own errors pass through unchanged.
 *
 * @example
 * try { await ec2.send(cmd) } catch (err) { throw await explainEc2Error(err, { operation: 'AssociateIamInstanceProfile' }) }
 */
export async function explainEc2Error(err: unknown, ctx: Ec2ErrorContext): Promise<Error> {
  if (err instanceof InstanceRoleError) return err;
  const name = nameOf(err);
  if (name === 'InvalidInstanceID.NotFound' && ctx.instanceId)
    return new ResourceNotFoundError('instance', ctx.instanceId, err);
  if (isNoSuchEntity(err) && ctx.profile)
    return new ResourceNotFoundError('instance-profile', ctx.profile, err);
  if (DENIED_CODES.has(name) && (await mentionsPassRole(messageOf(err), ctx.sts))) {
    return new PassRoleDeniedError(ctx.operation, ctx.roleArn, err);
  }
  return new AwsOperationError(ctx.operation, err);
}

async function mentionsPassRole(message: string, sts: STSClient | undefined): Promise<boolean> {
  if (/iam:PassRole/i.test(message)) return true;
  const encoded = ENCODED.exec(message)?.[1];
  if (!encoded || !sts) return false;
  try {
    const out = await sts.send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded }));
    return /iam:PassRole/i.test(out.DecodedMessage ?? '');
  } catch {
    return false;
  }
}
