// The idempotency store seam: claim a key before a side effect, record its result after, so it happens once per key.
import { DeferredError } from './classify-failure.ts';

/** Completed results are kept this long by default (24 h). */
export const DEFAULT_RESULT_TTL_MS = 24 * 60 * 60 * 1000;

/** The answer to a claim. */
export type ClaimResult =
  /** The caller now holds the key until `ttlMs` passes: it may run the side effect. */
  | { readonly status: 'claimed' }
  /** The side effect already ran for this key; here is its recorded result. Do not run it again. */
  | { readonly status: 'completed'; readonly owner: string; readonly result: unknown; readonly completedAt: number }
  /** Someone (possibly the caller itself) holds a live claim; it ends in `expiresInMs` unless completed first. */
  | { readonly status: 'held'; readonly owner: string; readonly expiresInMs: number };

/** The answer to a completion. */
export type CompleteResult =
  /** The caller's result is recorded. */
  | { readonly status: 'completed' }
  /** Another run recorded a result first; this is the one that counts. */
  | { readonly status: 'already-completed'; readonly owner: string; readonly result: unknown }
  /** Another owner holds a live claim (the caller's claim had expired): nothing was recorded. */
  | { readonly status: 'not-owner'; readonly owner: string; readonly expiresInMs: number };

export type IdempotencyRecord =
  | { readonly state: 'claimed'; readonly owner: string; readonly claimedAt: number; readonly expiresInMs: number }
  | { readonly state: 'completed'; readonly owner: string; readonly completedAt: number; readonly result: unknown; readonly expiresInMs: number };

/**
 * Where claims and results live: in memory for the embedded single-replica mode, in Redis otherwise.
 *
 * Guarantees of every implementation:
 * - At most one `claim` of a key succeeds while its claim is live, across every client of the store.
 * - `complete` and `release` act only for the current owner of a live claim (`complete` also when the
 *   claim has expired and no one else has claimed since); a completed record is never overwritten.
 * - Results are stored as JSON (`undefined` becomes `null`) and kept for the completion's TTL.
 * - When the backing service cannot be reached, calls fail fast with {@link IdempotencyUnavailableError}.
 */
export interface IdempotencyStore {
  /** Names the store in metrics (`memory`, `redis`). */
  readonly kind: string;
  claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult>;
  complete(key: string, owner: string, result: unknown, ttlMs?: number): Promise<CompleteResult>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /** Drops the caller's live claim so the key can be claimed again; false when it held none. */
  release(key: string, owner: string): Promise<boolean>;
}

/** The parts an idempotency key is derived from: one key per side effect of a resource's generation. */
export interface IdempotencyKeyParts {
  readonly uid: string;
  readonly generation: number;
  readonly step: string;
  /** The fan-out unit, or the name of the side effect within a step. */
  readonly unit: string;
}

/**
 * The idempotency key of a side effect: `<uid>/<generation>/<step>/<unit>`, each part percent-encoded so
 * no part can run into the next. Stable across restarts and replicas; short enough for provider headers.
 */
export function idempotencyKey(parts: IdempotencyKeyParts): string {
  if (!Number.isInteger(parts.generation) || parts.generation < 0) throw new RangeError(`generation must be a whole number, got ${parts.generation}`);
  return [parts.uid, String(parts.generation), parts.step, parts.unit].map((part) => encodeURIComponent(part)).join('/');
}

/** The store could not be reached (or its breaker is open); nothing was claimed or recorded. Come back later. */
export class IdempotencyUnavailableError extends DeferredError {
  override name = 'IdempotencyUnavailableError';

  constructor(message: string, retryAfterMs: number, options: { readonly cause?: unknown } = {}) {
    super('store-unavailable', message, retryAfterMs, options);
  }
}

/** Another run holds the key's claim; the side effect must not run now. Come back when the claim ends. */
export class IdempotencyHeldError extends DeferredError {
  override name = 'IdempotencyHeldError';
  readonly key: string;
  readonly owner: string;

  constructor(key: string, owner: string, expiresInMs: number) {
    super('claim-held', `idempotency key ${key} is held by another run for ${expiresInMs} ms`, expiresInMs);
    this.key = key;
    this.owner = owner;
  }
}

export const isIdempotencyUnavailable = (error: unknown): error is IdempotencyUnavailableError => error instanceof IdempotencyUnavailableError;
export const isIdempotencyHeld = (error: unknown): error is IdempotencyHeldError => error instanceof IdempotencyHeldError;

/** Serialises a result the way every store keeps it (JSON; `undefined` becomes `null`). */
export function encodeResult(result: unknown): string {
  return JSON.stringify(result === undefined ? null : result);
}
