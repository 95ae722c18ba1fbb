// The soak's verdicts: each invariant checked against what the API server, the fakes, Redis and /proc recorded.
import type { AuditRecord } from '../src/events/audit-record.ts';
import { verifyAuditChain } from '../src/events/audit-log.ts';
import { idempotencyKey } from '../src/resilience/idempotency-store.ts';
import type { LandedCall } from './soak-fakes.ts';
import type { DeployPlan, SweepPlan, Workload } from './workload.ts';
import type { KindWrites, WriteReport } from './write-ledger.ts';

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly observedGeneration?: number;
}

/** A Deploy or Sweep as the API server answers it at the end. */
export interface FinalObject {
  readonly metadata: { readonly name: string; readonly uid: string; readonly generation: number };
  readonly status?: {
    readonly phase?: string;
    readonly observedGeneration?: number;
    readonly conditions?: readonly Condition[];
    readonly workflow?: { readonly id: string; readonly finishedAt?: string };
    readonly revision?: number;
    readonly current?: { readonly version: string };
    readonly previous?: { readonly version: string };
    readonly providerRef?: { readonly provider: string; readonly id: string };
    readonly rollback?: { readonly state: string };
    readonly results?: readonly { readonly repository: string; readonly check: string; readonly state: string; readonly jobName?: string }[];
    readonly summary?: Record<string, number>;
    readonly progress?: { readonly total: number; readonly completed: number };
  };
}

/** Something that may make a side effect land twice with the same key (ADR 005's window). */
export interface Disruption {
  readonly atMs: number;
  readonly what: string;
}

export interface CanaryFinding {
  readonly source: string;
  readonly bytes: number;
  readonly matches: number;
  /** Where the first match is, with the canary itself masked. */
  readonly sample?: string;
}

export interface MemoryFigure {
  readonly label: string;
  readonly peakBytes: number;
  readonly boundBytes: number;
  readonly why: string;
}

export interface Observations {
  readonly workload: Workload;
  readonly deploys: readonly FinalObject[];
  readonly sweeps: readonly FinalObject[];
  readonly landed: readonly LandedCall[];
  /** The Deploy hook's own count of signed deliveries per key, to cross-check what the soak saw land. */
  readonly hookDeliveries: (key: string) => number;
  readonly writes: WriteReport;
  /** Status commits per object during the quiet window after the settle phase. */
  readonly quietCommits: Readonly<Record<string, number>>;
  readonly disruptions: readonly Disruption[];
  readonly audit: ReadonlyMap<string, readonly AuditRecord[]>;
  readonly canary: readonly CanaryFinding[];
  /** Error bodies sent by the fakes that quote a Secret's value: the canary's exposure. */
  readonly canaryBodies: number;
  readonly memory: readonly MemoryFigure[];
  /** Processes that ended without being asked to, or stopped uncleanly; and server errors. */
  readonly processProblems: readonly string[];
  /** Settled before the deadline. */
  readonly settled: boolean;
}

export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  /** One line: what was checked and the count. */
  readonly summary: string;
  /** Up to 30 violations. */
  readonly failures: readonly string[];
  /** Further lines worth printing even when it holds. */
  readonly notes?: readonly string[];
}

const MAX_FAILURES = 30;
/** A repeated side effect is put down to a disruption from 2 s before the earlier call to 10 s after it. */
export const WINDOW_BEFORE_MS = 2_000;
export const WINDOW_AFTER_MS = 10_000;

function result(name: string, failures: string[], summary: string, notes?: string[]): InvariantResult {
  const shown = failures.slice(0, MAX_FAILURES);
  if (failures.length > shown.length) shown.push(`... and ${failures.length - shown.length} more`);
  return { name, ok: failures.length === 0, summary, failures: shown, ...(notes === undefined ? {} : { notes }) };
}

const conditionOf = (object: FinalObject, type: string): Condition | undefined => object.status?.conditions?.find((condition) => condition.type === type);

/**
 * The idempotency key of a Deploy step's side effect in the run `status.workflow.id` names (`<uid>/<generation>`
 * and, since runs carry the hash of their spec, `/<hash>`; ADR 010).
 */
export function deployKey(object: Pick<FinalObject, 'metadata' | 'status'>, step: 'deploy' | 'rollback'): string {
  const [uid = object.metadata.uid, generation = String(object.metadata.generation), run] = (object.status?.workflow?.id ?? '').split('/').filter((part) => part !== '');
  return idempotencyKey({ uid, generation: Number(generation), ...(run === undefined ? {} : { run }), step, unit: step });
}

function checkCommonStatus(object: FinalObject, kind: string, failures: string[]): boolean {
  const { name, generation } = object.metadata;
  const status = object.status;
  const problems: string[] = [];
  if (status?.observedGeneration !== generation) problems.push(`observedGeneration ${String(status?.observedGeneration)} != generation ${generation}`);
  const stale = (status?.conditions ?? []).filter((condition) => condition.observedGeneration !== generation).map((condition) => condition.type);
  if (stale.length > 0) problems.push(`conditions ${stale.join(', ')} not stamped with generation ${generation}`);
  if (status?.workflow?.finishedAt === undefined) problems.push(`run ${String(status?.workflow?.id)} not finished (phase ${String(status?.phase)})`);
  for (const problem of problems) failures.push(`${kind} ${name}: ${problem}`);
  return problems.length === 0;
}

function checkDeploy(plan: DeployPlan, object: FinalObject | undefined, failures: string[]): void {
  if (object === undefined) {
    failures.push(`Deploy ${plan.name}: missing`);
    return;
  }
  const { uid, generation } = object.metadata;
  if (generation !== plan.generations.length) failures.push(`Deploy ${plan.name}: generation ${generation}, the soak made ${plan.generations.length}`);
  checkCommonStatus(object, 'Deploy', failures);
  const status = object.status;
  if (!String(status?.workflow?.id).startsWith(`${uid}/${generation}`)) failures.push(`Deploy ${plan.name}: run ${String(status?.workflow?.id)} is not of generation ${generation}`);
  if (status?.phase !== plan.expected.phase) failures.push(`Deploy ${plan.name}: phase ${String(status?.phase)}, expected ${plan.expected.phase} (${plan.provider}, Stalled ${String(conditionOf(object, 'Stalled')?.reason)})`);
  else if (plan.expected.reason !== undefined && conditionOf(object, 'Stalled')?.reason !== plan.expected.reason) failures.push(`Deploy ${plan.name}: Stalled reason ${String(conditionOf(object, 'Stalled')?.reason)}, expected ${plan.expected.reason}`);
  const ready = conditionOf(object, 'Ready')?.status;
  if ((ready === 'True') !== (plan.expected.phase === 'Succeeded')) failures.push(`Deploy ${plan.name}: Ready=${String(ready)} in phase ${String(status?.phase)}`);
}

function checkSweep(plan: SweepPlan, object: FinalObject | undefined, failures: string[]): void {
  if (object === undefined) {
    failures.push(`Sweep ${plan.name}: missing`);
    return;
  }
  checkCommonStatus(object, 'Sweep', failures);
  const status = object.status;
  const got = (status?.results ?? []).map((unit) => `${unit.repository}/${unit.check}=${unit.state}`);
  const want = plan.expected.results.map((unit) => `${unit.repository}/${unit.check}=${unit.state}`);
  const differing = want.filter((entry, i) => got[i] !== entry).map((entry) => `${entry} (got ${got[want.indexOf(entry)] ?? 'nothing'})`);
  if (got.length !== want.length || differing.length > 0) failures.push(`Sweep ${plan.name}: results differ: ${differing.slice(0, 4).join('; ')}${got.length !== want.length ? `; ${got.length} results, expected ${want.length}` : ''}`);
  const summary = status?.summary;
  const expected = plan.expected.summary;
  if (summary === undefined || Object.entries(expected).some(([key, value]) => summary[key] !== value)) failures.push(`Sweep ${plan.name}: summary ${JSON.stringify(summary)}, expected ${JSON.stringify(expected)}`);
  if (status?.progress?.total !== want.length || status.progress.completed !== want.length) failures.push(`Sweep ${plan.name}: progress ${JSON.stringify(status?.progress)}, expected ${want.length}/${want.length}`);
  if (status?.phase !== plan.expected.phase) failures.push(`Sweep ${plan.name}: phase ${String(status?.phase)}, expected ${plan.expected.phase}`);
}

/** Every resource reached the final state its script implies. */
export function checkFinalStates(observations: Observations): InvariantResult {
  const failures: string[] = [];
  const deploys = new Map(observations.deploys.map((object) => [object.metadata.name, object]));
  const sweeps = new Map(observations.sweeps.map((object) => [object.metadata.name, object]));
  for (const plan of observations.workload.deploys) checkDeploy(plan, deploys.get(plan.name), failures);
  for (const plan of observations.workload.sweeps) checkSweep(plan, sweeps.get(plan.name), failures);
  const phases = new Map<string, number>();
  for (const plan of observations.workload.deploys) phases.set(plan.expected.phase, (phases.get(plan.expected.phase) ?? 0) + 1);
  const units = observations.workload.sweeps.reduce((sum, plan) => sum + plan.expected.results.length, 0);
  if (!observations.settled) failures.unshift('the settle phase ended at its deadline with resources not final');
  return result(
    'every resource reached its expected final state',
    failures,
    `${observations.workload.deploys.length} Deploys (${[...phases].map(([phase, count]) => `${count} ${phase}`).join(', ')}) and ${observations.workload.sweeps.length} Sweeps (${units} units, exact results and summaries)`,
  );
}

/** Calls that landed more than once with one key, each repeat put down to a disruption near the earlier call or not. */
function repeats(calls: readonly LandedCall[], disruptions: readonly Disruption[]): { explained: string[]; unexplained: string[]; keys: number } {
  const byKey = new Map<string, LandedCall[]>();
  for (const call of calls) byKey.set(`${call.operation} ${call.idempotencyKey}`, [...(byKey.get(`${call.operation} ${call.idempotencyKey}`) ?? []), call]);
  const explained: string[] = [];
  const unexplained: string[] = [];
  for (const [key, landed] of byKey) {
    for (let i = 1; i < landed.length; i++) {
      const earlier = landed[i - 1] as LandedCall;
      const cause = disruptions.find((disruption) => disruption.atMs >= earlier.atMs - WINDOW_BEFORE_MS && disruption.atMs <= earlier.atMs + WINDOW_AFTER_MS);
      const line = `${earlier.target} ${key} (${earlier.subject}) landed again ${((((landed[i] as LandedCall).atMs - earlier.atMs) / 1000).toFixed(1))} s later`;
      if (cause === undefined) unexplained.push(`${line}, with no kill, Redis restart or leader change near the first call`);
      else explained.push(`${line}: ${cause.what} at t+${(cause.atMs / 1000).toFixed(1)}s`);
    }
  }
  return { explained, unexplained, keys: byKey.size };
}

/**
 * Every external side effect took effect once per idempotency key:
 * - a Deploy hook delivery and a checker call per key, repeated only inside ADR 005's window (a process killed,
 *   Redis restarted or the leader changed between the call and its recorded completion; the hook de-duplicates
 *   the repeat by key, the checker answers the same verdict);
 * - a Railway deployment (deploy or rollback) per key: the provider adopts the deployment an earlier attempt made;
 * - a Deployment pod-template change per deploy or rollback key (a repeat with the key writes nothing);
 * - a Job per unit and run.
 * Also: the calls each final state implies did land.
 */
export function checkExactlyOnce(observations: Observations): InvariantResult {
  const failures: string[] = [];
  const notes: string[] = [];
  const { landed, disruptions, writes } = observations;
  const hookCalls = landed.filter((call) => call.target === 'webhook');
  const checkerCalls = landed.filter((call) => call.target === 'checker');
  const railwayCalls = landed.filter((call) => call.target === 'railway');
  const hook = repeats(hookCalls, disruptions);
  const checker = repeats(checkerCalls, disruptions);
  failures.push(...hook.unexplained, ...checker.unexplained);
  notes.push(...hook.explained.map((line) => `repeat in the documented window: ${line}`), ...checker.explained.map((line) => `repeat in the documented window: ${line}`));
  for (const [key, count] of countBy(hookCalls.map((call) => call.idempotencyKey))) {
    if (observations.hookDeliveries(key) !== count) failures.push(`the hook counted ${observations.hookDeliveries(key)} deliveries of ${key}, the soak saw ${count} land`);
  }
  for (const [key, count] of countBy(railwayCalls.map((call) => `${call.operation} ${call.idempotencyKey}`))) {
    if (count !== 1) failures.push(`railway ${key}: ${count} deployments created with one key (the provider adopts an earlier attempt's deployment)`);
  }
  for (const [key, count] of Object.entries(writes.templateChanges)) {
    if (key === 'unkeyed') failures.push(`${count} Deployment template changes carried no new deploy or rollback key`);
    else if (count !== 1) failures.push(`kubernetes ${key}: ${count} template changes with one key`);
  }
  const jobsPerUnit = countBy(Object.values(writes.jobs).map((job) => job.idempotencyKey));
  for (const [name, job] of Object.entries(writes.jobs)) if (job.created !== 1) failures.push(`Job ${name} created ${job.created} times`);
  for (const [key, count] of jobsPerUnit) if (count !== 1) failures.push(`${count} Jobs for one unit key ${key}`);

  // What each final state implies landed, and nothing for the runs that must not have called.
  const deploys = new Map(observations.deploys.map((object) => [object.metadata.name, object]));
  const effectKeys = new Set([...landed.map((call) => call.idempotencyKey), ...Object.keys(writes.templateChanges).map((key) => key.slice(key.indexOf(':') + 1))]);
  for (const plan of observations.workload.deploys) {
    const object = deploys.get(plan.name);
    if (object === undefined || plan.invalid !== undefined) continue;
    const last = plan.generations[plan.generations.length - 1];
    const deployed = effectKeys.has(deployKey(object, 'deploy'));
    const rolledBack = effectKeys.has(deployKey(object, 'rollback'));
    if (last?.deploy !== 'reject' && !deployed) failures.push(`Deploy ${plan.name}: no deploy with key ${deployKey(object, 'deploy')} reached ${plan.provider}`);
    const rollbackExpected = plan.expected.reason === 'RolledBack' || plan.expected.reason === 'RollbackFailed';
    if (rollbackExpected !== rolledBack) failures.push(`Deploy ${plan.name}: rollback ${rolledBack ? 'reached' : 'did not reach'} ${plan.provider}, expected ${plan.expected.phase}/${String(plan.expected.reason)}`);
  }
  const sweepJobs = Object.values(writes.jobs).length;
  return result(
    'every side effect took effect once per idempotency key',
    failures,
    `${hook.keys} hook keys (${hookCalls.length} deliveries), ${railwayCalls.length} Railway deployments, ${Object.keys(writes.templateChanges).length} Deployment rollouts, ${checker.keys} checker keys (${checkerCalls.length} calls), ${sweepJobs} Jobs; ${hook.explained.length + checker.explained.length} repeats, all in the documented window`,
    notes,
  );
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/**
 * No status update was lost: no committed status ever went back (write ledger), each final status agrees with
 * what the providers recorded (revision, the run the units belong to), and no finished resource is written again.
 */
export function checkNoLostUpdate(observations: Observations): InvariantResult {
  const failures: string[] = [...observations.writes.regressions];
  const { landed, writes } = observations;
  const keysByUid = new Map<string, Set<string>>();
  const deployKeys = [...landed.filter((call) => call.operation !== 'rollback' && call.operation !== 'deploymentRollback' && call.target !== 'checker').map((call) => call.idempotencyKey), ...Object.keys(writes.templateChanges).filter((key) => key.startsWith('deploy:')).map((key) => key.slice('deploy:'.length))];
  for (const key of deployKeys) {
    const uid = decodeURIComponent(key.split('/')[0] ?? '');
    keysByUid.set(uid, (keysByUid.get(uid) ?? new Set()).add(key));
  }
  const deploys = new Map(observations.deploys.map((object) => [object.metadata.name, object]));
  for (const plan of observations.workload.deploys) {
    const object = deploys.get(plan.name);
    if (object === undefined) continue;
    const status = object.status;
    const calledKeys = keysByUid.get(object.metadata.uid)?.size ?? 0;
    const lastCalled = keysByUid.get(object.metadata.uid)?.has(deployKey(object, 'deploy')) === true;
    // Each deploy step that finished adds one to revision; a superseded generation's call may have landed without it.
    const revision = status?.revision ?? 0;
    if (revision > calledKeys || (lastCalled && revision < 1) || (plan.generations.length === 1 && revision !== calledKeys)) failures.push(`Deploy ${plan.name}: revision ${revision}, ${calledKeys} deploy keys reached the provider`);
    if (status?.phase === 'Succeeded' && status.current?.version !== plan.generations[plan.generations.length - 1]?.version) failures.push(`Deploy ${plan.name}: Succeeded with current version ${String(status.current?.version)}`);
    if (status?.phase === 'RolledBack' && (status.rollback?.state !== 'Succeeded' || status.current?.version !== status.previous?.version)) failures.push(`Deploy ${plan.name}: RolledBack with rollback ${JSON.stringify(status.rollback?.state)}, current ${String(status.current?.version)}, previous ${String(status.previous?.version)}`);
  }

  const checkerKeys = new Set(landed.filter((call) => call.target === 'checker').map((call) => call.idempotencyKey));
  const jobsByKey = new Map(Object.entries(writes.jobs).map(([name, job]) => [job.idempotencyKey, name]));
  const sweeps = new Map(observations.sweeps.map((object) => [object.metadata.name, object]));
  for (const plan of observations.workload.sweeps) {
    const object = sweeps.get(plan.name);
    const runId = object?.status?.workflow?.id ?? '';
    const [uid = '', generation = '0', run = ''] = runId.split('/');
    for (const unit of object?.status?.results ?? []) {
      if (unit.state !== 'Passed' && unit.state !== 'Failed') continue;
      const check = plan.checks.find((candidate) => candidate.name === unit.check);
      const key = idempotencyKey({ uid, generation: Number(generation), run, step: 'checks', unit: `${unit.repository}/${unit.check}:start` });
      if (check?.runner === 'http' && !checkerKeys.has(key)) failures.push(`Sweep ${plan.name}: unit ${unit.repository}/${unit.check} is ${unit.state} but no checker call of run ${run} landed`);
      if (check?.runner === 'job' && jobsByKey.get(key) !== unit.jobName) failures.push(`Sweep ${plan.name}: unit ${unit.repository}/${unit.check} names Job ${String(unit.jobName)}, the API server created ${String(jobsByKey.get(key))} for its key`);
    }
  }
  const rewritten = Object.entries(observations.quietCommits).filter(([, count]) => count > 0);
  for (const [object, count] of rewritten) failures.push(`${object}: ${count} status writes after it had settled (a hot loop)`);
  return result('no status update was lost', failures, `${observations.writes.kinds.deploys.statusCommits + observations.writes.kinds.sweeps.statusCommits} status commits checked for regressions; revisions, versions, units and Jobs agree with the providers; no write after settling`);
}

/** Writes at the API server per effective change, per kind. Holds when neither kind wastes writes. */
export function checkWritesPerChange(writes: WriteReport): InvariantResult {
  const failures: string[] = [];
  const lines: string[] = [];
  for (const [kind, counts] of Object.entries(writes.kinds) as ['deploys' | 'sweeps', KindWrites][]) {
    const perCommit = counts.statusRequests / Math.max(1, counts.statusCommits);
    const perTransition = counts.statusCommits / Math.max(1, counts.transitions);
    lines.push(
      `${kind}: ${counts.statusRequests} status writes sent, ${counts.statusCommits} committed (${perCommit.toFixed(2)} sent per commit); ${counts.transitions} step/unit transitions, ${counts.polls} polls, ${counts.fieldCommits} commits of the resource's own fields, ${counts.otherCommits} of derived fields only${counts.otherCommits + counts.fieldCommits > 0 ? ` (${Object.entries(counts.changedFields).map(([field, count]) => `${field} ${count}`).join(', ')})` : ''}; ${perTransition.toFixed(2)} commits per transition`,
    );
    // Each commit carries a transition, a poll (ADR 005: one write each) or a field of the resource's own (the
    // Deploy records what runs before it changes anything); one that changes only conditions or the phase, which
    // are derived from the rest, is a write the design does not account for.
    if (counts.otherCommits > counts.statusCommits * 0.02) failures.push(`${kind}: ${counts.otherCommits} of ${counts.statusCommits} status commits changed only derived fields (conditions, phase)`);
    // Sends that do not commit are conflicts, injected failures and writes of an unchanged status.
    if (perCommit > 1.5) failures.push(`${kind}: ${perCommit.toFixed(2)} status writes sent per commit`);
  }
  return result('writes per effective change stay at one per transition or poll', failures, lines.join('\n'));
}

/** Peak resident memory of each process within its bound. */
export function checkMemory(memory: readonly MemoryFigure[]): InvariantResult {
  const failures = memory.filter((figure) => figure.peakBytes > figure.boundBytes).map((figure) => `${figure.label}: peak ${mib(figure.peakBytes)} over its bound ${mib(figure.boundBytes)} (${figure.why})`);
  return result('resident memory stayed bounded', failures, memory.map((figure) => `${figure.label} ${mib(figure.peakBytes)} (bound ${mib(figure.boundBytes)})`).join(', '));
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** The canary never appears where secrets must not go, and the soak did expose it (else the check proves nothing). */
export function checkCanary(findings: readonly CanaryFinding[], canaryBodies: number): InvariantResult {
  const failures = findings.filter((finding) => finding.matches > 0).map((finding) => `${finding.source}: ${finding.matches} occurrences, first: ${String(finding.sample)}`);
  if (canaryBodies === 0) failures.push('no error body quoted a secret: the canary was never exposed');
  const bytes = findings.reduce((sum, finding) => sum + finding.bytes, 0);
  return result('no secret in logs, Events, status, CloudEvents or audit records', failures, `${findings.length} sources, ${mib(bytes)} scanned (${findings.map((finding) => finding.source).join(', ')}); ${canaryBodies} error bodies quoted a secret`);
}

/** Sensitive Deploys have an intact audit chain that records their last run's end. */
export function checkAudit(workload: Workload, deploys: readonly FinalObject[], audit: ReadonlyMap<string, readonly AuditRecord[]>, chainOf: (name: string) => string): InvariantResult {
  const failures: string[] = [];
  let records = 0;
  const objects = new Map(deploys.map((object) => [object.metadata.name, object]));
  const sensitive = workload.deploys.filter((plan) => plan.sensitive);
  for (const plan of sensitive) {
    const chain = audit.get(chainOf(plan.name)) ?? [];
    records += chain.length;
    const verification = verifyAuditChain(chain);
    if (!verification.valid) failures.push(`Deploy ${plan.name}: audit chain broken: ${verification.message}`);
    const generation = objects.get(plan.name)?.metadata.generation;
    if (!chain.some((record) => record.action === 'workflow.finished' && record.generation === generation)) failures.push(`Deploy ${plan.name}: no audit record of generation ${String(generation)} finishing (${chain.length} records)`);
  }
  return result('audit chains of sensitive Deploys are intact and complete', failures, `${sensitive.length} chains, ${records} records`);
}

/** The processes ran as told: nothing crashed, everything stopped cleanly, the API server had no internal error. */
export function checkProcesses(problems: readonly string[]): InvariantResult {
  return result('no process crashed, every process stopped cleanly', [...problems], problems.length === 0 ? 'operators, API server and Redis' : `${problems.length} problems`);
}

/** Every invariant of the soak, in the order the report prints them. */
export function checkAll(observations: Observations, chainOf: (name: string) => string): InvariantResult[] {
  return [
    checkFinalStates(observations),
    checkExactlyOnce(observations),
    checkNoLostUpdate(observations),
    checkWritesPerChange(observations.writes),
    checkMemory(observations.memory),
    checkCanary(observations.canary, observations.canaryBodies),
    checkAudit(observations.workload, observations.deploys, observations.audit, chainOf),
    checkProcesses(observations.processProblems),
  ];
}
