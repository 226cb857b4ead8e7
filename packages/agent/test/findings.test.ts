import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  clockSkewFindings,
  credentialsFileFindings,
  defaultCredentialsFiles,
  envFindings,
  userDataFindings,
} from '../src/findings.js';

const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('Function: envFindings', () => {
  it('reports static keys and that they override the role when both are set', () => {
    // Act
    const findings = envFindings({ AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET });
    // Assess
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ['STATIC_KEYS_ENV', 'warn'],
      ['ENV_KEYS_OVERRIDE_ROLE', 'fail'],
    ]);
    const text = JSON.stringify(findings);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(KEY_ID);
    expect(text).toContain('…MPLE');
  });

  it('reports a proxy that intercepts IMDS unless NO_PROXY lists it', () => {
    expect(envFindings({ HTTPS_PROXY: 'http://proxy:3128' }).map((f) => f.code)).toEqual([
      'PROXY_INTERCEPTS_IMDS',
    ]);
    expect(envFindings({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost,169.254.169.254' })).toEqual(
      [],
    );
  });

  it('reports AWS_EC2_METADATA_DISABLED=true', () => {
    expect(envFindings({ AWS_EC2_METADATA_DISABLED: 'true' }).map((f) => f.code)).toEqual(['IMDS_DISABLED']);
  });

  it('reports nothing for a clean environment', () => {
    expect(envFindings({ PATH: '/usr/bin', AWS_REGION: 'us-east-1' })).toEqual([]);
  });
});

describe('Function: credentialsFileFindings', () => {
  it('reports files holding keys, showing only the last 4 characters of each key ID', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'agent-creds-'));
    const withKeys = join(dir, 'credentials');
    const empty = join(dir, 'empty');
    writeFileSync(withKeys, `[default]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\n`);
    writeFileSync(empty, '[default]\nregion = us-east-1\n');
    // Act
    const findings = credentialsFileFindings([withKeys, empty, join(dir, 'missing')]);
    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: 'STATIC_KEYS_FILE', severity: 'warn' });
    expect(findings[0]!.message).toContain(withKeys);
    expect(findings[0]!.message).not.toContain(KEY_ID);
    expect(findings[0]!.message).not.toContain(SECRET);
  });

  it('includes AWS_SHARED_CREDENTIALS_FILE and every /home user in the defaults', () => {
    // Prepare
    const home = mkdtempSync(join(tmpdir(), 'agent-home-'));
    writeFileSync(join(home, 'alice'), '');
    // Act
    const paths = defaultCredentialsFiles({ AWS_SHARED_CREDENTIALS_FILE: '/etc/aws/creds' }, home);
    // Assess
    expect(paths).toEqual([
      '/root/.aws/credentials',
      join(home, 'alice', '.aws', 'credentials'),
      '/etc/aws/creds',
    ]);
  });
});

describe('Function: userDataFindings', () => {
  const script = `#!/bin/bash\nexport AWS_ACCESS_KEY_ID=${KEY_ID}\nexport AWS_SECRET_ACCESS_KEY=${SECRET}\n`;

  it('finds a key and secret in plain user-data', () => {
    const findings = userDataFindings(Buffer.from(script));
    expect(findings.map((f) => [f.code, f.severity])).toEqual([['STATIC_KEYS_USER_DATA', 'fail']]);
    expect(findings[0]!.message).not.toContain(KEY_ID);
  });

  it('finds them in gzip-compressed user-data', () => {
    expect(userDataFindings(gzipSync(script)).map((f) => f.code)).toEqual(['STATIC_KEYS_USER_DATA']);
  });

  it('ignores user-data with a key ID but no secret, or no user-data', () => {
    expect(userDataFindings(Buffer.from(`echo ${KEY_ID}`))).toEqual([]);
    expect(userDataFindings(null)).toEqual([]);
  });
});

describe('Function: clockSkewFindings', () => {
  it('fails when the local clock is more than 5 minutes off the AWS Date header', () => {
    const now = Date.parse('2026-01-01T12:10:00Z');
    expect(clockSkewFindings('Thu, 01 Jan 2026 12:00:00 GMT', now).map((f) => f.code)).toEqual([
      'CLOCK_SKEW',
    ]);
    expect(clockSkewFindings('Thu, 01 Jan 2026 12:07:00 GMT', now)).toEqual([]);
    expect(clockSkewFindings(null, now)).toEqual([]);
  });
});
