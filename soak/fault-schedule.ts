// The soak's faults: what can go wrong, and a schedule of them drawn from the seed alone (same seed, same schedule).
import { SeededRandom } from './seeded-random.ts';

export type ProviderTarget = 'webhook' | 'railway' | 'checker';
export type BurstCode = 409 | 429 | 500 | 503;

/** One fault, `atMs` after the fault phase started. */
export type Fault =
  /** Every open watch stream of the API server is closed; clients resume from their last resourceVersion. */
  | { readonly kind: 'watch-drop'; readonly atMs: number }
  /** The API server's history is compacted and watches are closed: resuming clients get 410 Gone and relist. */
  | { readonly kind: 'compact'; readonly atMs: number }
  /** The next `count` API requests matching verb and resource fail with `code`. */
  | { readonly kind: 'api-burst'; readonly atMs: number; readonly code: BurstCode; readonly verb: string; readonly resource: string; readonly count: number; readonly retryAfterSeconds?: number }
  /** Every API request waits `latencyMs` for `durationMs`. */
  | { readonly kind: 'latency'; readonly atMs: number; readonly latencyMs: number; readonly durationMs: number }
  /** The operator holding the Lease gets SIGKILL; it starts again after `downMs`, as the same pod or a new one. */
  | { readonly kind: 'kill-leader'; readonly atMs: number; readonly downMs: number; readonly sameIdentity: boolean }
  /** Redis gets SIGKILL and starts again after `downMs` (its append-only file keeps what was written). */
  | { readonly kind: 'redis-restart'; readonly atMs: number; readonly downMs: number }
  /** A provider answers every request with `status` (and an error body quoting its secret) for `durationMs`. */
  | { readonly kind: 'provider-storm'; readonly atMs: number; readonly target: ProviderTarget; readonly status: number; readonly durationMs: number }
  /** Health endpoints of healthy services answer 503 for `durationMs`. */
  | { readonly kind: 'health-flip'; readonly atMs: number; readonly durationMs: number };

export type FaultKind = Fault['kind'];

export const FAULT_KINDS: readonly FaultKind[] = ['watch-drop', 'compact', 'api-burst', 'latency', 'kill-leader', 'redis-restart', 'provider-storm', 'health-flip'];

/**
 * The longest health flip. Healthy services probe every second and fail after 5 unhealthy probes in a row
 * (see workload.ts): a flip of at most 2 s gives at most 3 unhealthy probes, so it never fails a verification.
 */
export const MAX_HEALTH_FLIP_MS = 2_000;

interface Rate {
  /** Mean time between two faults of the kind. */
  readonly meanGapMs: number;
  /** Earliest first occurrence. */
  readonly firstAfterMs: number;
}

/** How often each kind strikes: the fault phase sees every kind at least once from two minutes on. */
const RATES: Readonly<Record<FaultKind, Rate>> = {
  'watch-drop': { meanGapMs: 40_000, firstAfterMs: 8_000 },
  compact: { meanGapMs: 75_000, firstAfterMs: 20_000 },
  'api-burst': { meanGapMs: 12_000, firstAfterMs: 5_000 },
  latency: { meanGapMs: 60_000, firstAfterMs: 15_000 },
  'kill-leader': { meanGapMs: 70_000, firstAfterMs: 25_000 },
  'redis-restart': { meanGapMs: 150_000, firstAfterMs: 45_000 },
  'provider-storm': { meanGapMs: 45_000, firstAfterMs: 10_000 },
  'health-flip': { meanGapMs: 60_000, firstAfterMs: 12_000 },
};

/**
 * API requests a burst fails: the operator's status writes and reads, its provider and runner calls, the Lease,
 * Events. A 500 has no Retry-After, so the client does not retry it: a status write it fails after a step ran
 * costs that step an attempt (ADR 005: a step found Running was interrupted), so 500s come at most two at a
 * time there. 409s are retried by the status writer (5 times), 429s and 503s by the client after Retry-After.
 */
const BURST_TARGETS: readonly (readonly [{ verb: string; resource: string; counts: Readonly<Partial<Record<BurstCode, number>>> }, number])[] = [
  [{ verb: 'patch', resource: 'deploys/status', counts: { 409: 6, 500: 2, 503: 4, 429: 4 } }, 5],
  [{ verb: 'patch', resource: 'sweeps/status', counts: { 409: 6, 500: 2, 503: 4, 429: 4 } }, 4],
  [{ verb: 'get', resource: 'deploys', counts: { 500: 3, 503: 3 } }, 1],
  [{ verb: 'list', resource: 'deploys', counts: { 500: 3, 503: 3, 429: 3 } }, 1],
  [{ verb: 'watch', resource: 'sweeps', counts: { 500: 3, 503: 3, 429: 3 } }, 1],
  [{ verb: 'watch', resource: 'jobs', counts: { 500: 2, 503: 2 } }, 1],
  [{ verb: 'patch', resource: 'deployments', counts: { 409: 4, 500: 2, 503: 4 } }, 2],
  [{ verb: 'update', resource: 'deployments', counts: { 409: 3, 500: 2 } }, 1],
  [{ verb: 'get', resource: 'deployments', counts: { 500: 3, 503: 3 } }, 1],
  [{ verb: 'create', resource: 'jobs', counts: { 500: 2, 503: 3, 429: 3 } }, 2],
  [{ verb: 'get', resource: 'secrets', counts: { 500: 2, 503: 2 } }, 1],
  [{ verb: 'patch', resource: 'deploys', counts: { 409: 2, 500: 2 } }, 1],
  [{ verb: 'update', resource: 'leases', counts: { 500: 2, 503: 2 } }, 1],
  [{ verb: 'create', resource: 'events', counts: { 500: 5, 429: 5 } }, 1],
];

/** The faults of one kind: each one's time and parameters drawn in turn, so a shorter phase gets a prefix of them. */
function occurrences(kind: FaultKind, random: SeededRandom, durationMs: number): Fault[] {
  const rate = RATES[kind];
  const faults: Fault[] = [];
  let at = rate.firstAfterMs + random.between(0, rate.meanGapMs / 2);
  while (at < durationMs) {
    faults.push(drawFault(kind, Math.round(at), random));
    at += random.between(rate.meanGapMs * 0.5, rate.meanGapMs * 1.5);
  }
  return faults;
}

export interface ScheduleOptions {
  /** Whether Redis can be restarted (a private redis-server); without it no `redis-restart` is scheduled. */
  readonly redisRestarts: boolean;
}

/**
 * The faults of a fault phase of `durationMs`, in time order, from `seed` alone: each kind draws from its own
 * stream, so the schedule does not depend on the workload or on what happened during the run, and a shorter
 * phase of the same seed sees the first faults of a longer one.
 */
export function faultSchedule(seed: string | number, durationMs: number, options: ScheduleOptions): Fault[] {
  const root = new SeededRandom(seed).derive('faults');
  const faults: Fault[] = [];
  for (const kind of FAULT_KINDS) {
    if (kind === 'redis-restart' && !options.redisRestarts) continue;
    faults.push(...occurrences(kind, root.derive(kind), durationMs));
  }
  return faults.sort((a, b) => a.atMs - b.atMs || FAULT_KINDS.indexOf(a.kind) - FAULT_KINDS.indexOf(b.kind));
}

function drawFault(kind: FaultKind, atMs: number, random: SeededRandom): Fault {
  switch (kind) {
    case 'watch-drop':
    case 'compact':
      return { kind, atMs };
    case 'api-burst': {
      const target = random.weighted(BURST_TARGETS);
      const code = random.pick(Object.keys(target.counts).map(Number) as BurstCode[]);
      return { kind, atMs, code, verb: target.verb, resource: target.resource, count: random.int(1, target.counts[code] ?? 1), ...(code === 429 || code === 503 ? { retryAfterSeconds: random.int(1, 2) } : {}) };
    }
    case 'latency':
      return { kind, atMs, latencyMs: random.int(20, 250), durationMs: random.int(4_000, 15_000) };
    case 'kill-leader':
      return { kind, atMs, downMs: random.int(500, 8_000), sameIdentity: random.chance(0.5) };
    case 'redis-restart':
      return { kind, atMs, downMs: random.int(300, 3_000) };
    case 'provider-storm':
      return { kind, atMs, target: random.pick(['webhook', 'railway', 'checker'] as const), status: random.pick([500, 502, 503]), durationMs: random.int(2_000, 8_000) };
    case 'health-flip':
      return { kind, atMs, durationMs: random.int(800, MAX_HEALTH_FLIP_MS) };
  }
}

/** One line for humans: `t+12.3s api-burst 409 x4 patch deploys/status`. */
export function describeFault(fault: Fault): string {
  const at = `t+${(fault.atMs / 1000).toFixed(1)}s`.padEnd(9);
  switch (fault.kind) {
    case 'watch-drop':
      return `${at} watch-drop      close every watch`;
    case 'compact':
      return `${at} compact         history compacted, watches closed (410 on resume)`;
    case 'api-burst':
      return `${at} api-burst       ${fault.code} x${fault.count} ${fault.verb} ${fault.resource}${fault.retryAfterSeconds === undefined ? '' : ` (Retry-After ${fault.retryAfterSeconds}s)`}`;
    case 'latency':
      return `${at} latency         +${fault.latencyMs} ms on every request for ${(fault.durationMs / 1000).toFixed(1)}s`;
    case 'kill-leader':
      return `${at} kill-leader     SIGKILL, back after ${(fault.downMs / 1000).toFixed(1)}s as ${fault.sameIdentity ? 'the same pod' : 'a new pod'}`;
    case 'redis-restart':
      return `${at} redis-restart   SIGKILL, back after ${(fault.downMs / 1000).toFixed(1)}s`;
    case 'provider-storm':
      return `${at} provider-storm  ${fault.target} answers ${fault.status} for ${(fault.durationMs / 1000).toFixed(1)}s`;
    case 'health-flip':
      return `${at} health-flip     healthy services answer 503 for ${(fault.durationMs / 1000).toFixed(1)}s`;
  }
}
