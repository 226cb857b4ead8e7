export { agentBundlePath, readAgentBundle } from './agent-bundle.js';
export {
  type ApplyOptions,
  type ApplyResult,
  applyPlan,
  pollUntil,
  type WaitOptions,
  waitUntilReadable,
} from './apply.js';
export {
  type Arn,
  awsManagedPolicyArn,
  ec2Principal,
  type Partition,
  parseArn,
  partitionOfRegion,
  policyArnProblem,
} from './arn.js';
export {
  type AttachEvent,
  type AttachRoleInput,
  type AttachRoleOptions,
  type AttachRoleResult,
  type AttachWriteEvent,
  attachRole,
  type ProfileSummary,
} from './attach-role.js';
export type { ClientOptions } from './clients.js';
export { explainEc2Error, isPropagationError } from './ec2-errors.js';
export {
  type AttachTargets,
  type EnsureAndAttachOptions,
  type EnsureAndAttachResult,
  ensureAndAttach,
} from './ensure-and-attach.js';
export {
  type EnsureEvent,
  type EnsureOptions,
  type EnsureResult,
  ensureInstanceRole,
  type RoleExpectations,
} from './ensure-instance-role.js';
export {
  AbortedError,
  AgentError,
  type AgentFailure,
  AssociationConflictError,
  AwsOperationError,
  assertNoProblems,
  formatProblem,
  InstanceRoleError,
  type InstanceRoleErrorCode,
  NotOwnedError,
  PassRoleDeniedError,
  type Problem,
  PropagationTimeoutError,
  ResourceNotFoundError,
  redactSecrets,
  SshError,
  type SshFailure,
  ValidationError,
} from './errors.js';
export { type ImdsV2Result, type RequireImdsV2Options, requireImdsV2 } from './imds-options.js';
export {
  type LaunchClients,
  type LaunchResult,
  type LaunchWithRoleOptions,
  launchWithRole,
  type WithInstanceRoleOptions,
  withInstanceRole,
} from './launch.js';
export {
  type ObservedInstanceProfile,
  type ObservedRole,
  type ObservedState,
  type ObserveOptions,
  type ObserveTarget,
  observeInstanceRole,
  parsePolicyText,
} from './observe.js';
export {
  type Change,
  type ChangeKind,
  describeChange,
  formatPlan,
  type Plan,
  type PlanContext,
  planFromDesired,
  planInstanceRole,
  sameDocument,
} from './plan.js';
export {
  INLINE_POLICY_LIMIT,
  lintPolicies,
  MANAGED_POLICY_QUOTA,
  type PolicyLintInput,
  PRESETS_POLICY_NAME,
  parsePolicyDocument,
  policySize,
} from './policy-lint.js';
export {
  type Expectations,
  findPreset,
  mergeExpectations,
  nearestName,
  type PolicyDocument,
  type PolicyStatement,
  PRESETS,
  type PresetContext,
  type PresetDefinition,
  type PresetParameter,
  type ProbeSpec,
  presetProblems,
  type ResolvedPreset,
  resolvePreset,
  S3_PROBE_KEY,
} from './presets.js';
export { backoffDelay, type RetryOptions, retryWhilePropagating, type WaitEvent } from './retry.js';
export {
  type DesiredRole,
  ec2TrustPolicy,
  type InstanceRoleSpec,
  OWNER_TAG,
  resolveSpec,
  specPartition,
  type TrustPolicy,
  tagProblems,
  validateSpec,
} from './spec.js';
export {
  aggregateFleet,
  type FleetEvent,
  type FleetGroup,
  type FleetInstanceResult,
  type FleetOutcome,
  type FleetResult,
  fleetScript,
  INLINE_BUNDLE_LIMIT,
  INLINE_OUTPUT_LIMIT,
  type VerifyFleetOptions,
  verifyFleet,
} from './verify-fleet.js';
export {
  type AgentExpectations,
  type AgentReport,
  parseReport,
  type SshTarget,
  type VerifyOverSshOptions,
  verifyOverSsh,
} from './verify-ssh.js';
