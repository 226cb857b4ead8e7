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
    banner: { js: '#!/usr/bin/env node' },
  },
]);
