/** An AWS partition. */
export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

export const PARTITIONS: readonly Partition[] = ['aws', 'aws-cn', 'aws-us-gov'];

/** The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. */
export interface Arn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

/**
 * Split an ARN into its parts, or `undefined` when it does not have the ARN shape.
 *
 * @example
 * parseArn('arn:aws:iam::aws:policy/ReadOnlyAccess')?.service; // 'iam'
 */
export function parseArn(arn: string): Arn | undefined {
  const match = /^arn:([a-z-]+):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|\*|):(.+)$/.exec(arn);
  if (!match) return undefined;
  const [, partition, service, region, account, resource] = match as unknown as [string, ...string[]];
  return {
    partition: partition!,
    service: service!,
    region: region!,
    account: account!,
    resource: resource!,
  };
}

/** True for one of the three partitions this package knows. */
export function isPartition(value: string): value is Partition {
  return (PARTITIONS as readonly string[]).includes(value);
}

/**
 * The partition of a region: `cn-*` is aws-cn, `us-gov-*` is aws-us-gov, anything else aws.
 *
 * @example
 * partitionOfRegion('cn-north-1'); // 'aws-cn'
 */
export function partitionOfRegion(region: string | undefined): Partition {
  if (region?.startsWith('cn-')) return 'aws-cn';
  if (region?.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * The EC2 service principal of a partition (`ec2.amazonaws.com.cn` in China).
 *
 * @example
 * ec2Principal('aws'); // 'ec2.amazonaws.com'
 */
export function ec2Principal(partition: Partition): string {
  return partition === 'aws-cn' ? 'ec2.amazonaws.com.cn' : 'ec2.amazonaws.com';
}

/**
 * The ARN of an AWS managed policy in a partition.
 *
 * @example
 * awsManagedPolicyArn('aws-us-gov', 'ReadOnlyAccess'); // 'arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess'
 */
export function awsManagedPolicyArn(partition: Partition, name: string): string {
  return `arn:${partition}:iam::aws:policy/${name}`;
}

const POLICY_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}|aws):policy\/([\u0021-\u007E]+\/)?[\w+=,.@-]{1,128}$/;

/**
 * What is wrong with a managed policy ARN, or `undefined` when it is well formed.
 *
 * @example
 * policyArnProblem('arn:aws:s3:::bucket'); // 'service must be iam, resource policy/NAME'
 */
export function policyArnProblem(arn: string): string | undefined {
  const parts = parseArn(arn);
  if (!parts) return 'must look like arn:PARTITION:iam::ACCOUNT:policy/NAME';
  if (!isPartition(parts.partition)) return `partition must be one of ${PARTITIONS.join(', ')}`;
  if (parts.service !== 'iam' || !parts.resource.startsWith('policy/')) {
    return 'service must be iam, resource policy/NAME';
  }
  if (parts.region !== '') return 'an IAM ARN has no region';
  if (!POLICY_ARN.test(arn))
    return 'must look like arn:PARTITION:iam::ACCOUNT:policy/[PATH/]NAME (12-digit account or aws)';
  return undefined;
}

/** The last path segment of a policy ARN, e.g. `AdministratorAccess`. */
export function policyNameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}
