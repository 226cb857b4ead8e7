import { defineConfig } from 'vitest/config';

// vitest 4 removed vitest.workspace.ts; its successor is `test.projects` in the root config.
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
