import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

const src = (pkg: string, file = 'index.ts') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

/** Workspace packages resolve to their sources in tests: no build needed to test a change. */
export const alias = [
  { find: /^@instance-role\/core\/presets$/, replacement: src('core', 'presets.ts') },
  { find: /^@instance-role\/core$/, replacement: src('core') },
  { find: /^@instance-role\/agent$/, replacement: src('agent') },
  { find: /^@instance-role\/sandbox$/, replacement: src('sandbox') },
];

/** Settings every package's test project shares. */
export function project(name: string, extra: { globalSetup?: string[] } = {}): ViteUserConfig {
  return {
    resolve: { alias },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      globalSetup: extra.globalSetup ?? [],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      env: {
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      },
    },
  };
}
