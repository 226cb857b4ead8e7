import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

/** The profile and role currently associated with an instance, as moto says. */
export interface InstanceRole {
  readonly instanceProfileArn: string;
  readonly instanceProfileId: string;
  /** Undefined when the profile holds no role. */
  readonly roleName?: string;
  readonly roleArn?: string;
}

/** Temporary credentials of the instance's role, from a real `sts:AssumeRole`. */
export interface RoleCredentials {
  readonly roleArn: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly lastUpdated: Date;
}

/** Facts about the instance itself, read once. */
export interface InstanceFacts {
  readonly accountId: string;
  readonly availabilityZone: string;
  readonly imageId?: string;
  readonly instanceType?: string;
  readonly privateIp?: string;
}

export interface InstanceRoleSourceOptions {
  readonly instanceId: string;
  readonly awsEndpoint: string;
  readonly region: string;
  /** Keys used to read moto; needed only when moto's enforcement is on. @default env keys, else moto's dummy keys */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** How long a read association is trusted before it is read again. @default 1000 */
  readonly associationTtlMs?: number;
  /** Session length asked of AssumeRole. @default 3600 */
  readonly sessionSeconds?: number;
}

const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Reads which role an instance has from moto (DescribeIamInstanceProfileAssociations, then
 * GetInstanceProfile) and assumes it, caching both. When moto cannot be read (e.g. enforcement on),
 * the last known role and credentials are kept.
 */
export class InstanceRoleSource {
  private readonly ec2: EC2Client;
  private readonly iam: IAMClient;
  private readonly sts: STSClient;
  private role: { value?: InstanceRole; readAt: number } = { readAt: 0 };
  private creds?: RoleCredentials;
  private inflightRole?: Promise<InstanceRole | undefined>;
  private inflightCreds?: Promise<RoleCredentials | undefined>;

  constructor(private readonly options: InstanceRoleSourceOptions) {
    const config = {
      endpoint: options.awsEndpoint,
      region: options.region,
      maxAttempts: 2,
      credentials: options.credentials ?? envOrDummyKeys(),
    };
    this.ec2 = new EC2Client(config);
    this.iam = new IAMClient(config);
    this.sts = new STSClient(config);
  }

  /** The current role, re-read when the cached answer is older than `associationTtlMs`. */
  currentRole(): Promise<InstanceRole | undefined> {
    if (Date.now() - this.role.readAt < (this.options.associationTtlMs ?? 1000))
      return Promise.resolve(this.role.value);
    this.inflightRole ??= this.readRole()
      .then((value) => {
        this.role = { value, readAt: Date.now() };
        return value;
      })
      .catch(() => {
        this.role = { value: this.role.value, readAt: Date.now() };
        return this.role.value;
      })
      .finally(() => {
        this.inflightRole = undefined;
      });
    return this.inflightRole;
  }

  /** Credentials of the current role; reassumed near expiry or when the role changed. */
  async credentials(): Promise<RoleCredentials | undefined> {
    const role = await this.currentRole();
    if (!role?.roleArn) return undefined;
    const cached = this.creds;
    if (
      cached &&
      cached.roleArn === role.roleArn &&
      cached.expiration.getTime() - Date.now() > REFRESH_MARGIN_MS
    ) {
      return cached;
    }
    const roleArn = role.roleArn;
    this.inflightCreds ??= this.assume(roleArn)
      .then((fresh) => {
        this.creds = fresh;
        return fresh;
      })
      .catch(() => (this.creds?.roleArn === roleArn ? this.creds : undefined))
      .finally(() => {
        this.inflightCreds = undefined;
      });
    return this.inflightCreds;
  }

  /** Read the instance's account, zone and type from DescribeInstances. */
  async facts(): Promise<InstanceFacts> {
    const out = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [this.options.instanceId] }));
    const reservation = out.Reservations?.[0];
    const instance = reservation?.Instances?.[0];
    return {
      accountId: reservation?.OwnerId ?? '123456789012',
      availabilityZone: instance?.Placement?.AvailabilityZone ?? `${this.options.region}a`,
      imageId: instance?.ImageId,
      instanceType: instance?.InstanceType,
      privateIp: instance?.PrivateIpAddress,
    };
  }

  /** Forget cached role and credentials. */
  invalidate(): void {
    this.role = { readAt: 0 };
    this.creds = undefined;
  }

  close(): void {
    this.ec2.destroy();
    this.iam.destroy();
    this.sts.destroy();
  }

  private async readRole(): Promise<InstanceRole | undefined> {
    const out = await this.ec2.send(
      new DescribeIamInstanceProfileAssociationsCommand({
        Filters: [
          { Name: 'instance-id', Values: [this.options.instanceId] },
          { Name: 'state', Values: ['associated'] },
        ],
      }),
    );
    const association = out.IamInstanceProfileAssociations?.find(
      (a) => a.InstanceId === this.options.instanceId && a.State === 'associated',
    );
    const arn = association?.IamInstanceProfile?.Arn;
    if (!arn) return undefined;
    const profile = await this.iam.send(
      new GetInstanceProfileCommand({ InstanceProfileName: arn.slice(arn.lastIndexOf('/') + 1) }),
    );
    const role = profile.InstanceProfile?.Roles?.[0];
    return {
      instanceProfileArn: arn,
      instanceProfileId:
        association?.IamInstanceProfile?.Id ?? profile.InstanceProfile?.InstanceProfileId ?? '',
      roleName: role?.RoleName,
      roleArn: role?.Arn,
    };
  }

  private async assume(roleArn: string): Promise<RoleCredentials> {
    const out = await this.sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: this.options.instanceId,
        DurationSeconds: this.options.sessionSeconds ?? 3600,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new Error(`AssumeRole of ${roleArn} returned no credentials`);
    }
    return {
      roleArn,
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
      lastUpdated: new Date(),
    };
  }
}

function envOrDummyKeys() {
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = process.env;
  if (AWS_ACCESS_KEY_ID && AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY };
  }
  return { accessKeyId: 'testing', secretAccessKey: 'testing' };
}
