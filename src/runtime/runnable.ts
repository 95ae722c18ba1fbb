// The one shape the manager runs: something that works until its signal aborts.

/**
 * A long-running component. `start` resolves once the component has stopped after `signal` aborted.
 * Components with in-flight work (controllers) stop taking new work when `signal` aborts and abort the work
 * itself only when `hardStop` aborts, so the manager can give in-flight work a grace period.
 */
export interface Runnable {
  /** For logs: what this is. */
  readonly description?: string;
  /** Run only on the elected leader (controllers); others (caches) run on every replica. */
  readonly needsLeaderElection?: boolean;
  start(signal: AbortSignal, hardStop?: AbortSignal): Promise<void>;
}
