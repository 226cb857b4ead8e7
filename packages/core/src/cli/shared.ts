/** Exit codes of the instance-role CLI. */
export const EXIT = {
  /** done */
  ok: 0,
  /** an AWS operation failed */
  failed: 1,
  /** invalid input: nothing was written */
  usage: 2,
} as const;

export interface CommandModule {
  run(argv: readonly string[]): Promise<number>;
}
