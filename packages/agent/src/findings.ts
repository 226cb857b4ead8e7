import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ImdsDiagnosis } from './imds.js';
import type { Finding, FindingCode, Severity } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
const SECRET_KEY = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/;
const IMDS_HOST = '169.254.169.254';
/** SigV4 rejects requests more than 5 minutes off. */
const MAX_SKEW_MS = 5 * 60_000;

function finding(code: FindingCode, severity: Severity, message: string): Finding {
  return { code, severity, message };
}

/** The last 4 characters of an access key ID: all the agent ever shows of one. */
export function keyHint(accessKeyId: string): string {
  return `…${accessKeyId.slice(-4)}`;
}

/**
 * Findings from the process environment: static keys, keys that override the role, a proxy in the
 * way of IMDS, IMDS switched off.
 *
 * @example
 * envFindings({ AWS_ACCESS_KEY_ID: 'AKIA…', AWS_SECRET_ACCESS_KEY: '…' }).map((f) => f.code);
 * // ['STATIC_KEYS_ENV', 'ENV_KEYS_OVERRIDE_ROLE']
 */
export function envFindings(env: Env): Finding[] {
  const out: Finding[] = [];
  const id = env.AWS_ACCESS_KEY_ID;
  if (id || env.AWS_SECRET_ACCESS_KEY) {
    const hint = id ? ` (key ${keyHint(id)})` : '';
    out.push(
      finding(
        'STATIC_KEYS_ENV',
        'warn',
        `AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set in the environment${hint}: remove them and rotate the key.`,
      ),
    );
  }
  if (id && env.AWS_SECRET_ACCESS_KEY) {
    out.push(
      finding(
        'ENV_KEYS_OVERRIDE_ROLE',
        'fail',
        'Environment keys win over the instance role in the SDK default chain, so applications here do not use the role: unset them.',
      ),
    );
  }
  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true') {
    out.push(
      finding(
        'IMDS_DISABLED',
        'fail',
        'AWS_EC2_METADATA_DISABLED=true stops the SDK from reading role credentials from IMDS: unset it.',
      ),
    );
  }
  const proxy = env.HTTP_PROXY ?? env.http_proxy ?? env.HTTPS_PROXY ?? env.https_proxy;
  const noProxy = `${env.NO_PROXY ?? ''},${env.no_proxy ?? ''}`;
  if (proxy && !noProxy.split(',').some((h) => h.trim() === IMDS_HOST || h.trim() === '*')) {
    out.push(
      finding(
        'PROXY_INTERCEPTS_IMDS',
        'warn',
        `HTTP(S)_PROXY is set and NO_PROXY lacks ${IMDS_HOST}: add ${IMDS_HOST} to NO_PROXY so IMDS requests bypass the proxy.`,
      ),
    );
  }
  return out;
}

/** The shared credentials files to inspect by default: root's, every `/home/*` user's, and AWS_SHARED_CREDENTIALS_FILE. */
export function defaultCredentialsFiles(env: Env, homeRoot = '/home'): string[] {
  let homes: string[] = [];
  try {
    homes = readdirSync(homeRoot).map((user) => join(homeRoot, user, '.aws', 'credentials'));
  } catch {
    // no /home
  }
  const extra = env.AWS_SHARED_CREDENTIALS_FILE ? [env.AWS_SHARED_CREDENTIALS_FILE] : [];
  return [...new Set(['/root/.aws/credentials', ...homes, ...extra])];
}

/**
 * `STATIC_KEYS_FILE` for each readable credentials file that holds an access key.
 *
 * @example
 * credentialsFileFindings(['/root/.aws/credentials']);
 */
export function credentialsFileFindings(paths: readonly string[]): Finding[] {
  const out: Finding[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    const ids = [...text.matchAll(/^\s*aws_access_key_id\s*=\s*(\S+)/gim)].map((m) => keyHint(m[1]!));
    if (ids.length > 0) {
      out.push(
        finding(
          'STATIC_KEYS_FILE',
          'warn',
          `${path} holds static access keys (${ids.join(', ')}): delete them, rotate the keys, and rely on the instance role.`,
        ),
      );
    }
  }
  return out;
}

/** Gzipped user-data inflating past this is not scanned (a gzip bomb must not exhaust memory). */
const MAX_USER_DATA_TEXT = 1024 * 1024;

/**
 * `STATIC_KEYS_USER_DATA` when the instance's user-data (gzip handled) holds an access key ID and a
 * 40-character secret.
 *
 * @example
 * userDataFindings(Buffer.from('export AWS_ACCESS_KEY_ID=AKIA...')); // []
 */
export function userDataFindings(userData: Buffer | null): Finding[] {
  if (!userData || userData.length === 0) return [];
  let text: string;
  try {
    text = (
      userData[0] === 0x1f && userData[1] === 0x8b
        ? gunzipSync(userData, { maxOutputLength: MAX_USER_DATA_TEXT })
        : userData
    ).toString('utf8');
  } catch {
    return [];
  }
  const ids = [...new Set(text.match(ACCESS_KEY_ID) ?? [])];
  if (ids.length === 0 || !SECRET_KEY.test(text)) return [];
  return [
    finding(
      'STATIC_KEYS_USER_DATA',
      'fail',
      `The instance user-data holds an access key (${ids.map(keyHint).join(', ')}) and secret readable by anything on the instance: remove it from user-data and rotate the key.`,
    ),
  ];
}

/**
 * Findings from the raw IMDS diagnostics.
 *
 * @example
 * imdsFindings(await diagnoseImds({ endpoint })).map((f) => f.code); // e.g. ['IMDSV1_ENABLED']
 */
export function imdsFindings(d: ImdsDiagnosis): Finding[] {
  const out: Finding[] = [];
  if (d.disabled) return out;
  if (!d.reachable) {
    out.push(
      finding(
        'IMDS_UNREACHABLE',
        'fail',
        `IMDS at ${d.endpoint} did not answer: check that this runs on EC2 and that metadata access (HttpEndpoint) is enabled.`,
      ),
    );
    return out;
  }
  if (d.hopLimitSuspected) {
    out.push(
      finding(
        'HOP_LIMIT_SUSPECTED',
        'warn',
        'The IMDSv2 token request got no answer while plain GETs did (typical inside containers): set HttpPutResponseHopLimit to 2 with aws ec2 modify-instance-metadata-options.',
      ),
    );
  }
  if (d.v1Open) {
    out.push(
      finding(
        'IMDSV1_ENABLED',
        'warn',
        'IMDSv1 answers without a token: require IMDSv2 with aws ec2 modify-instance-metadata-options --http-tokens required.',
      ),
    );
  }
  if (d.roleAttached === false) {
    out.push(
      finding(
        'NO_ROLE_ATTACHED',
        'fail',
        'No IAM role is attached to this instance: attach an instance profile (instance-role attach, or aws ec2 associate-iam-instance-profile).',
      ),
    );
  }
  return out;
}

/** `CLOCK_SKEW` when the local clock is more than 5 minutes off an AWS `Date` header. */
export function clockSkewFindings(serverDate: string | null, now = Date.now()): Finding[] {
  const server = serverDate ? Date.parse(serverDate) : Number.NaN;
  if (Number.isNaN(server) || Math.abs(now - server) <= MAX_SKEW_MS) return [];
  const minutes = Math.round((now - server) / 60_000);
  return [
    finding(
      'CLOCK_SKEW',
      'fail',
      `The local clock is ${Math.abs(minutes)} minutes ${minutes > 0 ? 'ahead of' : 'behind'} AWS, which breaks SigV4 signing: enable time sync (chrony with the Amazon Time Sync Service).`,
    ),
  ];
}
