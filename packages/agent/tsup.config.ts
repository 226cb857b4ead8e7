import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';
import { base } from '../../tsup.base.ts';
import { wrapOneFile } from './build/one-file.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Core's preset data is bundled in: the agent has no runtime dependency on core. */
const presetsAlias: Options['esbuildOptions'] = (options) => {
  options.alias = { ...options.alias, '@instance-role/core/presets': here('../core/src/presets.ts') };
};

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

/** In the one-file bundle, SDK modules are imported statically (tree-shakable) instead of by import(). */
const staticSdk: Plugin = {
  name: 'agent-static-sdk',
  setup(build) {
    build.onResolve({ filter: /^\.\/aws\/load\.js$/ }, () => ({ path: here('src/aws/load-static.ts') }));
  },
};

export default defineConfig([
  { ...base, entry: { index: 'src/index.ts' }, target: 'node18', esbuildOptions: presetsAlias },
  {
    ...base,
    entry: { cli: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    target: 'node18',
    banner: { js: '#!/usr/bin/env node' },
    esbuildOptions: presetsAlias,
  },
  {
    // The one-file agent: copied to instances and run with plain `node`, no node_modules. Built as
    // CommonJS, then wrapped in an ESM loader with a V8 code cache (build/one-file.ts).
    entry: { 'instance-role-agent': 'src/bin.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.main.cjs' }),
    platform: 'node',
    target: 'node18',
    minify: true,
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: false,
    treeshake: false,
    noExternal: [/.*/],
    esbuildPlugins: [staticSdk],
    async onSuccess() {
      const main = here('dist/instance-role-agent.main.cjs');
      writeFileSync(here('dist/instance-role-agent.mjs'), wrapOneFile(readFileSync(main, 'utf8')), {
        mode: 0o755,
      });
      rmSync(main);
    },
    esbuildOptions(options) {
      presetsAlias(options, { format: 'esm' });
      // ESM builds of the SDK first: esbuild cannot tree-shake CommonJS.
      options.mainFields = ['module', 'main'];
      // The SDK's `import('node:http')` becomes require(): vm.Script code has no dynamic import().
      options.supported = { ...options.supported, 'dynamic-import': false };
      options.alias = {
        ...options.alias,
        '@aws-sdk/credential-provider-node': here('src/aws/credential-provider-node-stub.ts'),
      };
    },
  },
]);
