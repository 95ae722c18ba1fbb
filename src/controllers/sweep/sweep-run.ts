// Which run of a Sweep is current: its identity (generation, work, schedule tick) and when a new one starts.
import { structuralSchema, type SchemaNode } from '../../api/structural-schema.ts';
import { sweepSpecSchema, type SweepSpec } from '../../api/sweep.ts';
import { workflowRunId } from '../../workflow/workflow.ts';
import { runHash, withoutDefaults } from '../without-defaults.ts';
import type { ScheduleDecision, SweepSchedule } from './sweep-schedule.ts';

const LABEL = /^([0-9a-f]{10})(?:-(\d{8}T\d{4}Z))?$/;

/**
 * One run of a Sweep. Its engine run id is `<uid>/<generation>/<label>` (`status.workflow.id`), where the
 * label is the hash of the work (`<hash>`) or, for a run the schedule started, the hash and the tick
 * (`<hash>-<YYYYMMDD>T<HHMM>Z`).
 */
export interface SweepRun {
  /** The `metadata.generation` whose spec started the run; it stays the run's while only settings change. */
  readonly generation: number;
  readonly label: string;
  /** {@link workHash} of the spec the run checks. */
  readonly workHash: string;
  /** The schedule tick the run was started for; undefined for a run a spec change started. */
  readonly tickMs: number | undefined;
  /** `<generation>-<label>`: what the check runners see (Job names and the `run` label). */
  readonly runId: string;
}

/** The Sweep spec's schema as the hash reads it, built on first use. */
let specSchemaNode: SchemaNode | undefined;

type SweepWork = Pick<SweepSpec, 'repositories' | 'checks' | 'retryPolicy'>;

const workOf = (spec: SweepWork): SweepWork => ({ repositories: spec.repositories, checks: spec.checks, retryPolicy: spec.retryPolicy });

/**
 * A short hash of what a run checks: the repositories, the checks and the retry policy, without the fields that
 * hold their default (`schema`, by default the Sweep spec's own, says which: tests hand a later version's). A spec
 * change that alters them starts a new run; one that changes only how the run goes (`concurrency`, `failFast`,
 * `suspend`, `schedule`, `ttlSecondsAfterFinished`) applies to the run in progress, so suspending and resuming a
 * Sweep continues it instead of starting over. Leaving defaults out keeps the hash of an unchanged spec when a
 * later operator adds a field with a default: only a value other than the default changes it.
 */
export function workHash(spec: SweepWork, schema: SchemaNode = (specSchemaNode ??= structuralSchema(sweepSpecSchema))): string {
  return runHash(withoutDefaults(workOf(spec), schema));
}

/** The hash run labels had before {@link workHash} left defaults out. */
function defaultsAppliedWorkHash(spec: SweepWork): string {
  return runHash(workOf(spec));
}

/** `YYYYMMDDTHHMMZ` of a tick (ticks fall on whole minutes: schedules have five fields). */
function tickStamp(tickMs: number): string {
  return new Date(tickMs).toISOString().replace(/[-:]/g, '').slice(0, 13).concat('Z');
}

function stampTime(stamp: string): number {
  return Date.parse(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:00Z`);
}

/** The run started by the spec of `generation`, or by the schedule's tick `tickMs`. */
export function sweepRun(generation: number, hash: string, tickMs?: number): SweepRun {
  const label = tickMs === undefined ? hash : `${hash}-${tickStamp(tickMs)}`;
  return { generation, label, workHash: hash, tickMs, runId: `${generation}-${label}` };
}

/** The run a `status.workflow.id` names, when it is one of this Sweep's (`uid`). */
export function parseRun(workflowId: string | undefined, uid: string): SweepRun | undefined {
  const [owner, generation, label, ...rest] = (workflowId ?? '').split('/');
  if (owner !== uid || generation === undefined || !/^\d+$/.test(generation) || label === undefined || rest.length > 0) return undefined;
  const match = LABEL.exec(label);
  if (match === null) return undefined;
  const [, hash = '', stamp] = match;
  return sweepRun(Number(generation), hash, stamp === undefined ? undefined : stampTime(stamp));
}

/** The engine's run id of a run. */
export function runWorkflowId(uid: string, run: SweepRun): string {
  return workflowRunId({ uid, generation: run.generation }, run.label);
}

/**
 * The schedule's decision at `nowMs` for ticks after `run`: those after its own tick, or after its start
 * (`startedAt`) for a run a spec change started.
 */
export function scheduleAfter(run: SweepRun, startedAt: string | undefined, schedule: SweepSchedule, nowMs: number): ScheduleDecision {
  const sinceMs = run.tickMs ?? Date.parse(startedAt ?? '');
  return schedule.decide(Number.isNaN(sinceMs) ? nowMs : sinceMs, nowMs);
}

/** What a reconcile is about to do. */
export type RunPlan =
  /** Carry on with the run in status (unfinished, or finished and waiting for the next tick). */
  | { readonly kind: 'continue'; readonly run: SweepRun }
  /** Start a new run: the work changed (or there was none), or a schedule tick is due. */
  | { readonly kind: 'start'; readonly run: SweepRun; readonly reason: 'spec' | 'schedule'; readonly missedTicks: number }
  /** Nothing to run: suspended before any run of the current work started. */
  | { readonly kind: 'idle' };

export interface RunPlanInput {
  readonly uid: string;
  readonly generation: number;
  readonly spec: SweepSpec;
  /** `status.workflow` as persisted. */
  readonly workflow: { readonly id: string; readonly startedAt?: string | undefined; readonly finishedAt?: string | undefined } | undefined;
  readonly schedule: SweepSchedule | undefined;
  readonly nowMs: number;
}

/**
 * Decides which run a reconcile drives.
 *
 * - No run in status, or one of other work: a new run of this generation (`spec`), unless suspended.
 * - The run in status is unfinished: it goes on (also while suspended: units in flight finish).
 * - It finished: a new run when the schedule has a tick due since the run's own tick (or its start), by
 *   {@link SweepSchedule.decide}'s rule; never while suspended.
 */
export function planRun(input: RunPlanInput): RunPlan {
  const hash = workHash(input.spec);
  const current = parseRun(input.workflow?.id, input.uid);
  const suspended = input.spec.suspend;
  // The same work: the same generation (the API server bumps it with every change of the spec, whatever an
  // operator's hash of it says), or the same hash, in either form (a run labelled before hashes left defaults out).
  const sameWork = current !== undefined && (current.generation === input.generation || current.workHash === hash || current.workHash === defaultsAppliedWorkHash(input.spec));
  if (current === undefined || !sameWork) {
    return suspended ? { kind: 'idle' } : { kind: 'start', run: sweepRun(input.generation, hash), reason: 'spec', missedTicks: 0 };
  }
  if (input.workflow?.finishedAt === undefined || suspended || input.schedule === undefined) return { kind: 'continue', run: current };
  const decision = scheduleAfter(current, input.workflow.startedAt, input.schedule, input.nowMs);
  if (decision.dueMs === undefined) return { kind: 'continue', run: current };
  return { kind: 'start', run: sweepRun(input.generation, hash, decision.dueMs), reason: 'schedule', missedTicks: decision.missed };
}
