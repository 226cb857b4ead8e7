import { parseArgs } from 'node:util';
import { AgentError, AgentUsageError } from './errors.js';
import { formatReport } from './format.js';
import { exitCodeOf, type VerifyOptions, verify } from './verify.js';

/** Exit codes of instance-role-agent. */
export const EXIT = { pass: 0, fail: 1, usage: 2, noCredentials: 3 } as const;

export const HELP = `Usage: instance-role-agent [options]

Verify, on an EC2 instance, the IAM role it gets from IMDS: identity, allowed and denied
actions, and what on the instance undermines the role.

Options:
  --preset NAME           expectations of a preset (repeatable), e.g. s3-read-only, s3-read:BUCKET/PREFIX
  --expect FILE           expectations from an 'instance-role ensure --json' manifest
  --expect-role NAME      fail unless the instance uses this role
  --write-probes          also try the expected write actions (put then delete)
  --bucket NAME           probe s3:ListBucket on this bucket (and --key KEY: s3:GetObject)
  --key KEY               object key for the GetObject probe
  --table NAME            probe dynamodb:DescribeTable
  --role-name NAME        probe iam:GetRole
  --json                  print the report as JSON (schema: schema/report.schema.json)
  --timeout-ms MS         deadline of the whole run (default 10000)
  --imds-endpoint URL     IMDS base URL (default AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254)
  --credentials-file PATH credentials file to inspect for static keys (repeatable)
  -h, --help              show this help

Without --preset or --expect, reports what each default probe got without judging.
Exit codes: 0 pass, 1 an expectation failed or a 'fail' finding, 2 usage error, 3 no role credentials.
`;

/** Parse the command line into verify options; lists every problem. */
export function parseCli(argv: readonly string[]): { options: VerifyOptions; json: boolean; help: boolean } {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        preset: { type: 'string', multiple: true },
        expect: { type: 'string' },
        'expect-role': { type: 'string' },
        'write-probes': { type: 'boolean' },
        bucket: { type: 'string' },
        key: { type: 'string' },
        table: { type: 'string' },
        'role-name': { type: 'string' },
        json: { type: 'boolean' },
        'timeout-ms': { type: 'string' },
        'imds-endpoint': { type: 'string' },
        'credentials-file': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new AgentUsageError([(error as Error).message]);
  }
  const problems: string[] = [];
  const str = (name: string) => values[name] as string | undefined;
  const timeout = str('timeout-ms');
  const timeoutMs = timeout === undefined ? undefined : Number(timeout);
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000)) {
    problems.push(`--timeout-ms: an integer from 100 to 600000 (got ${JSON.stringify(timeout)})`);
  }
  const endpoint = str('imds-endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
    problems.push(`--imds-endpoint: an http(s) URL (got ${JSON.stringify(endpoint)})`);
  }
  if (str('key') !== undefined && str('bucket') === undefined) problems.push('--key: needs --bucket');
  if (problems.length > 0) throw new AgentUsageError(problems);
  const options: VerifyOptions = {
    presets: (values.preset as string[] | undefined) ?? [],
    expectFile: str('expect'),
    expectRole: str('expect-role'),
    writeProbes: values['write-probes'] === true,
    bucket: str('bucket'),
    key: str('key'),
    table: str('table'),
    roleName: str('role-name'),
    timeoutMs,
    imdsEndpoint: endpoint,
    credentialsFiles: values['credentials-file'] as string[] | undefined,
  };
  return { options, json: values.json === true, help: values.help === true };
}

/**
 * Run the agent CLI; resolves to its exit code.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const { options, json, help } = parseCli(argv);
    if (help) {
      process.stdout.write(HELP);
      return EXIT.pass;
    }
    const report = await verify(options);
    process.stdout.write(
      json
        ? `${JSON.stringify(report, null, 2)}\n`
        : formatReport(report, { color: process.stdout.isTTY === true }),
    );
    return exitCodeOf(report);
  } catch (error) {
    if (error instanceof AgentUsageError) {
      process.stderr.write(`instance-role-agent: ${error.message}\n\n${HELP}`);
      return EXIT.usage;
    }
    if (error instanceof AgentError) {
      process.stderr.write(`instance-role-agent: ${error.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`instance-role-agent: ${(error as Error).name}: unexpected failure\n`);
    return EXIT.fail;
  }
}
