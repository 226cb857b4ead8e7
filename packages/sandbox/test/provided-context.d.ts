// The root and package tsconfigs include `test/` but not `test-support/`: declare what the global setup provides here.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}
