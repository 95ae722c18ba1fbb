// The process's shutdown signal: the first SIGTERM or SIGINT asks for a graceful stop, a later one forces the exit.
import { systemClock, type Clock } from '../resilience/clock.ts';

/** How long after the first signal a repeat is taken for the same request delivered twice. */
export const DUPLICATE_SIGNAL_WINDOW_MS = 1_000;

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
export type TerminationSignalName = (typeof SIGNALS)[number];

/** The abort reason of {@link terminationSignal}: which signal asked the process to stop. */
export class TerminationRequested extends Error {
  override readonly name = 'TerminationRequested';
  readonly signalName: TerminationSignalName;

  constructor(signalName: TerminationSignalName) {
    super(`received ${signalName}`);
    this.signalName = signalName;
  }
}

export function isTerminationRequested(value: unknown): value is TerminationRequested {
  return value instanceof TerminationRequested;
}

export interface TerminationSignalOptions {
  readonly target?: Pick<NodeJS.Process, 'on' | 'off'>;
  readonly clock?: Clock;
  /** Ends the process at once; by default the signal is raised again with its default action. */
  readonly forceExit?: (name: TerminationSignalName) => void;
}

/**
 * An AbortSignal that aborts on the first SIGTERM or SIGINT, with a {@link TerminationRequested} reason.
 *
 * Guarantees: the handlers stay installed, so a repeat within {@link DUPLICATE_SIGNAL_WINDOW_MS} of the first
 * signal changes nothing: a Ctrl-C reaches both `npm run` and the process it runs, and npm forwards its own copy,
 * so one keypress arrives twice, and must not cut the graceful shutdown short (the Lease released, in-flight
 * reconciles finished). A repeat after that window forces the exit, as controller-runtime's second signal does.
 */
export function terminationSignal(options: TerminationSignalOptions = {}): AbortSignal {
  const target = options.target ?? process;
  const clock = options.clock ?? systemClock;
  const forceExit =
    options.forceExit ??
    ((name: TerminationSignalName) => {
      process.kill(process.pid, name);
    });
  const controller = new AbortController();
  let firstAtMs: number | undefined;
  const handlers = SIGNALS.map((name) => {
    const handler = (): void => {
      if (firstAtMs === undefined) {
        firstAtMs = clock.now();
        controller.abort(new TerminationRequested(name));
        return;
      }
      if (clock.now() - firstAtMs < DUPLICATE_SIGNAL_WINDOW_MS) return;
      for (const [signal, installed] of handlers) target.off(signal, installed);
      forceExit(name);
    };
    target.on(name, handler);
    return [name, handler] as const;
  });
  return controller.signal;
}
