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
  AbortedError,
  AssociationConflictError,
  AwsOperationError,
  assertNoProblems,
  formatProblem,
  InstanceRoleError,
  type InstanceRoleErrorCode,
  PassRoleDeniedError,
  type Problem,
  PropagationTimeoutError,
  ResourceNotFoundError,
  redactSecrets,
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
export { backoffDelay, type RetryOptions, retryWhilePropagating, type WaitEvent } from './retry.js';
