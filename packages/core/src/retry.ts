import { AbortedError, PropagationTimeoutError } from './errors.js';

/** Progress of a wait for eventual consistency, for a CLI or a log. */
export type WaitEvent =
  | {
      readonly type: 'waiting';
      /** What is being waited for, e.g. `EC2 to see instance profile "web"`. */
      readonly waitingFor: string;
      readonly attempt: number;
      readonly elapsedMs: number;
      readonly nextDelayMs: number;
      /** The error that will be retried, e.g. `InvalidParameterValue: ... Invalid IAM Instance Profile name`. */
      readonly reason: string;
    }
  | {
      readonly type: 'settled';
      readonly waitingFor: string;
      readonly attempts: number;
      readonly elapsedMs: number;
    };

export interface RetryOptions {
  /** Said in progress events and in the timeout error, e.g. `EC2 to see instance profile "web"`. */
  readonly waitingFor: string;
  /** True for exactly the errors that mean "not visible yet"; anything else is thrown at once. */
  readonly isRetryable: (err: unknown) => boolean;
  /** Give up after this long. @default 120_000 (Terraform's IAM propagation timeout) */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: WaitEvent) => void;
  /** First delay. @default 200 */
  readonly initialDelayMs?: number;
  /**
   * Largest delay. 1.5 s rather than 2 s, and each delay jittered over 50-100% of its step: the end of
   * IAM's propagation then falls at a random point of a retry interval whatever its length, and attach
   * finishes well under 1 s after it at the median (bench 4), for about one EC2 call a second of waiting.
   * @default 1_500
   */
  readonly maxDelayMs?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export const DEFAULT_DEADLINE_MS = 120_000;
export const DEFAULT_MAX_DELAY_MS = 1_500;
const GROWTH = 1.5;
const JITTER_FLOOR = 0.5;

/**
 * The delay before retry number `attempt` (1-based): exponential from `initialMs` by 1.5×, capped at `maxMs`,
 * with "equal jitter": between 50% and 100% of that value, so retries of many callers spread out and no
 * propagation delay lines up with the schedule.
 *
 * @example
 * backoffDelay(1, 200, 1500, () => 0.5); // 150
 */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const base = Math.min(maxMs, initialMs * GROWTH ** (attempt - 1));
  return Math.round(base * (JITTER_FLOOR + (1 - JITTER_FLOOR) * random()));
}

/**
 * Run `fn` until it succeeds, retrying only the errors `isRetryable` accepts, with jittered exponential
 * backoff (about 200 ms growing to 1.5 s), until `deadlineMs` has passed or `signal` aborts. Throttling is not
 * retried here: the SDK clients do that themselves.
 *
 * @throws PropagationTimeoutError after the deadline, naming what was waited for.
 * @throws AbortedError when `signal` aborts.
 * @example
 * const out = await retryWhilePropagating(() => ec2.send(new AssociateIamInstanceProfileCommand(input)), {
 *   waitingFor: 'EC2 to see instance profile "web"',
 *   isRetryable: isPropagationError,
 *   onEvent: (e) => console.error(e),
 * });
 */
export async function retryWhilePropagating<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const random = options.random ?? Math.random;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal, options.waitingFor);
    try {
      const result = await fn(attempt);
      if (attempt > 1) emitSettled(options, attempt, Date.now() - started);
      return result;
    } catch (err) {
      if (!options.isRetryable(err)) throw err;
      const elapsedMs = Date.now() - started;
      const delay = backoffDelay(
        attempt,
        options.initialDelayMs ?? 200,
        options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
        random,
      );
      if (elapsedMs + delay > deadlineMs)
        throw new PropagationTimeoutError(options.waitingFor, elapsedMs, attempt, err);
      options.onEvent?.({
        type: 'waiting',
        waitingFor: options.waitingFor,
        attempt,
        elapsedMs,
        nextDelayMs: delay,
        reason: describeError(err),
      });
      await sleep(delay, options.signal, options.waitingFor);
    }
  }
}

function emitSettled(options: RetryOptions, attempts: number, elapsedMs: number): void {
  options.onEvent?.({ type: 'settled', waitingFor: options.waitingFor, attempts, elapsedMs });
}

function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return e?.name && e.message ? `${e.name}: ${e.message}` : String(err);
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`waiting for ${what}`, signal.reason);
}

/** Resolve after `ms`, or reject with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal, what = 'sleeping'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(`waiting for ${what}`, signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError(`waiting for ${what}`, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
