import { defineConfig } from 'vitest/config';

const jsonReport = process.env.VITEST_JSON_REPORT;

// vitest 4 removed vitest.workspace.ts; its successor is `test.projects` in the root config.
export default defineConfig({
  test: {
    projects: ['packages/*'],
    // CI asks for a JSON report too, to print a plain "N passed, N failed" line at the end.
    reporters: jsonReport ? ['default', 'json'] : ['default'],
    ...(jsonReport ? { outputFile: { json: jsonReport } } : {}),
  },
});
