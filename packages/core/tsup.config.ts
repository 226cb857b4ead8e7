import { defineConfig } from 'tsup';
import { base } from '../../tsup.base.ts';

export default defineConfig([
  { ...base, entry: { index: 'src/index.ts', presets: 'src/presets.ts' } },
  {
    ...base,
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    // keep each command's dependencies in its own chunk: `instance-role ensure` never loads SSM or the agent
    splitting: true,
    dts: false,
    clean: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
