import type { AttachEvent } from '../attach-role.js';
import type { WaitEvent } from '../retry.js';

/** Where a command writes: the process streams by default, a buffer in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

export interface Progress {
  readonly onEvent: (event: AttachEvent | WaitEvent | { readonly type: string }) => void;
  /** Clear a live line; call before printing the result. */
  done(): void;
}

const PLAIN_EVERY_MS = 5_000;

/**
 * Show waits on stderr: on a TTY one line rewritten every second (what is awaited, elapsed seconds);
 * elsewhere a plain line when a wait starts, then at most every 5 s; nothing at all with `quiet` (--json).
 *
 * @example
 * const progress = createProgress(processIo, { quiet: values.json });
 * await attachRole(input, { onEvent: progress.onEvent });
 * progress.done();
 */
export function createProgress(io: CliIo, options: { quiet?: boolean } = {}): Progress {
  if (options.quiet) return { onEvent: () => {}, done: () => {} };
  return io.stderr.isTTY ? ttyProgress(io) : plainProgress(io);
}

function ttyProgress(io: CliIo): Progress {
  let current: { waitingFor: string; since: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!current) return;
    const seconds = Math.round((Date.now() - current.since) / 1000);
    io.stderr.write(`\r\x1b[2K… waiting for ${current.waitingFor} (${seconds} s)`);
  };
  const clear = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (current) io.stderr.write('\r\x1b[2K');
  };
  return {
    onEvent(event) {
      if (!isWait(event)) return;
      if (event.type === 'waiting') {
        if (current?.waitingFor !== event.waitingFor)
          current = { waitingFor: event.waitingFor, since: Date.now() - event.elapsedMs };
        timer ??= setInterval(draw, 1000).unref();
        draw();
        return;
      }
      clear();
      io.stderr.write(`✓ ${event.waitingFor}: ready after ${seconds(event.elapsedMs)} s\n`);
      current = undefined;
    },
    done: () => {
      clear();
      current = undefined;
    },
  };
}

function plainProgress(io: CliIo): Progress {
  let lastAt = 0;
  return {
    onEvent(event) {
      if (!isWait(event)) return;
      if (event.type === 'settled') {
        io.stderr.write(`ready: ${event.waitingFor} after ${seconds(event.elapsedMs)} s\n`);
        lastAt = 0;
        return;
      }
      if (event.attempt > 1 && Date.now() - lastAt < PLAIN_EVERY_MS) return;
      lastAt = Date.now();
      io.stderr.write(`waiting for ${event.waitingFor} (${seconds(event.elapsedMs)} s): ${event.reason}\n`);
    },
    done: () => {},
  };
}

function isWait(event: { readonly type: string }): event is WaitEvent {
  return (event.type === 'waiting' || event.type === 'settled') && 'waitingFor' in event;
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
