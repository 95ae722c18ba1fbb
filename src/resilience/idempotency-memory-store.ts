// The in-memory idempotency store: the embedded default without REDIS_URL, safe for one replica while its process lives.
import type { Clock } from './clock.ts';
import { DEFAULT_RESULT_TTL_MS, encodeResult, type ClaimResult, type CompleteResult, type IdempotencyRecord, type IdempotencyStore } from './idempotency-store.ts';
import type { ResilienceMetrics } from './resilience-metrics.ts';

interface Entry {
  readonly state: 'claimed' | 'completed';
  readonly owner: string;
  /** When it was claimed or completed. */
  readonly atMs: number;
  readonly expiresAtMs: number;
  /** The JSON of a completed result. */
  readonly resultJson?: string;
}

/** Expired entries are swept every this many operations, so memory stays bounded without timers. */
const SWEEP_EVERY = 1024;

/**
 * An {@link IdempotencyStore} in a Map, with TTLs on the injected clock.
 *
 * Assumptions: one operator process. Claims do not survive a restart, so after one the guarantee
 * against a repeated side effect rests on the provider's key-based de-duplication (see ADR 005).
 */
export class IdempotencyMemoryStore implements IdempotencyStore {
  readonly kind = 'memory';
  readonly #clock: Clock;
  readonly #metrics: ResilienceMetrics | undefined;
  readonly #entries = new Map<string, Entry>();
  #operations = 0;

  constructor(options: { readonly clock: Clock; readonly metrics?: ResilienceMetrics }) {
    this.#clock = options.clock;
    this.#metrics = options.metrics;
  }

  /** Live entries (for tests and the debug view). */
  get size(): number {
    this.#sweep(true);
    return this.#entries.size;
  }

  async claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    if (entry === undefined) {
      this.#entries.set(key, { state: 'claimed', owner, atMs: now, expiresAtMs: now + ttlMs });
      this.#metrics?.idempotencyClaim(this.kind, 'miss');
      return { status: 'claimed' };
    }
    if (entry.state === 'completed') {
      this.#metrics?.idempotencyClaim(this.kind, 'hit');
      return { status: 'completed', owner: entry.owner, result: JSON.parse(entry.resultJson ?? 'null'), completedAt: entry.atMs };
    }
    this.#metrics?.idempotencyClaim(this.kind, 'contended');
    return { status: 'held', owner: entry.owner, expiresInMs: entry.expiresAtMs - now };
  }

  async complete(key: string, owner: string, result: unknown, ttlMs = DEFAULT_RESULT_TTL_MS): Promise<CompleteResult> {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    if (entry?.state === 'completed') return { status: 'already-completed', owner: entry.owner, result: JSON.parse(entry.resultJson ?? 'null') };
    if (entry !== undefined && entry.owner !== owner) return { status: 'not-owner', owner: entry.owner, expiresInMs: entry.expiresAtMs - now };
    this.#entries.set(key, { state: 'completed', owner, atMs: now, expiresAtMs: now + ttlMs, resultJson: encodeResult(result) });
    return { status: 'completed' };
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    if (entry === undefined) return undefined;
    const expiresInMs = entry.expiresAtMs - now;
    return entry.state === 'claimed'
      ? { state: 'claimed', owner: entry.owner, claimedAt: entry.atMs, expiresInMs }
      : { state: 'completed', owner: entry.owner, completedAt: entry.atMs, result: JSON.parse(entry.resultJson ?? 'null'), expiresInMs };
  }

  async release(key: string, owner: string): Promise<boolean> {
    const entry = this.#live(key, this.#clock.now());
    if (entry?.state !== 'claimed' || entry.owner !== owner) return false;
    this.#entries.delete(key);
    return true;
  }

  #live(key: string, now: number): Entry | undefined {
    this.#sweep(false);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.expiresAtMs > now) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  #sweep(force: boolean): void {
    this.#operations += 1;
    if (!force && this.#operations % SWEEP_EVERY !== 0) return;
    const now = this.#clock.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAtMs <= now) this.#entries.delete(key);
  }
}
