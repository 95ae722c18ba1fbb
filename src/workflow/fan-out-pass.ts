// One reconcile's pass over a fan-out group: schedules its units under the concurrency limit, then fans in.
import type { CircuitBreakerRegistry } from '../resilience/circuit-breaker-registry.ts';
import type { Clock } from '../resilience/clock.ts';
import { NonRetryableError } from '../resilience/classify-failure.ts';
import type { RetryPolicy } from '../resilience/retry.ts';
import { done, fail, type FanOut, type FanOutUnit, type StepOutcome } from './step.ts';
import { compact, deferredProgress, errorMessage, FINAL_STATES, statusMessage, withChanges, type Advance, type ProgressTarget, type StepProgress } from './step-progress.ts';
import type { WorkflowEventFields } from './workflow-events.ts';
import type { WorkflowUnit } from './workflow-status-store.ts';

/** The message of a unit due for its next attempt while every slot is taken. */
export const WAITING_FOR_SLOT = 'due; waiting for a free slot';

/** What a pass needs of the run it belongs to. */
export interface FanOutPassDeps<Input> {
  readonly input: Input;
  readonly clock: Clock;
  /** The run's retry policy, for a group that declares none. */
  readonly defaultRetry: RetryPolicy;
  /** The group's entry in `status.workflow.steps`. */
  readonly entry: { progress: StepProgress };
  /** The unit records of the group, by unit id (a unit never started has none, or one saying why it waits: held, or deferred by its breaker). */
  readonly records: Map<string, StepProgress>;
  /** The breakers units call through (`FanOut.breaker`). */
  readonly breakers: Pick<CircuitBreakerRegistry, 'get'>;
  /** Runs one attempt of a unit if it is due (the run's step logic). */
  advance(target: ProgressTarget<Input>): Promise<Advance>;
  save(): Promise<void>;
  emit(event: WorkflowEventFields): void;
}

/**
 * Advances a fan-out group by one reconcile.
 *
 * Guarantees: at most `concurrency` units hold a slot, and a unit runs an attempt only while it holds one. A
 * unit keeps its slot while an attempt runs, while it waits within one (its Job runs, or its breaker deferred the
 * attempt) and while it waits out a retry's backoff. A unit whose breaker refuses calls holds none before an
 * attempt, never started or between two: it waits for the breaker, no attempt counted, while units that can run
 * (another breaker's, or none) use the slots. When its breaker lets calls through again, it needs a free slot:
 * units between attempts get one before units not started, each in the group's order, so none is overtaken by
 * a unit behind it. While a breaker is half-open, the pass runs one of its units at a time, so its trial call
 * decides for the others. A unit not started that the group's `hold` holds is not started either: it waits for
 * the hold's delay, no attempt counted and no slot held, like one its breaker defers. Slots freed during the pass
 * are refilled in it; each unit is advanced at most once per pass; a unit not started has no attempt, no
 * `startedAt` and no `job.started`; with `failFast`, no unit starts after one has failed, and units never started
 * (held or deferred ones too) end `Skipped`; the group finishes (fan-in) only when every unit has.
 */
export class FanOutPass<Input> {
  readonly #definition: FanOut<Input>;
  readonly #deps: FanOutPassDeps<Input>;
  #units: readonly FanOutUnit[] = [];
  /** The breaker of each unit that names one (`FanOut.breaker`), by unit id. */
  #breakerOf = new Map<string, string>();
  /** With failFast, set once a unit has failed: no more units start. */
  #stopping = false;

  constructor(definition: FanOut<Input>, deps: FanOutPassDeps<Input>) {
    this.#definition = definition;
    this.#deps = deps;
  }

  async run(): Promise<Advance> {
    const { entry, records } = this.#deps;
    if (FINAL_STATES.has(entry.progress.state)) return { kind: 'finished', state: entry.progress.state as 'Succeeded', message: entry.progress.message ?? '' };
    const dueAtMs = entry.progress.nextAttemptAt === undefined ? undefined : Date.parse(entry.progress.nextAttemptAt);
    if (dueAtMs !== undefined && dueAtMs > this.#deps.clock.now()) return { kind: 'pending', dueAtMs };

    this.#units = this.#definition.units(this.#deps.input);
    if (new Set(this.#units.map((unit) => unit.id)).size !== this.#units.length) throw new Error(`fan-out ${this.#definition.name}: unit ids are not unique`);
    this.#breakerOf = new Map();
    for (const unit of this.#units) {
      const breaker = this.#definition.breaker?.(unit, this.#deps.input);
      if (breaker !== undefined) this.#breakerOf.set(unit.id, breaker);
    }
    const firstRun = entry.progress.state === 'Pending';
    entry.progress = withChanges(entry.progress, { state: 'Running', attempts: Math.max(1, entry.progress.attempts), startedAt: entry.progress.startedAt ?? this.#now() }, ['nextAttemptAt']);
    if (firstRun) {
      await this.#deps.save();
      this.#deps.emit({ type: 'job.started', step: this.#definition.name, attempt: 1 });
    }

    this.#stopping = this.#definition.failFast === true && this.#units.some((unit) => this.#isFailed(records.get(unit.id)));
    await this.#runUnits();
    const unfinished = this.#units.some((unit) => this.#started(records.get(unit.id)) || (!this.#stopping && this.#notStarted(records.get(unit.id))));
    return unfinished ? this.#waitForUnits() : this.#fanIn();
  }

  #isFailed(progress: StepProgress | undefined): boolean {
    return progress?.state === 'Failed' || (progress?.state === 'Succeeded' && this.#definition.unitFailed?.(progress.result) === true);
  }

  /** Its first attempt has begun and it has not finished. */
  #started(progress: StepProgress | undefined): boolean {
    return progress !== undefined && !FINAL_STATES.has(progress.state) && (progress.state !== 'Pending' || progress.attempts > 0);
  }

  /** No attempt has begun: no record, or one held or deferred by its breaker before the first attempt. */
  #notStarted(progress: StepProgress | undefined): boolean {
    return progress === undefined || (progress.state === 'Pending' && progress.attempts === 0);
  }

  /** Whether each unit's breaker refuses calls now, asking each breaker once (a unit without one: never). */
  #refusals(): (unit: FanOutUnit) => boolean {
    const refuses = new Map<string, boolean>();
    return (unit) => {
      const breaker = this.#breakerOf.get(unit.id);
      if (breaker === undefined) return false;
      let refused = refuses.get(breaker);
      if (refused === undefined) {
        refused = this.#deps.breakers.get(breaker).retryAfterMs() > 0;
        refuses.set(breaker, refused);
      }
      return refused;
    };
  }

  /**
   * The units holding a slot now: every unit within an attempt (Running, or Waiting: its Job runs), then, in
   * order while slots remain, the units between attempts whose breaker lets calls through. A unit between
   * attempts whose breaker refuses calls holds none (it could not use it), nor does a unit never started.
   */
  #holders(refused: (unit: FanOutUnit) => boolean): Set<string> {
    const { records } = this.#deps;
    const inAttempt = (unit: FanOutUnit): boolean => records.get(unit.id)?.state === 'Running' || records.get(unit.id)?.state === 'Waiting';
    const holders = new Set(this.#units.filter(inAttempt).map((unit) => unit.id));
    for (const unit of this.#units) {
      if (holders.size >= this.#definition.concurrency) break;
      const progress = records.get(unit.id);
      if (progress?.state === 'Pending' && this.#started(progress) && !refused(unit)) holders.add(unit.id);
    }
    return holders;
  }

  /**
   * The next unit to advance: a unit in progress that is due, else a new one if a slot is free. A new unit the
   * group holds ({@link #held}) or one whose breaker refuses calls ({@link #deferredByBreaker}) is set aside on the
   * way; one whose breaker has a trial call of this pass in flight (`probing`) is left for after it.
   */
  #next(visited: Set<string>, probing: ReadonlySet<string>): FanOutUnit | undefined {
    for (;;) {
      const unit = this.#candidate(visited, probing);
      if (unit === undefined || (!this.#held(unit) && !this.#deferredByBreaker(unit))) return unit;
      visited.add(unit.id);
    }
  }

  /**
   * A due unit that holds its slot, or whose breaker refuses calls (to be deferred, which takes no slot); else,
   * while a slot is free, the first due unit not started (its breaker refusing, it is deferred and the next one
   * looked at). A unit due for a retry whose breaker lets calls through again but finds no slot free waits for
   * one, ahead of any unit not started.
   */
  #candidate(visited: ReadonlySet<string>, probing: ReadonlySet<string>): FanOutUnit | undefined {
    const { records } = this.#deps;
    const now = this.#deps.clock.now();
    const refused = this.#refusals();
    const holders = this.#holders(refused);
    const due = (progress: StepProgress | undefined): boolean => progress?.nextAttemptAt === undefined || Date.parse(progress.nextAttemptAt) <= now;
    const free = (unit: FanOutUnit): boolean => {
      const breaker = this.#breakerOf.get(unit.id);
      return !visited.has(unit.id) && (breaker === undefined || !probing.has(breaker)) && due(records.get(unit.id));
    };
    const going = this.#units.find((unit) => free(unit) && this.#started(records.get(unit.id)) && (holders.has(unit.id) || refused(unit)));
    if (going !== undefined || this.#stopping || holders.size >= this.#definition.concurrency) return going;
    return this.#units.find((unit) => free(unit) && this.#notStarted(records.get(unit.id)));
  }

  /**
   * Holds `unit` when it has not started and the group's `hold` says it must not start now: `Pending` with no
   * attempt until the hold's delay is over (at least 1 ms, so the pass that follows looks at it again), with the
   * hold's reason. It holds no slot ({@link #holders}). True when held.
   */
  #held(unit: FanOutUnit): boolean {
    const { records } = this.#deps;
    if (!this.#notStarted(records.get(unit.id))) return false;
    const hold = this.#definition.hold?.(unit, this.#deps.input);
    if (hold === undefined) return false;
    const untilMs = this.#deps.clock.now() + Math.max(1, hold.delayMs);
    records.set(unit.id, { state: 'Pending', attempts: 0, nextAttemptAt: new Date(untilMs).toISOString(), message: statusMessage(hold.reason) });
    return true;
  }

  /**
   * Defers `unit` when its breaker refuses calls now (open, isolated, or its half-open trials taken), before
   * anything of it runs: a unit never started or due for a retry is `Pending`, one waiting within an attempt stays
   * `Waiting`, until the breaker says to come back, with no attempt counted and the group's `deferredMessage`.
   * Only a `Waiting` one keeps its slot ({@link #holders}). True when deferred.
   */
  #deferredByBreaker(unit: FanOutUnit): boolean {
    const breaker = this.#breakerOf.get(unit.id);
    if (breaker === undefined) return false;
    try {
      this.#deps.breakers.get(breaker).check();
      return false;
    } catch (error) {
      const progress = this.#deps.records.get(unit.id) ?? { state: 'Pending', attempts: 0 };
      const state = progress.state === 'Waiting' ? 'Waiting' : 'Pending';
      this.#deps.records.set(unit.id, deferredProgress(progress, state, error, this.#deps.clock.now(), (cause) => this.#definition.deferredMessage?.(cause)));
      return true;
    }
  }

  /** The breaker of `unit` when it is half-open: the unit's call is then its trial. */
  #trialBreaker(unit: FanOutUnit): string | undefined {
    const breaker = this.#breakerOf.get(unit.id);
    return breaker !== undefined && this.#deps.breakers.get(breaker).state === 'half-open' ? breaker : undefined;
  }

  /**
   * Advances every due unit once, concurrently, starting new ones as slots free up. A slot is free as soon as a
   * unit's outcome is recorded (`settled`), before that outcome is saved: the next unit is started then, so its
   * start (saved before it runs) and the outcome go in one status write instead of two in a row.
   */
  async #runUnits(): Promise<void> {
    const { records } = this.#deps;
    const visited = new Set<string>();
    /** Half-open breakers with a unit of this pass in flight: their other units wait for its outcome. */
    const probing = new Set<string>();
    const inFlight = new Map<string, Promise<void>>();
    let failure: { error: unknown } | undefined;
    const noteFailure = (unit: FanOutUnit): void => {
      if (this.#definition.failFast === true && this.#isFailed(records.get(unit.id))) this.#stopping = true;
    };
    const fill = (): void => {
      while (failure === undefined) {
        const current = this.#next(visited, probing);
        if (current === undefined) return;
        visited.add(current.id);
        // A unit not started starts afresh: a hold or deferral it waited out before its first attempt is over.
        if (this.#notStarted(records.get(current.id))) records.set(current.id, { state: 'Pending', attempts: 0 });
        let trial = this.#trialBreaker(current);
        if (trial !== undefined) probing.add(trial);
        // Once only: by then another unit may be the breaker's trial.
        const trialDone = (): void => {
          if (trial !== undefined) probing.delete(trial);
          trial = undefined;
        };
        const settled = (): void => {
          trialDone();
          noteFailure(current);
          fill();
        };
        const running = this.#deps
          .advance(this.#unitTarget(current, settled))
          .then(() => noteFailure(current))
          .catch((error: unknown) => {
            // A failed save or a cancelled reconcile: start no more units, let those in flight settle, then
            // report it. In-flight units are not cut short: a call already sent would otherwise end without
            // its result recorded, and be sent again (same key) by the next reconcile. A cancelled reconcile
            // has already aborted them through the run's signal.
            failure ??= { error };
          })
          .finally(() => {
            inFlight.delete(current.id);
            trialDone();
          });
        inFlight.set(current.id, running);
      }
    };
    for (;;) {
      fill();
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
    if (failure !== undefined) throw failure.error;
  }

  /**
   * Some units have not finished: the group waits for the earliest time one of them can go on (a unit holding its
   * slot, the end of a retry's backoff or of a hold, a breaker letting calls through again). A unit due but without
   * a free slot adds none: it goes on when a unit holding a slot moves, which wakes the group; one due with a slot
   * free (its hold or deferral ran out during the pass) makes the group due at once. Its hold or deferral
   * is over, so its record stops saying why it waited: a unit never started loses its record (it is simply not
   * started yet), one due for a retry says it waits for a slot.
   */
  async #waitForUnits(): Promise<Advance> {
    const { entry, records } = this.#deps;
    const nowMs = this.#deps.clock.now();
    const refused = this.#refusals();
    const holders = this.#holders(refused);
    // A slot is free when this pass left one (a unit whose hold or deferral ran out while others ran): go on at once.
    const slotFree = !this.#stopping && holders.size < this.#definition.concurrency;
    let dueAtMs = Number.POSITIVE_INFINITY;
    for (const unit of this.#units) {
      const progress = records.get(unit.id);
      if (progress === undefined || FINAL_STATES.has(progress.state)) continue;
      const atMs = progress.nextAttemptAt === undefined ? nowMs : Date.parse(progress.nextAttemptAt);
      if (atMs > nowMs || holders.has(unit.id)) {
        dueAtMs = Math.min(dueAtMs, Math.max(nowMs, atMs));
        continue;
      }
      if (refused(unit)) continue;
      if (slotFree) dueAtMs = nowMs;
      if (this.#notStarted(progress)) records.delete(unit.id);
      else records.set(unit.id, withChanges(progress, { message: WAITING_FOR_SLOT }, ['nextAttemptAt']));
    }
    const finished = this.#units.filter((unit) => FINAL_STATES.has(records.get(unit.id)?.state ?? 'Pending')).length;
    const started = this.#units.filter((unit) => this.#started(records.get(unit.id))).length;
    const message = `${finished}/${this.#units.length} units finished, ${started} in progress`;
    entry.progress = withChanges(entry.progress, { state: 'Waiting', message, ...(Number.isFinite(dueAtMs) ? { nextAttemptAt: new Date(dueAtMs).toISOString() } : {}) });
    await this.#deps.save();
    return { kind: 'pending', dueAtMs: Number.isFinite(dueAtMs) ? dueAtMs : nowMs };
  }

  /** Every unit has finished, or fail-fast stopped the rest: the units never started are skipped, then fan-in. */
  async #fanIn(): Promise<Advance> {
    const { entry, records } = this.#deps;
    const name = this.#definition.name;
    for (const unit of this.#units) if (this.#notStarted(records.get(unit.id))) records.set(unit.id, { state: 'Skipped', attempts: 0, finishedAt: this.#now(), message: 'not started: fail-fast after a failed unit' });
    const finals = this.#units.map((unit) => compact({ id: unit.id, ...(records.get(unit.id) as StepProgress) }));
    const outcome = this.#definition.fanIn?.(finals) ?? defaultFanIn(finals, this.#definition.unitFailed);
    const succeeded = outcome.kind === 'done';
    const message = statusMessage(succeeded ? (outcome.message ?? `${finals.length} units finished`) : outcome.kind === 'fail' ? errorMessage(outcome.error) : outcome.reason);
    entry.progress = withChanges(entry.progress, { state: succeeded ? 'Succeeded' : 'Failed', finishedAt: this.#now(), message }, ['nextAttemptAt']);
    await this.#deps.save();
    const durationMs = Math.max(0, this.#deps.clock.now() - Date.parse(entry.progress.startedAt ?? this.#now()));
    this.#deps.emit(succeeded ? { type: 'job.completed', step: name, attempt: 1, durationMs } : { type: 'job.failed', step: name, attempt: 1, durationMs, retryable: false, message });
    return { kind: 'finished', state: succeeded ? 'Succeeded' : 'Failed', message };
  }

  #unitTarget(unit: FanOutUnit, settled: () => void): ProgressTarget<Input> {
    const definition = this.#definition;
    const { records } = this.#deps;
    const retry = definition.retry ?? this.#deps.defaultRetry;
    return {
      step: definition.name,
      unit: unit.id,
      retry,
      timeoutMs: definition.timeoutMs ?? retry.settings.attemptTimeoutMs,
      keepResult: true,
      run: (context) => definition.run(context, unit),
      deferredMessage: (error) => definition.deferredMessage?.(error),
      get: () => records.get(unit.id) as StepProgress,
      set: (progress) => records.set(unit.id, progress),
      settled,
    };
  }

  #now(): string {
    return new Date(this.#deps.clock.now()).toISOString();
  }
}

/** Fan-in by default: done with the counts when no unit failed, otherwise a final failure naming how many. */
function defaultFanIn(units: readonly WorkflowUnit[], unitFailed: ((result: unknown) => boolean) | undefined): StepOutcome {
  const failed = units.filter((unit) => unit.state === 'Failed' || (unit.state === 'Succeeded' && unitFailed?.(unit.result) === true)).length;
  const skipped = units.filter((unit) => unit.state === 'Skipped').length;
  const counts = { total: units.length, succeeded: units.length - failed - skipped, failed, skipped };
  if (failed > 0) return fail(new NonRetryableError(`${failed} of ${units.length} units failed${skipped > 0 ? `, ${skipped} skipped` : ''}`), { retryable: false });
  return done(counts, `${counts.succeeded} of ${units.length} units succeeded`);
}
