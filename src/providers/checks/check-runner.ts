// The seam between the Sweep workflow's fan-out and a check runner: start a unit, observe its outcome.
import type { CheckRunner as CheckRunnerName, SweepCheck, SweepRepository } from '../../api/sweep.ts';
import type { SecretSource } from '../secret-reader.ts';

/** The Sweep a unit belongs to: the owner of what the runner creates. */
export interface SweepRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

/** One unit of a Sweep run: a check against a repository. */
export interface CheckUnit {
  readonly sweep: SweepRef;
  /** Identifies the run (a scheduled Sweep runs many times); units of different runs never share a Job. */
  readonly runId: string;
  readonly repository: SweepRepository;
  readonly check: SweepCheck;
  /** `spec.ttlSecondsAfterFinished` of the Sweep. */
  readonly ttlSecondsAfterFinished: number;
}

/** A started `job` unit. */
export interface JobCheckHandle {
  readonly runner: 'job';
  readonly namespace: string;
  readonly jobName: string;
  readonly uid: string;
}

/** A finished `http` unit: the checker's verdict, given as the answer to the start request. */
export interface HttpCheckHandle {
  readonly runner: 'http';
  readonly verdict: 'passed' | 'failed';
  readonly message: string;
  readonly durationMs: number;
}

/** What `start` returns: JSON, recorded by the workflow as the result of the side effect. */
export type CheckHandle = JobCheckHandle | HttpCheckHandle;

/**
 * One look at a unit. `running` means look again later; `errored` is no verdict (timeout); `missing` means the
 * runner's object disappeared before it finished, so the controller may start the unit again, once.
 */
export interface CheckObservation {
  readonly state: 'running' | 'passed' | 'failed' | 'errored' | 'missing';
  readonly message: string;
  readonly durationMs?: number;
}

export interface StartCheckRequest {
  readonly unit: CheckUnit;
  /** Derived from (uid, generation, step, unit); sent where the runner's target takes one. */
  readonly idempotencyKey: string;
  /** Where Secrets are read for this call (a reconcile reads each once for all its units); the runner's own reader otherwise. */
  readonly secrets?: SecretSource;
  readonly signal?: AbortSignal;
}

export interface ObserveCheckRequest {
  readonly unit: CheckUnit;
  readonly handle: CheckHandle;
  readonly signal?: AbortSignal;
}

/**
 * Runs one kind of check. `start` with the same key never starts a second run; it throws `ProviderError`s
 * (or `kube/errors.ts` errors) whose class says whether a retry can help.
 */
export interface CheckRunner {
  readonly runner: CheckRunnerName;
  start(request: StartCheckRequest): Promise<CheckHandle>;
  observe(request: ObserveCheckRequest): Promise<CheckObservation>;
}
