import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';
import { base } from '../../tsup.base.ts';

/** Core's preset data is bundled in: the agent has no runtime dependency on core. */
const presets = fileURLToPath(new URL('../core/src/presets.ts', import.meta.url));
const esbuildOptions: Options['esbuildOptions'] = (options) => {
  options.alias = { ...options.alias, '@instance-role/core/presets': presets };
};

export default defineConfig([
  {
    ...base,
    entry: { index: 'src/index.ts' },
    target: 'node18',
    esbuildOptions,
    noExternal: ['@instance-role/core'],
  },
  {
    ...base,
    entry: { cli: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    target: 'node18',
    banner: { js: '#!/usr/bin/env node' },
    esbuildOptions,
    noExternal: ['@instance-role/core'],
  },
  {
    // The one-file agent: copied to instances and run with plain `node`, no node_modules.
    entry: { 'instance-role-agent': 'src/bin.ts' },
    format: ['esm'],
    outExtension: () => ({ js: '.mjs' }),
    platform: 'node',
    target: 'node18',
    minify: true,
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: false,
    treeshake: false,
    noExternal: [/.*/],
    banner: {
      js: "#!/usr/bin/env node\nimport{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
    },
    esbuildOptions,
  },
]);
