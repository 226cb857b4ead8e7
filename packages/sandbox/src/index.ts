export type { FaultKind, FaultRule } from './faults.js';
export { type ImdsEmulator, type ImdsFaults, type ImdsOptions, startImds } from './imds.js';
export { type ImdsCredentials, readImdsCredentials } from './imds-credentials.js';
export { MotoNotFoundError, type MotoServer, type StartMotoOptions, startMoto, stopProcess } from './moto.js';
export { type AwsCall, type AwsProxy, type AwsProxyOptions, startAwsProxy } from './proxy.js';
export { type Sandbox, type SandboxOptions, startSandbox } from './sandbox.js';
export {
  EC2_TRUST_POLICY,
  type SeededRole,
  type SeedInstanceOptions,
  type SeedRoleOptions,
  type SeedTarget,
  seedInstance,
  seedRole,
} from './seed.js';
export { type Sshd, SshdNotFoundError, type StartSshdOptions, startSshd } from './sshd.js';
export { type SsmStandIn, type SsmStandInOptions, startSsmStandIn } from './ssm-stand-in.js';
