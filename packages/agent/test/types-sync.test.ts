import type {
  Expectations as CoreExpectations,
  ProbeSpec as CoreProbeSpec,
} from '@instance-role/core/presets';
import { describe, expectTypeOf, it } from 'vitest';
import type { Expectations, ProbeSpec } from '../src/types.js';

// The agent keeps its own copies of these two types so that its published .d.ts does not depend on
// @instance-role/core. `pnpm typecheck` (tsc over the tests, run in CI) fails when they drift apart.
describe('Type: ProbeSpec and Expectations', () => {
  it('has the same shape as the preset types in core', () => {
    expectTypeOf<ProbeSpec>().toEqualTypeOf<CoreProbeSpec>();
    expectTypeOf<Expectations>().toEqualTypeOf<CoreExpectations>();
  });
});
