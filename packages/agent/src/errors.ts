/** Stable codes of the errors the agent throws. */
export type AgentErrorCode = 'USAGE' | 'EXPECT_FILE';

/** Base class of the agent's errors; the original error is kept as `cause`. */
export class AgentError extends Error {
  override name = 'AgentError';
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Bad command line or options: exit code 2. Lists every problem. */
export class AgentUsageError extends AgentError {
  override name = 'AgentUsageError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      'USAGE',
      problems.length === 1
        ? problems[0]!
        : `Invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}
