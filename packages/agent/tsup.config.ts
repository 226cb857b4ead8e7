import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';
import { base } from '../../tsup.base.ts';

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
    esbuildPlugins: [staticSdk],
    esbuildOptions(options) {
      presetsAlias(options, { format: 'esm' });
      // ESM builds of the SDK first: esbuild cannot tree-shake CommonJS.
      options.mainFields = ['module', 'main'];
      options.alias = {
        ...options.alias,
        '@aws-sdk/credential-provider-node': here('src/aws/credential-provider-node-stub.ts'),
      };
    },
  },
]);
