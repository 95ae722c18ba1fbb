// Counts, at the API server, what the operator wrote: status writes against step transitions, lost updates, rollouts and Jobs per key.

/** A committed change as the devcluster's store reports it (JSON of the object after, and before). */
export interface CommittedChange {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly bucket: string;
  readonly json: string;
  readonly prevJson: string | undefined;
}

/** An API request as the devcluster hears it. */
export interface HeardRequest {
  readonly verb: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
}

export interface KindWrites {
  /** PATCH or PUT on `/status`, answered or not. */
  statusRequests: number;
  /** Writes that changed the status (a write that changes nothing commits nothing). */
  statusCommits: number;
  /** Steps and Sweep units that changed state (Pending, Running, Waiting, Succeeded, ...), summed over commits. */
  transitions: number;
  /** Commits that changed the workflow without a state change: a poll (rollout, health, Job) or a retry's schedule. */
  polls: number;
  /** Commits that changed none of those but the resource's own fields (`previous`, `current`, `rollback`, ...). */
  fieldCommits: number;
  /** Commits that changed only what is derived from the rest: conditions, phase, observedGeneration. */
  otherCommits: number;
  /** Top-level status fields changed by field and other commits, for the report. */
  changedFields: Record<string, number>;
  /** Commits of the spec (new generations) and of metadata only (finalizers, annotations). */
  specCommits: number;
  metadataCommits: number;
}

export interface WriteReport {
  /** Requests per `verb resource[/subresource]`. */
  readonly requests: Record<string, number>;
  readonly kinds: Record<'deploys' | 'sweeps', KindWrites>;
  /** Status commits per object (`deploys/<namespace>/<name>`). */
  readonly statusCommitsByObject: Record<string, number>;
  /** Lost updates: a committed status older than one committed before it (see {@link WriteLedger}). */
  readonly regressions: string[];
  /** Deployment pod-template changes per `deploy:<key>` or `rollback:<key>`, and `unkeyed` for any other. */
  readonly templateChanges: Record<string, number>;
  /** Job creations per Job name, with its idempotency key. */
  readonly jobs: Record<string, { readonly created: number; readonly idempotencyKey: string; readonly labels: Record<string, string> }>;
}

const DEPLOY_KEY_ANNOTATION = 'operator.blackroad.io/deploy-key';
const ROLLBACK_KEY_ANNOTATION = 'operator.blackroad.io/rollback-key';
const JOB_KEY_ANNOTATION = 'operator.blackroad.io/idempotency-key';
const FINAL_STEP = new Set(['Succeeded', 'Failed', 'Skipped']);
const FINAL_UNIT = new Set(['Passed', 'Failed', 'Errored', 'Skipped']);
const MAX_REGRESSIONS = 200;
/** Status fields computed from the rest (ADR 010's compose): a commit changing only these moved nothing. */
const DERIVED_FIELDS = new Set(['conditions', 'phase', 'observedGeneration']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((key) => deepEqual((a as Obj)[key], (b as Obj)[key]));
}

const objectAt = (value: Json | undefined): Obj | undefined => (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined);
const listAt = (value: Json | undefined): Obj[] => (Array.isArray(value) ? (value.filter((item) => objectAt(item) !== undefined) as Obj[]) : []);

interface Step {
  readonly state: string;
  readonly attempts: number;
}

function stepsOf(workflow: Obj | undefined): Map<string, Step> {
  return new Map(listAt(workflow?.['steps']).map((step) => [String(step['name']), { state: String(step['state']), attempts: Number(step['attempts'] ?? 0) }]));
}

function unitsOf(status: Obj | undefined): Map<string, string> {
  return new Map(listAt(status?.['results']).map((result) => [`${String(result['repository'])}/${String(result['check'])}`, String(result['state'])]));
}

function emptyKind(): KindWrites {
  return { statusRequests: 0, statusCommits: 0, transitions: 0, polls: 0, fieldCommits: 0, otherCommits: 0, changedFields: {}, specCommits: 0, metadataCommits: 0 };
}

/**
 * Counts the writes of Deploys and Sweeps, Deployment rollouts and Jobs as the API server commits them.
 *
 * Guarantees: a lost status update shows as a regression: within one workflow run, a step or unit that reached
 * a final state leaving it, a step's attempts going down, a finished run becoming unfinished, or the status
 * going back to a run (workflow id) it had already left, or to an older observedGeneration.
 */
export class WriteLedger {
  readonly #requests = new Map<string, number>();
  readonly #kinds = { deploys: emptyKind(), sweeps: emptyKind() };
  readonly #statusCommits = new Map<string, number>();
  readonly #regressions: string[] = [];
  #regressionCount = 0;
  readonly #seenRuns = new Map<string, Set<string>>();
  readonly #templateChanges = new Map<string, number>();
  readonly #jobs = new Map<string, { created: number; idempotencyKey: string; labels: Record<string, string> }>();

  /** One request the API server received. */
  request(request: HeardRequest): void {
    const what = `${request.verb} ${request.resource}${request.subresource === '' ? '' : `/${request.subresource}`}`;
    this.#requests.set(what, (this.#requests.get(what) ?? 0) + 1);
    if (request.subresource === 'status' && (request.verb === 'patch' || request.verb === 'update') && (request.resource === 'deploys' || request.resource === 'sweeps')) this.#kinds[request.resource].statusRequests++;
  }

  /** One committed change. */
  commit(change: CommittedChange): void {
    const plural = change.bucket.slice(change.bucket.indexOf('/') + 1);
    if (change.bucket === 'operator.blackroad.io/deploys' || change.bucket === 'operator.blackroad.io/sweeps') this.#resource(plural as 'deploys' | 'sweeps', change);
    else if (change.bucket === 'apps/deployments' && change.type === 'MODIFIED') this.#deployment(change);
    else if (change.bucket === 'batch/jobs' && change.type === 'ADDED') this.#job(change);
  }

  #regression(message: string): void {
    this.#regressionCount++;
    if (this.#regressions.length < MAX_REGRESSIONS) this.#regressions.push(message);
  }

  #resource(plural: 'deploys' | 'sweeps', change: CommittedChange): void {
    if (change.type !== 'MODIFIED' || change.prevJson === undefined) return;
    const next = JSON.parse(change.json) as Obj;
    const prev = JSON.parse(change.prevJson) as Obj;
    const kind = this.#kinds[plural];
    const meta = objectAt(next['metadata']);
    const id = `${plural}/${String(meta?.['namespace'])}/${String(meta?.['name'])}`;
    const prevStatus = objectAt(prev['status']);
    const nextStatus = objectAt(next['status']);
    if (deepEqual(prevStatus, nextStatus)) {
      if (objectAt(prev['metadata'])?.['generation'] !== meta?.['generation']) kind.specCommits++;
      else kind.metadataCommits++;
      return;
    }
    kind.statusCommits++;
    this.#statusCommits.set(id, (this.#statusCommits.get(id) ?? 0) + 1);
    const prevWorkflow = objectAt(prevStatus?.['workflow']);
    const nextWorkflow = objectAt(nextStatus?.['workflow']);
    const prevRun = String(prevWorkflow?.['id'] ?? '');
    const nextRun = String(nextWorkflow?.['id'] ?? '');
    const prevObserved = Number(prevStatus?.['observedGeneration'] ?? 0);
    const nextObserved = Number(nextStatus?.['observedGeneration'] ?? 0);
    if (nextObserved < prevObserved) this.#regression(`${id}: observedGeneration went from ${prevObserved} back to ${nextObserved}`);

    let transitions = 0;
    const prevSteps = prevRun === nextRun ? stepsOf(prevWorkflow) : new Map<string, Step>();
    for (const [name, step] of stepsOf(nextWorkflow)) {
      const before = prevSteps.get(name);
      if (before === undefined ? step.state !== 'Pending' : before.state !== step.state) transitions++;
      if (before === undefined) continue;
      if (FINAL_STEP.has(before.state) && before.state !== step.state) this.#regression(`${id}: step ${name} of run ${nextRun} went from ${before.state} back to ${step.state}`);
      if (step.attempts < before.attempts) this.#regression(`${id}: step ${name} of run ${nextRun} went from ${before.attempts} attempts back to ${step.attempts}`);
    }
    const prevUnits = prevRun === nextRun ? unitsOf(prevStatus) : new Map<string, string>();
    for (const [unit, state] of unitsOf(nextStatus)) {
      const before = prevUnits.get(unit);
      if (before === undefined ? state !== 'Pending' : before !== state) transitions++;
      if (before !== undefined && FINAL_UNIT.has(before) && before !== state) this.#regression(`${id}: unit ${unit} of run ${nextRun} went from ${before} back to ${state}`);
    }
    if (prevRun === nextRun && prevWorkflow?.['finishedAt'] !== undefined && nextWorkflow?.['finishedAt'] === undefined) this.#regression(`${id}: run ${nextRun} was finished and is not any more`);
    if (prevRun !== nextRun && nextRun !== '') {
      const seen = this.#seenRuns.get(id) ?? new Set<string>();
      if (seen.has(nextRun)) this.#regression(`${id}: the status went back to run ${nextRun} after ${prevRun}`);
      if (prevRun !== '') seen.add(prevRun);
      this.#seenRuns.set(id, seen);
    }

    kind.transitions += transitions;
    if (transitions > 0) return;
    if (!deepEqual(prevWorkflow, nextWorkflow) || !deepEqual(prevStatus?.['results'], nextStatus?.['results']) || !deepEqual(prevStatus?.['health'], nextStatus?.['health'])) {
      kind.polls++;
      return;
    }
    const changed = [...new Set([...Object.keys(prevStatus ?? {}), ...Object.keys(nextStatus ?? {})])].filter((key) => !deepEqual(prevStatus?.[key], nextStatus?.[key]));
    for (const key of changed) kind.changedFields[key] = (kind.changedFields[key] ?? 0) + 1;
    if (changed.some((key) => !DERIVED_FIELDS.has(key))) kind.fieldCommits++;
    else kind.otherCommits++;
  }

  #deployment(change: CommittedChange): void {
    if (change.prevJson === undefined) return;
    const next = JSON.parse(change.json) as Obj;
    const prev = JSON.parse(change.prevJson) as Obj;
    if (deepEqual(objectAt(objectAt(prev['spec'])?.['template']), objectAt(objectAt(next['spec'])?.['template']))) return;
    const annotation = (obj: Obj, key: string): string | undefined => {
      const value = objectAt(objectAt(obj['metadata'])?.['annotations'])?.[key];
      return typeof value === 'string' ? value : undefined;
    };
    const deployKey = annotation(next, DEPLOY_KEY_ANNOTATION);
    const rollbackKey = annotation(next, ROLLBACK_KEY_ANNOTATION);
    let key = 'unkeyed';
    if (rollbackKey !== undefined && rollbackKey !== annotation(prev, ROLLBACK_KEY_ANNOTATION)) key = `rollback:${rollbackKey}`;
    else if (deployKey !== undefined && deployKey !== annotation(prev, DEPLOY_KEY_ANNOTATION)) key = `deploy:${deployKey}`;
    this.#templateChanges.set(key, (this.#templateChanges.get(key) ?? 0) + 1);
  }

  #job(change: CommittedChange): void {
    const job = JSON.parse(change.json) as Obj;
    const meta = objectAt(job['metadata']);
    const name = String(meta?.['name']);
    const key = objectAt(meta?.['annotations'])?.[JOB_KEY_ANNOTATION];
    const labels = Object.fromEntries(Object.entries(objectAt(meta?.['labels']) ?? {}).map(([label, value]) => [label, String(value)]));
    const entry = this.#jobs.get(name) ?? { created: 0, idempotencyKey: typeof key === 'string' ? key : '', labels };
    entry.created++;
    this.#jobs.set(name, entry);
  }

  report(): WriteReport {
    const regressions = [...this.#regressions];
    if (this.#regressionCount > regressions.length) regressions.push(`... and ${this.#regressionCount - regressions.length} more`);
    return {
      requests: Object.fromEntries(this.#requests),
      kinds: { deploys: { ...this.#kinds.deploys, changedFields: { ...this.#kinds.deploys.changedFields } }, sweeps: { ...this.#kinds.sweeps, changedFields: { ...this.#kinds.sweeps.changedFields } } },
      statusCommitsByObject: Object.fromEntries(this.#statusCommits),
      regressions,
      templateChanges: Object.fromEntries(this.#templateChanges),
      jobs: Object.fromEntries([...this.#jobs].map(([name, entry]) => [name, { ...entry }])),
    };
  }
}
