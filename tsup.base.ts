import type { Options } from 'tsup';

/** Shared build settings: every package ships ESM + CJS + .d.ts for Node 20. */
export const base: Options = {
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
};
