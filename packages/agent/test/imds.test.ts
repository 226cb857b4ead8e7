import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseImds } from '../src/imds.js';
import { startBlackhole } from './support/blackhole.js';

describe('Function: diagnoseImds', () => {
  let blackhole: Awaited<ReturnType<typeof startBlackhole>>;
  beforeAll(async () => {
    blackhole = await startBlackhole();
  });
  afterAll(() => blackhole.close());

  it('reports an IMDS that accepts connections but never answers as unreachable in about a second', async () => {
    // Act
    const started = performance.now();
    const d = await diagnoseImds({ endpoint: blackhole.endpoint, timeoutMs: 1000 });
    const ms = performance.now() - started;
    // Assess
    expect(d).toMatchObject({
      reachable: false,
      v2: false,
      v1Open: null,
      hopLimitSuspected: false,
      roleAttached: null,
    });
    expect(ms).toBeLessThan(2500);
  });

  it('reports a closed port as unreachable', async () => {
    const d = await diagnoseImds({ endpoint: 'http://127.0.0.1:9' });
    expect(d.reachable).toBe(false);
  });

  it('makes no request at all when IMDS is disabled', async () => {
    // Prepare
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    // Act
    const d = await diagnoseImds({ endpoint: blackhole.endpoint, disabled: true, fetch: counting });
    // Assess
    expect(d.disabled).toBe(true);
    expect(calls).toBe(0);
  });
});
