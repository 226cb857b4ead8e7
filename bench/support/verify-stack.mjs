// A moto instance with an s3-read-only role attached, its IMDS emulator, and moto's enforcement on:
// the setting of benchmarks 2 and 5.
import { clients, DIST, requireFile, runInstances, startStack } from '../lib.mjs';
import { associate, createRoleAndProfile, imdsCredentials } from './aws-setup.mjs';

export async function startVerifyStack() {
  requireFile(DIST.agentBundle, 'agent one-file bundle');
  const stack = await startStack();
  try {
    const { iam, ec2 } = clients(stack.moto.endpoint);
    const name = `bench-verify-${Date.now().toString(36)}`;
    await createRoleAndProfile(iam, name);
    const [instanceId] = await runInstances(ec2, 1);
    await associate(ec2, instanceId, name);
    const imds = await stack.imds({ instanceId });
    const roleKeys = await imdsCredentials(imds.endpoint);
    await stack.moto.setEnforcement(true);
    return {
      stack,
      roleName: name,
      /** Environment of an agent run: credentials only from IMDS. */
      agentEnv: {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
        AWS_ENDPOINT_URL: stack.endpoint,
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
      },
      /** Environment of a peer run: the same role's keys, given as static keys (no IMDS lookup). */
      peerEnv: { ...roleKeys, AWS_ENDPOINT_URL: stack.endpoint, AWS_EC2_METADATA_DISABLED: 'true' },
      stop: () => stack.stop(),
    };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

export const agentArgs = () => [DIST.agentBundle, '--json', '--preset', 's3-read-only'];

/** The agent's verdict from its JSON report, for the record (a failed check still times the job). */
export function agentVerdict(stdout) {
  try {
    const report = JSON.parse(stdout);
    const failed = (report.checks ?? []).filter((c) => !c.ok).map((c) => `${c.action}: got ${c.outcome}`);
    return { verdict: report.verdict, failed, report };
  } catch {
    return { verdict: 'no JSON report', failed: [], report: undefined };
  }
}
