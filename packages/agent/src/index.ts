export type { CredentialIdentity, CredentialsProvider } from './aws-clients.js';
export { type Classification, classifyError, classifySuccess } from './classify.js';
export { EXIT, HELP, main, parseCli } from './cli.js';
export { AgentError, type AgentErrorCode, AgentUsageError } from './errors.js';
export {
  type ExpectFile,
  type ProbeTargets,
  parseExpectations,
  planProbes,
  presetExpectations,
  readExpectFile,
} from './expectations.js';
export {
  clockSkewFindings,
  credentialsFileFindings,
  defaultCredentialsFiles,
  envFindings,
  imdsFindings,
  keyHint,
  userDataFindings,
} from './findings.js';
export { formatReport } from './format.js';
export { DEFAULT_IMDS_ENDPOINT, type DiagnoseImdsOptions, diagnoseImds, type ImdsDiagnosis } from './imds.js';
export { canProbe, meets, type PlannedProbe, runProbe } from './probes.js';
export type {
  Check,
  Expectations,
  Expected,
  Finding,
  FindingCode,
  ImdsReport,
  Outcome,
  ProbeService,
  ProbeSpec,
  Report,
  Severity,
  Verdict,
} from './types.js';
export { exitCodeOf, type VerifyOptions, verify } from './verify.js';
