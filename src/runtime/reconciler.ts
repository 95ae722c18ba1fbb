// What a reconcile receives and the outcomes it can have: the seam between the runtime and the controllers (ADR 002).
import type { KubeObject } from '../kube/kube-object.ts';
import type { Logger } from '../observability/logger.ts';

/** What to do after a successful reconcile: nothing until the next change, or look again after a delay. */
export interface Action {
  /** Reconcile again after this long even without a change (a poll); absent means wait for a change. */
  readonly requeueAfterMs?: number;
}

export const Action = {
  /** Nothing more to do until the object (or something it watches) changes, or the periodic resync. */
  done(): Action {
    return {};
  },
  /** Look again after `delayMs` (waiting for a health interval, a rollout, an external system). */
  requeueAfter(delayMs: number): Action {
    return { requeueAfterMs: Math.max(0, delayMs) };
  },
};

/** What a reconcile gets besides the object. */
export interface ReconcileContext {
  /** Aborts at the reconcile deadline, on shutdown after the grace period, or when leadership is lost. */
  readonly signal: AbortSignal;
  /** Carries `controller`, `namespace`, `name` and `reconcileID`. */
  readonly logger: Logger;
  readonly reconcileID: string;
  readonly controller: string;
  /** `namespace/name` of the object. */
  readonly key: string;
}

/**
 * Drives one object toward its desired state. Level-triggered: decide from the object (and the cluster),
 * never from what woke the reconcile. Throw {@link TerminalError} when nothing but a spec change or a human can
 * help, {@link RequeueAfterError} to retry after a known delay, anything else to retry with backoff.
 */
export interface Reconciler<T extends KubeObject = KubeObject> {
  reconcile(object: T, context: ReconcileContext): Promise<Action | undefined | void>;
}

export interface TerminalErrorOptions {
  readonly cause?: unknown;
  /** CamelCase reason of the `Stalled` condition. Default `TerminalError`. */
  readonly reason?: string;
}

/** A failure retrying cannot fix (invalid spec, exhausted retries): no requeue, condition `Stalled=True`. */
export class TerminalError extends Error {
  override name = 'TerminalError';
  readonly reason: string;

  constructor(message: string, options: TerminalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason ?? 'TerminalError';
  }
}

/** A failure that should be retried after a known delay rather than the rate limiter's (e.g. an open circuit breaker). */
export class RequeueAfterError extends Error {
  override name = 'RequeueAfterError';
  readonly delayMs: number;

  constructor(message: string, delayMs: number, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.delayMs = Math.max(0, delayMs);
  }
}

/** The first error of `type` in `error`'s cause chain (a wrapped TerminalError is still terminal, as with Go's errors.Is). */
function inChain<E extends Error>(error: unknown, type: abstract new (...args: never[]) => E): E | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 16 && current instanceof Error; depth += 1) {
    if (current instanceof type) return current;
    current = current.cause;
  }
  return undefined;
}

export const isTerminalError = (error: unknown): error is TerminalError => error instanceof TerminalError;
export const isRequeueAfterError = (error: unknown): error is RequeueAfterError => error instanceof RequeueAfterError;

/** The TerminalError in `error`'s cause chain, if any. */
export function findTerminalError(error: unknown): TerminalError | undefined {
  return inChain(error, TerminalError);
}

/** The RequeueAfterError in `error`'s cause chain, if any. */
export function findRequeueAfterError(error: unknown): RequeueAfterError | undefined {
  return inChain(error, RequeueAfterError);
}
