// The progress record of a step or fan-out unit during a reconcile, and the helpers that move it from state to state.
import type { StepState } from '../api/status.ts';
import { redactString } from '../observability/redact.ts';
import { classifyFailure } from '../resilience/classify-failure.ts';
import type { RetryPolicy } from '../resilience/retry.ts';
import type { StepContext, StepOutcome } from './step.ts';

/** The mutable progress of a step or unit during a reconcile. */
export interface StepProgress {
  state: StepState;
  attempts: number;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  nextAttemptAt?: string | undefined;
  message?: string | undefined;
  result?: unknown;
}

/** Copies a record without its undefined fields, so saved status holds no explicit nulls. */
export function compact<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

/** What advancing a step or unit came to: it finished, or it is pending until `dueAtMs`. */
export type Advance = { readonly kind: 'finished'; readonly state: 'Succeeded' | 'Failed' | 'Skipped'; readonly message: string } | { readonly kind: 'pending'; readonly dueAtMs: number };

/** A step or a unit, as the attempt logic sees it: its settings, how to run it, where its progress lives. */
export interface ProgressTarget<Input> {
  readonly step: string;
  readonly unit: string | undefined;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number | undefined;
  readonly keepResult: boolean;
  run(context: StepContext<Input>): Promise<StepOutcome>;
  /** The `deferredMessage` of the step or group. */
  deferredMessage?(error: unknown): string | undefined;
  get(): StepProgress;
  set(progress: StepProgress): void;
  /**
   * Called once an attempt's outcome is in the record and before it is saved: a fan-out frees the unit's slot
   * here and starts the next unit, whose start is then saved in the same write as this outcome.
   */
  settled?(): void;
}

/** States a step or unit never leaves within a run. */
export const FINAL_STATES: ReadonlySet<StepState> = new Set(['Succeeded', 'Failed', 'Skipped']);
const MAX_MESSAGE = 1024;

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/** Status messages are read by humans and may end up anywhere: scrubbed of credentials and bounded. */
export const statusMessage = (text: string): string => {
  const clean = redactString(text);
  return clean.length <= MAX_MESSAGE ? clean : `${clean.slice(0, MAX_MESSAGE - 1)}…`;
};

/** A copy of `progress` with `changes` applied and the `drop` fields removed. */
export function withChanges(progress: StepProgress, changes: Partial<StepProgress>, drop: readonly (keyof StepProgress)[] = []): StepProgress {
  const next: StepProgress = { ...progress, ...changes };
  for (const key of drop) delete next[key];
  return next;
}

/**
 * `progress` deferred by `error` (an open breaker, a claim held by another run, an unreachable store): not the
 * step's fault, so it is `state` until the dependency says to come back, its attempts untouched. The message is
 * `describe`'s (a step's `deferredMessage`), else the error's.
 */
export function deferredProgress(progress: StepProgress, state: 'Pending' | 'Waiting', error: unknown, nowMs: number, describe?: (error: unknown) => string | undefined): StepProgress {
  const retryAfterMs = Math.max(1, classifyFailure(error).retryAfterMs ?? 1);
  return withChanges(progress, { state, nextAttemptAt: new Date(nowMs + retryAfterMs).toISOString(), message: statusMessage(describe?.(error) ?? errorMessage(error)) });
}
