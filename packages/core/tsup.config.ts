import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.ts';

export default defineConfig([
  { ...base, entry: { index: 'src/index.ts', presets: 'src/presets.ts' } },
  {
    ...base,
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    // Start-up time is most of a CLI run. Each command's code sits in its own chunk (`ensure` never
    // loads EC2, SSM or the agent), and the SDK is bundled from its ES modules: importing its CommonJS
    // build from ESM costs Node a full lexer pass over multi-megabyte files (client-ec2: ~1 s).
    splitting: true,
    noExternal: [/^@aws-sdk\//, /^@smithy\//],
    external: ['@instance-role/agent'],
    minify: true,
    esbuildOptions(options) {
      options.mainFields = ['module', 'main'];
    },
    banner: { js: '#!/usr/bin/env node' },
  },
]);
