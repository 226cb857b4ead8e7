import type { Problem } from './errors.js';

const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN =
  /^arn:aws(-cn|-us-gov)?:iam::\d{12}:instance-profile\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]{1,128})$/;

/** An instance profile as the caller named it: by name or by ARN. */
export interface ProfileRef {
  readonly name: string;
  readonly arn?: string;
}

/** Problems with an EC2 instance ID (`i-` and 8 or 17 lowercase hex digits). */
export function instanceIdProblems(id: unknown, field = 'instanceId'): Problem[] {
  if (typeof id === 'string' && INSTANCE_ID.test(id)) return [];
  return [{ field, rule: '"i-" followed by 8 or 17 hexadecimal digits', value: String(id) }];
}

/** Problems with an instance profile given by name or ARN. */
export function profileProblems(profile: unknown, field = 'instanceProfile'): Problem[] {
  if (typeof profile === 'string' && (PROFILE_NAME.test(profile) || PROFILE_ARN.test(profile))) return [];
  return [
    {
      field,
      rule: 'an instance profile name (1-128 characters of [\\w+=,.@-]) or ARN (arn:aws:iam::ACCOUNT:instance-profile/NAME)',
      value: String(profile),
    },
  ];
}

/** Problems with an IMDS PUT response hop limit. */
export function hopLimitProblems(hopLimit: unknown, field = 'hopLimit'): Problem[] {
  if (hopLimit === undefined) return [];
  if (Number.isInteger(hopLimit) && (hopLimit as number) >= 1 && (hopLimit as number) <= 64) return [];
  return [
    {
      field,
      rule: 'an integer from 1 to 64',
      value: String(hopLimit),
      hint: 'use 1, or 2 when containers read IMDS',
    },
  ];
}

/** Split a validated profile name or ARN into its name (and ARN). */
export function parseProfileRef(profile: string): ProfileRef {
  const match = PROFILE_ARN.exec(profile);
  return match ? { name: match[2] as string, arn: profile } : { name: profile };
}

/** The profile name at the end of an instance profile ARN. */
export function profileNameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}
