export { type ClientOptions } from './clients.js';
export {
  AwsOperationError,
  assertNoProblems,
  formatProblem,
  InstanceRoleError,
  type InstanceRoleErrorCode,
  type Problem,
  redactSecrets,
  ValidationError,
} from './errors.js';
