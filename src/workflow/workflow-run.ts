// One reconcile of one workflow run: loads the persisted progress, advances steps as far as they go without sleeping, saves each transition.
import type { Logger } from '../observability/logger.ts';
import type { CircuitBreakerRegistry } from '../resilience/circuit-breaker-registry.ts';
import { classifyFailure, NonRetryableError } from '../resilience/classify-failure.ts';
import type { Clock } from '../resilience/clock.ts';
import { idempotencyKey, type IdempotencyStore } from '../resilience/idempotency-store.ts';
import { idempotentCall, type SideEffectCall } from '../resilience/idempotent-call.ts';
import type { RetryPolicy } from '../resilience/retry.ts';
import { TimeoutPolicy } from '../resilience/timeout.ts';
import { Checkpoint } from './checkpoint.ts';
import { FanOutPass } from './fan-out-pass.ts';
import { fail, type FanOut, type SideEffectOptions, type Step, type StepContext, type StepOutcome } from './step.ts';
import { compact, deferredProgress, errorMessage, FINAL_STATES, statusMessage, withChanges, type Advance, type ProgressTarget, type StepProgress } from './step-progress.ts';
import type { WorkflowEvent, WorkflowEventBase, WorkflowEventEmitter, WorkflowEventFields } from './workflow-events.ts';
import type { StepResultLabel, WorkflowMetrics } from './workflow-metrics.ts';
import type { WorkflowSnapshot, WorkflowStatusStore, WorkflowUnit } from './workflow-status-store.ts';
import { generationOfRunId, workflowRunId, type Workflow, type WorkflowResource } from './workflow.ts';

/** What the engine hands each run. */
export interface RunServices {
  readonly owner: string;
  readonly clock: Clock;
  readonly idempotency: IdempotencyStore;
  readonly breakers: CircuitBreakerRegistry;
  readonly claimTtlMs: number;
  readonly events: WorkflowEventEmitter | undefined;
  readonly metrics: WorkflowMetrics | undefined;
  readonly logger: Logger | undefined;
}

export interface RunRequest<Input> {
  readonly resource: WorkflowResource;
  /**
   * Tells apart runs of one generation (a Sweep's scheduled runs): part of the run id and of every
   * idempotency key, so a new run never replays an earlier run's side effects while the same run, after
   * a restart, finds its own. Absent: one run per generation.
   */
  readonly run?: string;
  readonly input: Input;
  /** The snapshot read from the resource's status (undefined when it has none). */
  readonly persisted: WorkflowSnapshot | undefined;
  readonly store: WorkflowStatusStore;
  /** Retry policy of steps that declare none (e.g. from `spec.retryPolicy`). */
  readonly retry: RetryPolicy;
  /** Aborted when the reconcile is cancelled (shutdown); the run stops without recording a failure. */
  readonly signal?: AbortSignal;
}

/** Where the run stands after this reconcile. */
export type RunResult =
  | { readonly state: 'running'; readonly requeueAfterMs: number; readonly snapshot: WorkflowSnapshot }
  | { readonly state: 'succeeded'; readonly snapshot: WorkflowSnapshot }
  | { readonly state: 'failed'; readonly failedStep: string; readonly message: string; readonly snapshot: WorkflowSnapshot };

/** A side effect was started by an attempt that had already ended (timed out): refused. */
export class AttemptEndedError extends NonRetryableError {
  override name = 'AttemptEndedError';
}
export const isAttemptEnded = (error: unknown): error is AttemptEndedError => error instanceof AttemptEndedError;

/** A claim outlasts the call it protects by at least this much. */
const CLAIM_MARGIN_MS = 30_000;

/** Runs one reconcile of one run. Created per reconcile; holds no state across reconciles. */
export class WorkflowRun<Input> {
  readonly #services: RunServices;
  readonly #workflow: Workflow<Input>;
  readonly #request: RunRequest<Input>;
  readonly #id: string;
  readonly #abort = new AbortController();
  readonly #checkpoint: Checkpoint;
  #startedAt: string | undefined;
  #finishedAt: string | undefined;
  /** Entries of `status.workflow.steps`, in order: every step, then compensations once needed. */
  #steps: { name: string; progress: StepProgress }[] = [];
  #units = new Map<string, Map<string, StepProgress>>();

  constructor(services: RunServices, workflow: Workflow<Input>, request: RunRequest<Input>) {
    this.#services = services;
    this.#workflow = workflow;
    this.#request = request;
    this.#id = workflowRunId(request.resource, request.run);
    this.#checkpoint = new Checkpoint(request.store, () => this.snapshot());
    const signal = request.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.#abort.abort(signal.reason);
      else signal.addEventListener('abort', () => this.#abort.abort(signal.reason), { once: true });
    }
  }

  snapshot(): WorkflowSnapshot {
    const units: Record<string, WorkflowUnit[]> = {};
    for (const [group, records] of this.#units) units[group] = [...records].map(([id, progress]) => compact({ id, ...progress }));
    return {
      workflow: {
        id: this.#id,
        ...(this.#startedAt === undefined ? {} : { startedAt: this.#startedAt }),
        ...(this.#finishedAt === undefined ? {} : { finishedAt: this.#finishedAt }),
        steps: this.#steps.map(({ name, progress }) => {
          const { result: _result, ...entry } = progress;
          return compact({ name, ...entry });
        }),
      },
      units,
    };
  }

  async execute(): Promise<RunResult> {
    const { started, superseded } = this.#load();
    if (started) {
      await this.#checkpoint.save();
      if (superseded !== undefined) this.#abandon(superseded);
      this.#emit({ type: 'workflow.started', steps: this.#workflow.steps.map(({ name }) => name) });
    }
    if (this.#finishedAt !== undefined) return this.#terminalResult();

    for (const definition of this.#workflow.steps) {
      const advance = definition.kind === 'step' ? await this.#advanceStep(definition) : await this.#advanceGroup(definition);
      if (advance.kind === 'pending') return this.#running(advance.dueAtMs);
      if (advance.state === 'Failed') return this.#compensate(definition.name, advance.message);
    }
    return this.#finish();
  }

  /** Loads the persisted snapshot: says whether a new run starts (to be saved), and which unfinished run it supersedes. */
  #load(): { started: boolean; superseded: WorkflowSnapshot | undefined } {
    const persisted = this.#request.persisted;
    const sameRun = persisted?.workflow.id === this.#id;
    const entries = new Map<string, StepProgress>();
    if (sameRun) {
      this.#startedAt = persisted.workflow.startedAt;
      this.#finishedAt = persisted.workflow.finishedAt;
      for (const { name, ...progress } of persisted.workflow.steps) entries.set(name, { ...progress });
    } else {
      this.#startedAt = this.#now();
    }
    // Steps in the order the definition gives, then compensations already started, in their order.
    this.#steps = this.#workflow.steps.map(({ name }) => ({ name, progress: entries.get(name) ?? { state: 'Pending', attempts: 0 } }));
    for (const [name, progress] of entries) if (this.#workflow.compensations.has(name)) this.#steps.push({ name, progress });
    for (const definition of this.#workflow.steps) {
      if (definition.kind !== 'fan-out') continue;
      const records = new Map<string, StepProgress>();
      for (const { id, ...progress } of sameRun ? (persisted.units[definition.name] ?? []) : []) records.set(id, { ...progress });
      this.#units.set(definition.name, records);
    }
    return { started: !sameRun, superseded: !sameRun && persisted?.workflow.finishedAt === undefined ? persisted : undefined };
  }

  /** A newer generation superseded an unfinished run: it stopped where it was; its side effects are neither repeated nor undone. */
  #abandon(persisted: WorkflowSnapshot): void {
    const { id } = persisted.workflow;
    this.#services.metrics?.runEnded(this.#workflow.name, 'abandoned');
    this.#services.logger?.info({ workflow: this.#workflow.name, correlationId: id, supersededBy: this.#id }, 'workflow run abandoned for a newer generation');
    const generation = generationOfRunId(id);
    this.#services.events?.emit({
      ...this.#eventBase(),
      type: 'workflow.failed',
      correlationId: id,
      generation: Number.isInteger(generation) ? generation : 0,
      message: `superseded by generation ${this.#request.resource.generation}`,
    });
  }

  #entry(name: string): { name: string; progress: StepProgress } {
    const entry = this.#steps.find((candidate) => candidate.name === name);
    if (entry === undefined) throw new Error(`workflow ${this.#workflow.name} has no step ${name}`);
    return entry;
  }

  #stepTarget(definition: Step<Input>): ProgressTarget<Input> {
    const entry = this.#entry(definition.name);
    const retry = definition.retry ?? this.#request.retry;
    return {
      step: definition.name,
      unit: undefined,
      retry,
      timeoutMs: definition.timeoutMs ?? retry.settings.attemptTimeoutMs,
      keepResult: false,
      run: (context) => definition.run(context),
      deferredMessage: (error) => definition.deferredMessage?.(error),
      get: () => entry.progress,
      set: (progress) => {
        entry.progress = progress;
      },
    };
  }

  #advanceStep(definition: Step<Input>): Promise<Advance> {
    return this.#advance(this.#stepTarget(definition));
  }

  /**
   * Runs one attempt of a step or unit if it is due, and saves the transitions.
   *
   * Guarantees: a new attempt is saved as `Running` (counted) before the step runs, so a crash during
   * it is seen as an interrupted attempt; the outcome is saved before the next step runs; nothing runs
   * before its `nextAttemptAt`.
   */
  async #advance(target: ProgressTarget<Input>): Promise<Advance> {
    const before = target.get();
    if (FINAL_STATES.has(before.state)) return { kind: 'finished', state: before.state as 'Succeeded', message: before.message ?? '' };
    const nowMs = this.#services.clock.now();
    if (before.nextAttemptAt !== undefined && Date.parse(before.nextAttemptAt) > nowMs) return { kind: 'pending', dueAtMs: Date.parse(before.nextAttemptAt) };

    // A wait continues its attempt; anything else (first run, retry, a run interrupted by a crash) is a new
    // one, saved as Running before it runs so that a crash during it still counts. Resuming a wait saves
    // nothing first: a poll costs one status write, not two.
    const resuming = before.state === 'Waiting';
    const attempt = resuming ? Math.max(1, before.attempts) : before.attempts + 1;
    target.set(withChanges(before, { state: 'Running', attempts: attempt, startedAt: before.startedAt ?? this.#now() }, ['nextAttemptAt']));
    if (!resuming) {
      await this.#checkpoint.save();
      this.#emit({ type: 'job.started', ...job(target), attempt });
    }

    const ranFromMs = this.#services.clock.now();
    const outcome = await this.#invoke(target, attempt);
    if (this.#abort.signal.aborted) throw this.#abort.signal.reason;
    const { progress, label } = this.#interpret(target, attempt, outcome);
    target.set(progress);
    this.#services.metrics?.stepRan(this.#workflow.name, target.step, label, (this.#services.clock.now() - ranFromMs) / 1000);
    const outcomeVersion = this.#checkpoint.mark();
    // A fan-out starts the unit that takes this one's slot now, so that one write saves both.
    target.settled?.();
    await this.#checkpoint.flush(outcomeVersion);

    this.#services.logger?.debug({ workflow: this.#workflow.name, correlationId: this.#id, step: target.step, unit: target.unit, attempt, state: progress.state }, 'workflow step ran');
    const durationMs = this.#sinceMs(progress.startedAt);
    if (progress.state === 'Succeeded') this.#emit({ type: 'job.completed', ...job(target), attempt, durationMs });
    if (progress.state === 'Failed' || label === 'retrying') {
      const retry = label === 'retrying' && progress.nextAttemptAt !== undefined ? { nextAttemptAt: progress.nextAttemptAt } : {};
      this.#emit({ type: 'job.failed', ...job(target), attempt, durationMs, retryable: label === 'retrying', message: progress.message ?? '', ...retry });
    }
    if (FINAL_STATES.has(progress.state)) return { kind: 'finished', state: progress.state as 'Succeeded', message: progress.message ?? '' };
    return { kind: 'pending', dueAtMs: Date.parse(progress.nextAttemptAt ?? this.#now()) };
  }

  /** Runs the step under its timeout; a throw becomes a failure classified by its type. */
  async #invoke(target: ProgressTarget<Input>, attempt: number): Promise<StepOutcome> {
    const attemptAbort = new AbortController();
    const onRunAbort = () => attemptAbort.abort(this.#abort.signal.reason);
    this.#abort.signal.addEventListener('abort', onRunAbort, { once: true });
    let ended = false;
    const context = this.#context(target, attempt, attemptAbort.signal, () => ended);
    // A cancelled reconcile returns at once, even when the step ignores its signal.
    const cancelled = new Promise<never>((_resolve, reject) => {
      if (attemptAbort.signal.aborted) reject(attemptAbort.signal.reason as Error);
      else attemptAbort.signal.addEventListener('abort', () => reject(attemptAbort.signal.reason as Error), { once: true });
    });
    try {
      const call = () => target.run(context);
      const timeoutMs = target.timeoutMs;
      const running = timeoutMs === undefined ? call() : new TimeoutPolicy({ timeoutMs, clock: this.#services.clock }).execute(call, { signal: attemptAbort.signal, attempt });
      return await Promise.race([running, cancelled]);
    } catch (error) {
      const kind = classifyFailure(error).kind;
      return fail(error, { retryable: kind === 'transient' || kind === 'unknown' || (kind === 'cancelled' && !this.#abort.signal.aborted) });
    } finally {
      ended = true;
      attemptAbort.abort(new AttemptEndedError(`attempt ${attempt} of ${target.step} ended`));
      this.#abort.signal.removeEventListener('abort', onRunAbort);
    }
  }

  #interpret(target: ProgressTarget<Input>, attempt: number, outcome: StepOutcome): { progress: StepProgress; label: StepResultLabel } {
    const current = target.get();
    const nowMs = this.#services.clock.now();
    const at = (ms: number) => new Date(ms).toISOString();
    if (outcome.kind === 'done') {
      const changes: Partial<StepProgress> = { state: 'Succeeded', finishedAt: at(nowMs), ...(outcome.message === undefined ? {} : { message: statusMessage(outcome.message) }) };
      if (target.keepResult) changes.result = outcome.result === undefined ? null : outcome.result;
      return { progress: withChanges(current, changes, ['nextAttemptAt', ...(outcome.message === undefined ? (['message'] as const) : [])]), label: 'succeeded' };
    }
    if (outcome.kind === 'wait') {
      return { progress: withChanges(current, { state: 'Waiting', nextAttemptAt: at(nowMs + outcome.delayMs), message: statusMessage(outcome.reason) }), label: 'waiting' };
    }
    const failure = classifyFailure(outcome.error);
    const message = errorMessage(outcome.error);
    if (failure.kind === 'deferred') return { progress: deferredProgress(current, 'Waiting', outcome.error, nowMs, (error) => target.deferredMessage?.(error)), label: 'waiting' };
    if (outcome.retryable) {
      const decision = target.retry.decide(attempt, { ...failure, kind: 'transient' });
      if (decision.retry) {
        return {
          progress: withChanges(current, { state: 'Pending', nextAttemptAt: at(nowMs + decision.delayMs), message: statusMessage(`attempt ${attempt} failed: ${message}`) }),
          label: 'retrying',
        };
      }
      return { progress: withChanges(current, { state: 'Failed', finishedAt: at(nowMs), message: statusMessage(`failed after ${attempt} attempts: ${message}`) }, ['nextAttemptAt']), label: 'failed' };
    }
    return { progress: withChanges(current, { state: 'Failed', finishedAt: at(nowMs), message: statusMessage(message) }, ['nextAttemptAt']), label: 'failed' };
  }

  #context(target: ProgressTarget<Input>, attempt: number, signal: AbortSignal, ended: () => boolean): StepContext<Input> {
    const { resource } = this.#request;
    const services = this.#services;
    const keyOf = (step: string, name: string, unit: string | undefined) => idempotencyKey({ uid: resource.uid, generation: resource.generation, ...(this.#request.run === undefined ? {} : { run: this.#request.run }), step, unit: unit === undefined ? name : `${unit}:${name}` });
    return {
      input: this.#request.input,
      resource,
      workflowId: this.#id,
      step: target.step,
      unit: target.unit,
      attempt,
      signal,
      clock: services.clock,
      sideEffect: async <T>(name: string, call: SideEffectCall<T>, options: SideEffectOptions = {}): Promise<T> => {
        // An attempt given up on (timeout) may still be running: it must not start new side effects.
        if (ended()) throw new AttemptEndedError(`attempt ${attempt} of ${target.step} has ended; side effect ${name} refused`);
        const timeoutMs = options.timeoutMs ?? target.timeoutMs;
        const { result } = await idempotentCall(
          {
            store: services.idempotency,
            key: keyOf(target.step, name, target.unit),
            owner: services.owner,
            claimTtlMs: options.claimTtlMs ?? (timeoutMs === undefined ? services.claimTtlMs : timeoutMs + CLAIM_MARGIN_MS),
            signal,
            ...(options.breaker === undefined ? {} : { breaker: services.breakers.get(options.breaker) }),
            ...(timeoutMs === undefined ? {} : { timeout: new TimeoutPolicy({ timeoutMs, clock: services.clock }) }),
          },
          call,
        );
        return result;
      },
      recordedResult: async <T>(step: string, name: string, unit?: string): Promise<T | undefined> => {
        const record = await services.idempotency.get(keyOf(step, name, unit));
        return record?.state === 'completed' ? (record.result as T) : undefined;
      },
    };
  }

  #advanceGroup(definition: FanOut<Input>): Promise<Advance> {
    const records = this.#units.get(definition.name) ?? new Map<string, StepProgress>();
    this.#units.set(definition.name, records);
    return new FanOutPass(definition, {
      input: this.#request.input,
      clock: this.#services.clock,
      defaultRetry: this.#request.retry,
      entry: this.#entry(definition.name),
      records,
      breakers: this.#services.breakers,
      advance: (target) => this.#advance(target),
      save: () => this.#checkpoint.save(),
      emit: (event) => this.#emit(event),
    }).run();
  }

  /**
   * After a step failed for good: runs the compensations of the steps that had succeeded, latest first,
   * each as a step of its own (appended to the status), then ends the run as failed.
   */
  async #compensate(failedStep: string, failureMessage: string): Promise<RunResult> {
    const failedIndex = this.#workflow.steps.findIndex((definition) => definition.name === failedStep);
    const compensations = this.#workflow.steps
      .slice(0, failedIndex)
      .filter((definition) => definition.compensation !== undefined && this.#entry(definition.name).progress.state === 'Succeeded')
      .map((definition) => definition.compensation as Step<Input>)
      .reverse();
    const missing = compensations.filter((compensation) => !this.#steps.some((entry) => entry.name === compensation.name));
    if (missing.length > 0) {
      for (const compensation of missing) this.#steps.push({ name: compensation.name, progress: { state: 'Pending', attempts: 0 } });
      await this.#checkpoint.save();
    }
    let summary = `${failedStep} failed: ${failureMessage}`;
    for (const compensation of compensations) {
      const advance = await this.#advanceStep(compensation);
      if (advance.kind === 'pending') return this.#running(advance.dueAtMs);
      if (advance.state === 'Failed') {
        summary += `; compensation ${compensation.name} failed: ${advance.message}`;
        break;
      }
      summary += `; ${compensation.name} done`;
    }
    return this.#finish(failedStep, summary);
  }

  async #finish(failedStep?: string, message?: string): Promise<RunResult> {
    this.#finishedAt = this.#now();
    await this.#checkpoint.save();
    const result = failedStep === undefined ? 'succeeded' : 'failed';
    this.#services.metrics?.runEnded(this.#workflow.name, result);
    const durationMs = this.#sinceMs(this.#startedAt);
    this.#emit(failedStep === undefined ? { type: 'workflow.completed', durationMs } : { type: 'workflow.failed', step: failedStep, durationMs, message: statusMessage(message ?? '') });
    return this.#terminalResult();
  }

  /** The result of a finished run, read from its entries (also when it finished in an earlier reconcile). */
  #terminalResult(): RunResult {
    const failed = this.#steps.find(({ name, progress }) => progress.state === 'Failed' && !this.#workflow.compensations.has(name));
    const snapshot = this.snapshot();
    if (failed === undefined) return { state: 'succeeded', snapshot };
    return { state: 'failed', failedStep: failed.name, message: failed.progress.message ?? '', snapshot };
  }

  #running(dueAtMs: number): RunResult {
    return { state: 'running', requeueAfterMs: Math.max(0, dueAtMs - this.#services.clock.now()), snapshot: this.snapshot() };
  }

  #eventBase(): WorkflowEventBase {
    return { resource: this.#request.resource, correlationId: this.#id, workflow: this.#workflow.name, generation: this.#request.resource.generation, time: this.#now() };
  }

  #emit(event: WorkflowEventFields): void {
    this.#services.events?.emit({ ...this.#eventBase(), ...event } as WorkflowEvent);
  }

  /** Milliseconds since an RFC 3339 time (0 when unknown). */
  #sinceMs(time: string | undefined): number {
    return time === undefined ? 0 : Math.max(0, this.#services.clock.now() - Date.parse(time));
  }

  #now(): string {
    return new Date(this.#services.clock.now()).toISOString();
  }
}

/** The step (and unit) fields of a job event. */
function job(target: { readonly step: string; readonly unit: string | undefined }): { step: string; unit?: string } {
  return target.unit === undefined ? { step: target.step } : { step: target.step, unit: target.unit };
}
