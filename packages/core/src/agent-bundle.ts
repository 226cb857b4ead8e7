import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AgentError } from './errors.js';

const BUNDLE = '@instance-role/agent/bundle';

/**
 * Path of the one-file agent (`@instance-role/agent/bundle`, a plain Node script with no dependencies)
 * that `verifyOverSsh` and `verifyFleet` ship to instances.
 *
 * @example
 * const path = agentBundlePath(); // .../node_modules/@instance-role/agent/dist/instance-role-agent.mjs
 */
export function agentBundlePath(): string {
  let path: string;
  try {
    path = createRequire(moduleUrl()).resolve(BUNDLE);
  } catch (cause) {
    throw missing(cause);
  }
  if (!existsSync(path)) throw missing(undefined, path);
  return path;
}

/**
 * The agent bundle's bytes, from `path` or from the installed `@instance-role/agent`.
 *
 * @example
 * const bundle = readAgentBundle();
 * console.log(`${bundle.length} bytes`);
 */
export function readAgentBundle(path?: string): Buffer {
  const file = path ?? agentBundlePath();
  try {
    return readFileSync(file);
  } catch (cause) {
    throw missing(cause, file);
  }
}

function missing(cause: unknown, path?: string): AgentError {
  const where = path ? ` at ${path}` : '';
  return new AgentError(
    'bundle-missing',
    `The agent bundle (${BUNDLE}) was not found${where}. Install @instance-role/agent, or in this repository run: pnpm --filter @instance-role/agent build`,
    null,
    cause,
  );
}

function moduleUrl(): string {
  // the CJS build has no import.meta.url
  return typeof __filename === 'string' ? __filename : import.meta.url;
}
