import { type CannedResponse, ec2Error } from './fault-responses.js';
import type { AwsRequestInfo } from './identify.js';

const EC2_ACTIONS = new Set([
  'AssociateIamInstanceProfile',
  'ReplaceIamInstanceProfileAssociation',
  'RunInstances',
]);

interface ProfileEvents {
  createdAt?: number;
  roleAddedAt?: number;
}

/**
 * IAM's eventual consistency as EC2 sees it: for `delayMs` after an instance profile is created
 * (or a role added to it), EC2 calls naming that profile fail the way real EC2 fails.
 */
export class PropagationModel {
  private readonly profiles = new Map<string, ProfileEvents>();

  constructor(
    public delayMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /** Learn from a forwarded IAM call that AWS accepted. */
  observe(call: AwsRequestInfo, status: number): void {
    if (call.service !== 'iam' || status < 200 || status >= 300) return;
    const name = call.params.get('InstanceProfileName');
    if (!name) return;
    if (call.action === 'CreateInstanceProfile') this.profiles.set(name, { createdAt: this.now() });
    else if (call.action === 'AddRoleToInstanceProfile') this.entry(name).roleAddedAt = this.now();
    else if (call.action === 'DeleteInstanceProfile') this.profiles.delete(name);
  }

  /** The error real EC2 would give for this call now, or undefined when the profile is visible. */
  check(call: AwsRequestInfo): CannedResponse | undefined {
    if (this.delayMs <= 0 || call.service !== 'ec2' || !EC2_ACTIONS.has(call.action)) return undefined;
    const ref = profileRef(call.params);
    if (!ref) return undefined;
    const events = this.profiles.get(ref.name);
    if (!events) return undefined;
    if (this.within(events.createdAt)) {
      const message = `Value (${ref.given}) for parameter iamInstanceProfile.${ref.field} is invalid. Invalid IAM Instance Profile ${ref.field === 'name' ? 'name' : 'ARN'}`;
      return ec2Error(400, 'InvalidParameterValue', message);
    }
    if (this.within(events.roleAddedAt)) {
      return ec2Error(
        400,
        'InvalidParameterValue',
        `IAM Instance Profile "${ref.given}" has no associated IAM Roles`,
      );
    }
    return undefined;
  }

  private within(at: number | undefined): boolean {
    return at !== undefined && this.now() - at < this.delayMs;
  }

  private entry(name: string): ProfileEvents {
    const existing = this.profiles.get(name);
    if (existing) return existing;
    const created: ProfileEvents = {};
    this.profiles.set(name, created);
    return created;
  }
}

function profileRef(
  params: URLSearchParams,
): { name: string; given: string; field: 'name' | 'arn' } | undefined {
  const name = params.get('IamInstanceProfile.Name');
  if (name) return { name, given: name, field: 'name' };
  const arn = params.get('IamInstanceProfile.Arn');
  if (arn) return { name: arn.slice(arn.lastIndexOf('/') + 1), given: arn, field: 'arn' };
  return undefined;
}
