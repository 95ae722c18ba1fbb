// The Sweep's own status: unit records ⇄ status.results, summary, progress, history and the phase they add up to.
import { RESULT_MESSAGE_MAX_LENGTH, SWEEP_HISTORY_LIMIT, type SweepPhase, type SweepStatus, type UnitResult, type UnitState } from '../../api/sweep.ts';
import type { WorkflowSnapshot, WorkflowUnit } from '../../workflow/workflow-status-store.ts';
import { presentedWorkflow } from '../resource-status-store.ts';
import { DEPENDENCY_UNAVAILABLE, INVALID_SPEC, withState } from '../resource-state.ts';
import type { SweepRun } from './sweep-run.ts';
import { unitId, type SweepUnit } from './sweep-units.ts';

/** The step before any unit: the Secrets the http checks sign with exist. */
export const VALIDATE_STEP = 'validate';
/** The fan-out group of the Sweep workflow, whose units become `status.results`. */
export const CHECKS_STEP = 'checks';

/** The message of a unit held back while the Sweep is suspended; resuming makes such units due at once. */
export const HELD_WHILE_SUSPENDED = 'not started: the Sweep is suspended';
/** The message of an http unit left for the next reconcile, so one reconcile never runs a whole sweep of checks. */
export const DEFERRED_TO_NEXT_PASS = 'not started yet: this pass has run long enough; the next one starts it';

/** How the message of a unit waiting for a dependency (an open breaker) starts: the Sweep is then `DependencyUnavailable`. */
export const WAITING_FOR_DEPENDENCY = 'waiting for a dependency: ';

/** How a unit ended, recorded by the engine as the unit's result. `errored`: no verdict (timeout, Job deleted twice). */
export interface UnitVerdict {
  readonly verdict: 'passed' | 'failed' | 'errored';
  readonly durationMs?: number;
  readonly jobName?: string;
}

export type SweepSummary = NonNullable<SweepStatus['summary']>;
export type SweepProgress = NonNullable<SweepStatus['progress']>;
export type SweepHistoryEntry = NonNullable<SweepStatus['history']>[number];

/**
 * Bytes a result message takes at most once serialized as JSON (without its quotes), so the status stays
 * small whatever a Job or a checker says: 1,000 results then hold at most 256 KB of messages.
 */
export const RESULT_MESSAGE_MAX_BYTES = RESULT_MESSAGE_MAX_LENGTH;
const ELLIPSIS = '…';
const MAX_DURATION_MS = 604_800_000;

/** Bytes of `text` in a JSON document, quotes excluded (escapes included). */
function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/**
 * `text` made fit for `status.results[].message`: control characters become spaces, runs of white space
 * one space, and the whole is cut at a character boundary (an ellipsis marks the cut) so that its JSON
 * form takes at most `maxBytes` bytes. The API's limit of 256 characters follows, as a character takes
 * at least one byte.
 */
export function boundedMessage(text: string, maxBytes = RESULT_MESSAGE_MAX_BYTES): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  if (jsonBytes(flat) <= maxBytes) return flat;
  const budget = maxBytes - jsonBytes(ELLIPSIS);
  let used = 0;
  let cut = '';
  for (const character of flat) {
    const size = jsonBytes(character);
    if (used + size > budget) break;
    used += size;
    cut += character;
  }
  return `${cut.trimEnd()}${ELLIPSIS}`;
}

function isVerdict(value: unknown): value is UnitVerdict {
  const verdict = (value as { verdict?: unknown } | null)?.verdict;
  return verdict === 'passed' || verdict === 'failed' || verdict === 'errored';
}

const VERDICT_STATE: Record<UnitVerdict['verdict'], UnitState> = { passed: 'Passed', failed: 'Failed', errored: 'Errored' };

/** The milliseconds between two RFC 3339 times, when both are known. */
function between(from: string | undefined, to: string | undefined): number | undefined {
  const ms = Date.parse(to ?? '') - Date.parse(from ?? '');
  return Number.isNaN(ms) ? undefined : Math.min(MAX_DURATION_MS, Math.max(0, ms));
}

/** Whether a result is a unit whose check is running now (not one held back or deferred before it started). */
export function isRunning(result: UnitResult): boolean {
  return result.state === 'Running' && result.message !== HELD_WHILE_SUSPENDED && result.message !== DEFERRED_TO_NEXT_PASS;
}

/** States of a result that no longer change in its run. */
export const FINISHED_UNIT_STATES: ReadonlySet<UnitState> = new Set(['Passed', 'Failed', 'Errored', 'Skipped']);

/**
 * The `status.results` entry of a unit from its engine record (undefined: never started).
 *
 * Engine states map as: none → `Pending`; `Pending` (held or deferred before its first attempt, no Job named yet,
 * or a retry is scheduled) → `Pending` with its attempts and `nextAttemptAt`; `Running` → `Running`; `Waiting`
 * (its Job runs) → `Running` with `nextAttemptAt`; `Succeeded` → the verdict's `Passed`, `Failed` or `Errored`;
 * `Failed` (the runner kept failing) → `Errored`; `Skipped` → `Skipped`. {@link recordOf} reads it back, so the engine gets the same state after a restart.
 */
export function resultOf(unit: SweepUnit, record: WorkflowUnit | undefined, jobName?: string): UnitResult {
  const base = { repository: unit.repository.name, check: unit.check.name };
  if (record === undefined) return { ...base, state: 'Pending', attempts: 0 };
  // A unit held before its first attempt has no Job yet.
  const job = jobName === undefined || (record.state === 'Pending' && record.attempts === 0) ? {} : { jobName };
  const message = record.message === undefined || record.message === '' ? {} : { message: boundedMessage(record.message) };
  const attempts = Math.min(1000, record.attempts);
  if (record.state === 'Succeeded' || record.state === 'Failed' || record.state === 'Skipped') {
    const verdict = isVerdict(record.result) ? record.result : undefined;
    const state: UnitState = record.state === 'Skipped' ? 'Skipped' : record.state === 'Failed' ? 'Errored' : VERDICT_STATE[verdict?.verdict ?? 'errored'];
    const durationMs = verdict?.durationMs ?? between(record.startedAt, record.finishedAt);
    const finishedJob = verdict?.jobName === undefined ? job : { jobName: verdict.jobName };
    return { ...base, state, attempts, ...(durationMs === undefined || record.state === 'Skipped' ? {} : { durationMs: Math.min(MAX_DURATION_MS, Math.round(durationMs)) }), ...message, ...finishedJob };
  }
  const state: UnitState = record.state === 'Pending' ? 'Pending' : 'Running';
  const started = record.startedAt === undefined ? {} : { startedAt: record.startedAt };
  const next = record.nextAttemptAt === undefined ? {} : { nextAttemptAt: record.nextAttemptAt };
  return { ...base, state, attempts, ...message, ...job, ...started, ...next };
}

/** The engine record of a `status.results` entry; undefined for a unit that never started. */
export function recordOf(result: UnitResult): WorkflowUnit | undefined {
  const id = unitId(result.repository, result.check);
  const message = result.message === undefined ? {} : { message: result.message };
  const started = result.startedAt === undefined ? {} : { startedAt: result.startedAt };
  const next = result.nextAttemptAt === undefined ? {} : { nextAttemptAt: result.nextAttemptAt };
  switch (result.state) {
    case 'Pending':
      return result.attempts === 0 && result.nextAttemptAt === undefined ? undefined : { id, state: 'Pending', attempts: result.attempts, ...message, ...started, ...next };
    case 'Running':
      return { id, state: result.nextAttemptAt === undefined ? 'Running' : 'Waiting', attempts: result.attempts, ...message, ...started, ...next };
    case 'Skipped':
      return { id, state: 'Skipped', attempts: result.attempts, ...message };
    default: {
      const verdict: UnitVerdict = {
        verdict: result.state === 'Passed' ? 'passed' : result.state === 'Failed' ? 'failed' : 'errored',
        ...(result.durationMs === undefined ? {} : { durationMs: result.durationMs }),
        ...(result.jobName === undefined ? {} : { jobName: result.jobName }),
      };
      return { id, state: 'Succeeded', attempts: result.attempts, ...message, result: verdict };
    }
  }
}

/** `status.results` for the units of a run, in the units' (spec) order. */
export function resultsOf(units: readonly SweepUnit[], records: readonly WorkflowUnit[], jobNameOf: (unit: SweepUnit) => string | undefined): UnitResult[] {
  const byId = new Map(records.map((record) => [record.id, record]));
  return units.map((unit) => resultOf(unit, byId.get(unit.id), jobNameOf(unit)));
}

/** The engine records held in `status.results` (units never started have none). */
export function recordsOf(results: readonly UnitResult[] | undefined): WorkflowUnit[] {
  return (results ?? []).map(recordOf).filter((record): record is WorkflowUnit => record !== undefined);
}

/** The engine's snapshot of the run a Sweep's status holds: its workflow, and its unit records read back from the results. */
export function snapshotOf(status: Pick<SweepStatus, 'workflow' | 'results'> | undefined): WorkflowSnapshot | undefined {
  if (status?.workflow === undefined) return undefined;
  return { workflow: status.workflow, units: { [CHECKS_STEP]: recordsOf(status.results) } };
}

/**
 * The snapshot with the units `due` picks made due now (`nextAttemptAt` dropped), among those waiting within an
 * attempt and those held before their first. The engine never looks at such a unit before its `nextAttemptAt`;
 * the controller uses this when what the unit waits for has happened: its Job finished or vanished (seen in the
 * Job cache), or the Sweep was resumed. A retry's backoff is never cut short.
 */
export function withUnitsDue(snapshot: WorkflowSnapshot, due: (record: WorkflowUnit) => boolean): WorkflowSnapshot {
  const records = snapshot.units[CHECKS_STEP];
  if (records === undefined) return snapshot;
  let woke = false;
  const waits = (record: WorkflowUnit): boolean => record.state === 'Waiting' || (record.state === 'Pending' && record.attempts === 0);
  const units = records.map((record) => {
    if (!waits(record) || record.nextAttemptAt === undefined || !due(record)) return record;
    woke = true;
    const { nextAttemptAt: _dropped, ...rest } = record;
    return rest;
  });
  if (!woke) return snapshot;
  // The group waits for its earliest unit too; it must look now.
  const steps = snapshot.workflow.steps.map((step) => {
    if (step.name !== CHECKS_STEP) return step;
    const { nextAttemptAt: _dropped, ...rest } = step;
    return rest;
  });
  return { workflow: { ...snapshot.workflow, steps }, units: { ...snapshot.units, [CHECKS_STEP]: units } };
}

/** Units per outcome, and how many of them finished. */
export function tally(results: readonly UnitResult[]): { summary: SweepSummary; progress: SweepProgress; running: number } {
  const summary: SweepSummary = { passed: 0, failed: 0, errored: 0, skipped: 0 };
  let running = 0;
  for (const result of results) {
    if (result.state === 'Passed') summary.passed += 1;
    else if (result.state === 'Failed') summary.failed += 1;
    else if (result.state === 'Errored') summary.errored += 1;
    else if (result.state === 'Skipped') summary.skipped += 1;
    else if (result.state === 'Running' || result.attempts > 0) running += 1;
  }
  const completed = summary.passed + summary.failed + summary.errored + summary.skipped;
  return { summary, progress: { total: results.length, completed, text: `${completed}/${results.length}` }, running };
}

/** What the phase and the kstatus conditions say (the conditions come from ADR 008's table for `kind`). */
export interface SweepState {
  readonly phase: SweepPhase;
  readonly kind: 'progressing' | 'ready' | 'stalled' | 'suspended';
  readonly reason: string;
  readonly message: string;
}

function counted(summary: SweepSummary): string {
  const parts = [
    [summary.failed, 'failed'],
    [summary.errored, 'errored'],
    [summary.skipped, 'skipped'],
  ] as const;
  const listed = parts.filter(([count]) => count > 0).map(([count, word], index) => `${count}${index === 0 ? (count === 1 ? ' unit' : ' units') : ''} ${word}`);
  return listed.length === 0 ? 'no unit failed' : listed.join(', ');
}

/**
 * The phase of a Sweep: `Suspended` while `spec.suspend` is true (units in flight still finish);
 * `Pending` until a unit of the run starts, `Running` until the run finishes; then `Succeeded` when every
 * unit passed, else `Failed` (Stalled, reason `ChecksFailed`) until the next run starts. A run whose `validate`
 * step failed started no unit: `Failed` (Stalled, reason `InvalidSpec`, the step's message). While a unit waits
 * for a dependency that is out (its checker's breaker is open), the reason is `DependencyUnavailable`, as a Deploy
 * says it, in phase `Pending` when no unit has started yet, else `Running`.
 */
export function sweepState(input: { readonly suspended: boolean; readonly snapshot: WorkflowSnapshot | undefined; readonly results: readonly UnitResult[] }): SweepState {
  const { summary, progress, running } = tally(input.results);
  if (input.suspended) {
    const inFlight = input.results.filter(isRunning).length;
    return { phase: 'Suspended', kind: 'suspended', reason: 'Suspended', message: `spec.suspend is true${inFlight > 0 ? `; ${inFlight} units in flight finish, no other starts` : ''}` };
  }
  const workflow = input.snapshot?.workflow;
  const invalid = workflow?.steps.find((step) => step.name === VALIDATE_STEP && step.state === 'Failed');
  if (invalid !== undefined) return { phase: 'Failed', kind: 'stalled', reason: INVALID_SPEC, message: invalid.message ?? 'The spec names what does not exist' };
  if (workflow?.finishedAt !== undefined) {
    const passed = summary.failed + summary.errored + summary.skipped === 0 && workflow.steps.every((step) => step.state === 'Succeeded');
    if (passed) return { phase: 'Succeeded', kind: 'ready', reason: 'Succeeded', message: `Every check passed: ${summary.passed} units` };
    return { phase: 'Failed', kind: 'stalled', reason: 'ChecksFailed', message: `${counted(summary)}; ${summary.passed} of ${progress.total} passed` };
  }
  const started = progress.completed > 0 || running > 0;
  // A unit waits for a dependency within an attempt (Running), or before one starts (Pending).
  const blocked = input.results.find((result) => !FINISHED_UNIT_STATES.has(result.state) && result.message?.startsWith(WAITING_FOR_DEPENDENCY) === true);
  if (blocked !== undefined) return { phase: started ? 'Running' : 'Pending', kind: 'progressing', reason: DEPENDENCY_UNAVAILABLE, message: `${progress.text} units finished; ${blocked.repository}/${blocked.check} is ${blocked.message ?? ''}` };
  if (!started) return { phase: 'Pending', kind: 'progressing', reason: 'Pending', message: `Waiting for the first of ${progress.total} units to start` };
  return { phase: 'Running', kind: 'progressing', reason: 'Running', message: `${progress.text} units finished, ${running} in progress` };
}

/** The summary of a run as `status.history` keeps it; a run without `finishedAt` was superseded before it finished. */
export function historyEntry(status: SweepStatus): SweepHistoryEntry | undefined {
  const workflow = status.workflow;
  if (workflow?.startedAt === undefined) return undefined;
  const summary = status.summary ?? { passed: 0, failed: 0, errored: 0, skipped: 0 };
  const failed = summary.failed + summary.errored + summary.skipped > 0;
  const phase: SweepPhase = workflow.finishedAt === undefined ? (status.phase ?? 'Running') : failed ? 'Failed' : 'Succeeded';
  return { startedAt: workflow.startedAt, ...(workflow.finishedAt === undefined ? {} : { finishedAt: workflow.finishedAt }), phase, summary };
}

/** `history` with the run `previous` held pushed in front, when `previous` held another run than `nextRunId`; newest first, at most 10. */
export function historyAfter(previous: SweepStatus | undefined, nextRunId: string): SweepHistoryEntry[] | undefined {
  const kept = previous?.history;
  if (previous?.workflow === undefined || previous.workflow.id === nextRunId) return kept;
  const entry = historyEntry(previous);
  return entry === undefined ? kept : [entry, ...(kept ?? [])].slice(0, SWEEP_HISTORY_LIMIT);
}

/** What a Sweep's status is composed from, besides the current status and the run's snapshot. */
export interface SweepStatusContext {
  /** The run's units, in spec order. */
  readonly units: readonly SweepUnit[];
  readonly run: SweepRun;
  readonly suspended: boolean;
  /** The schedule's next tick; undefined without a schedule or while suspended. */
  readonly nextScheduleMs: number | undefined;
  /** The Job a job unit runs in (deterministic), undefined for an http unit. */
  readonly jobNameOf: (unit: SweepUnit) => string | undefined;
  readonly generation: number;
}

/**
 * The whole status of a Sweep for a run's snapshot: `workflow`, `results` in spec order, `summary`,
 * `progress`, `history` (the run it replaces pushed in front), `lastScheduleTime` (the tick of the latest
 * scheduled run), `nextScheduleTime`, and the phase and conditions they add up to. Fields of `current` it
 * does not own are kept.
 */
export function composeSweepStatus(current: SweepStatus | undefined, snapshot: WorkflowSnapshot, context: SweepStatusContext, nowMs: number): SweepStatus {
  const results = resultsOf(context.units, snapshot.units[CHECKS_STEP] ?? [], context.jobNameOf);
  const { summary, progress } = tally(results);
  const history = historyAfter(current, snapshot.workflow.id);
  const lastScheduleTime = context.run.tickMs === undefined ? current?.lastScheduleTime : new Date(context.run.tickMs).toISOString();
  const { history: _history, lastScheduleTime: _last, nextScheduleTime: _next, ...kept } = current ?? {};
  const next: SweepStatus = {
    ...kept,
    workflow: presentedWorkflow(snapshot.workflow),
    results,
    summary,
    progress,
    ...(history === undefined ? {} : { history }),
    ...(lastScheduleTime === undefined ? {} : { lastScheduleTime }),
    ...(context.nextScheduleMs === undefined ? {} : { nextScheduleTime: new Date(context.nextScheduleMs).toISOString() }),
  };
  return withState(next, sweepState({ suspended: context.suspended, snapshot, results }), context.generation, nowMs);
}
