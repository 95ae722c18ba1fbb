// The tamper-evident audit log of compliance-sensitive resources: hash-chained records per resource, and their verification.
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../observability/metrics.ts';
import { redact, type SecretMask } from '../observability/redact.ts';
import type { Clock } from '../resilience/clock.ts';
import { auditRecordHash, auditRecordSchema, GENESIS_HASH, type AuditRecord } from './audit-record.ts';
import { isMalformedAuditRecordError, type AuditAppendResult, type AuditHead, type AuditStore } from './audit-store.ts';
import { describeIssues } from './cloud-event.ts';
import type { DomainEvents } from './domain-events.ts';
import { eventMetrics, type EventMetrics } from './event-metrics.ts';
import { apiPath, objectReference, type ResourceRef } from './resource-ref.ts';

const MESSAGE_MAX_CHARS = 1024;
const DEFAULT_MAX_APPEND_ATTEMPTS = 10;

/** One step transition (or decision) of a compliance-sensitive resource, as the caller describes it. */
export interface AuditEntry {
  /** The resource; its API path names the chain. */
  readonly resource: ResourceRef;
  /** Who: the operator's identity for automatic steps, the approver for an approval. */
  readonly actor: string;
  /** What: `step.<name>` for a step transition, or a decision such as `approval.granted`. */
  readonly action: string;
  readonly step?: string;
  /** The step's new state (`Running`, `Succeeded`, `Failed`, ...) or the decision. */
  readonly outcome: string;
  readonly generation?: number;
  readonly correlationId?: string;
  readonly message?: string;
  /** Flat facts worth keeping (version, provider, revision); redacted like everything else. */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** Why a chain failed verification. */
export type AuditProblem = 'malformed' | 'foreign-record' | 'hash-mismatch' | 'broken-link' | 'out-of-sequence' | 'truncated' | 'anchor-mismatch';

export type AuditVerification =
  | { readonly valid: true; readonly length: number; readonly head: AuditHead }
  | {
      readonly valid: false;
      /** Position (0-based) of the first record that is wrong; the chain length for `truncated`, -1 for `malformed`. */
      readonly index: number;
      readonly problem: AuditProblem;
      readonly message: string;
    };

/** An audit record could not be stored; the step that wrote it must not go on as if it had been. */
export class AuditAppendError extends Error {
  override readonly name = 'AuditAppendError';
  readonly chain: string;

  constructor(chain: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.chain = chain;
  }
}

export function isAuditAppendError(error: unknown): error is AuditAppendError {
  return error instanceof AuditAppendError;
}

/** An entry that cannot make a valid record (empty actor, unknown fields...): a programming error. */
export class InvalidAuditEntryError extends Error {
  override readonly name = 'InvalidAuditEntryError';
  readonly issues: readonly string[];

  constructor(chain: string, issues: readonly string[], options?: { cause?: unknown }) {
    super(`invalid audit entry for ${chain}: ${issues.join('; ')}`, options);
    this.issues = issues;
  }
}

export function isInvalidAuditEntryError(error: unknown): error is InvalidAuditEntryError {
  return error instanceof InvalidAuditEntryError;
}

/**
 * Checks a chain read from storage and reports the first record that breaks it.
 *
 * Guarantees: detects an edited record (its hash no longer matches its content), a deleted, inserted or
 * moved record (a `previousHash` that is not its predecessor's hash, or a sequence out of place), and a
 * record of another chain. With `anchor` (the head's sequence and hash kept elsewhere, e.g. in the
 * resource's status) it also detects newest records dropped from the end, or a chain rewritten since.
 *
 * Assumptions: without an anchor, removing the newest records leaves a valid, shorter chain; so does
 * rewriting the newest record together with its own hash. Hash chains cannot tell either from a chain
 * that simply ended there.
 */
export function verifyAuditChain(records: readonly AuditRecord[], anchor?: AuditHead): AuditVerification {
  const chain = records[0]?.chain;
  let previous: AuditHead = { sequence: 0, hash: GENESIS_HASH };
  for (const [index, record] of records.entries()) {
    const at = `record ${index} (sequence ${record.sequence})`;
    if (record.chain !== chain) return { valid: false, index, problem: 'foreign-record', message: `${at} belongs to chain ${record.chain}, not ${chain}` };
    if (auditRecordHash(record) !== record.hash) return { valid: false, index, problem: 'hash-mismatch', message: `${at} does not match its hash: it was changed after it was written` };
    if (record.previousHash !== previous.hash) return { valid: false, index, problem: 'broken-link', message: `${at} does not follow the record before it: records were removed, inserted or reordered` };
    if (record.sequence !== previous.sequence + 1) return { valid: false, index, problem: 'out-of-sequence', message: `${at} should have sequence ${previous.sequence + 1}` };
    previous = { sequence: record.sequence, hash: record.hash };
  }
  if (anchor !== undefined && anchor.sequence > 0) {
    const anchored = records[anchor.sequence - 1];
    if (anchored === undefined) {
      return { valid: false, index: records.length, problem: 'truncated', message: `the chain ends at sequence ${previous.sequence}, but its recorded head is sequence ${anchor.sequence}` };
    }
    if (anchored.hash !== anchor.hash) {
      return { valid: false, index: anchor.sequence - 1, problem: 'anchor-mismatch', message: `record ${anchor.sequence - 1} is not the recorded head: the chain was rewritten` };
    }
  }
  return { valid: true, length: records.length, head: previous };
}

export interface AuditLogSettings {
  readonly store: AuditStore;
  /** Where `audit.recorded` events go once a record is stored; none when absent. */
  readonly events?: DomainEvents;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Secret values read at run time; scrubbed from every record before it is hashed. */
  readonly secretMask?: SecretMask;
  /** Appends that lose a race with another writer are retried this often; 10 by default. */
  readonly maxAppendAttempts?: number;
}

/**
 * Appends hash-chained audit records, one chain per resource (named by its API path).
 *
 * Guarantees:
 * - Every field is redacted before the record is hashed and stored: no secret value is kept.
 * - `append` resolves once the record is stored, linked to the head it read; concurrent appends to a
 *   chain (in this process or another replica) never fork it.
 * - The head is read from the store on every append, so a restarted operator continues each chain.
 * - A writer that loses a race relinks onto the head the store returns and tries again at once: with
 *   one round trip against the winner's two (read, append), it wins the next round.
 */
export class AuditLog {
  readonly #store: AuditStore;
  readonly #events: DomainEvents | undefined;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: EventMetrics;
  readonly #mask: SecretMask | undefined;
  readonly #maxAttempts: number;
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(settings: AuditLogSettings) {
    this.#store = settings.store;
    this.#events = settings.events;
    this.#clock = settings.clock;
    this.#logger = settings.logger.child({ component: 'audit-log' });
    this.#metrics = eventMetrics(settings.registry);
    this.#mask = settings.secretMask;
    this.#maxAttempts = settings.maxAppendAttempts ?? DEFAULT_MAX_APPEND_ATTEMPTS;
  }

  /** The chain name of a resource. */
  chainOf(resource: ResourceRef): string {
    return apiPath(resource);
  }

  /**
   * Stores one record at the end of the resource's chain and emits it as `audit.recorded`.
   *
   * Errors: rejects with {@link InvalidAuditEntryError} when the entry is invalid (empty actor, ...), and
   * {@link AuditAppendError} (with the store's error as cause) when it could not be stored.
   */
  append(entry: AuditEntry): Promise<AuditRecord> {
    const chain = this.chainOf(entry.resource);
    // Appends to one chain run one after another here; the store's compare-and-set covers other replicas.
    const previous = this.#tails.get(chain) ?? Promise.resolve();
    const appended = previous.then(
      () => this.#append(chain, entry),
      () => this.#append(chain, entry),
    );
    this.#tails.set(chain, appended);
    const forget = (): void => {
      if (this.#tails.get(chain) === appended) this.#tails.delete(chain);
    };
    void appended.then(forget, forget);
    return appended;
  }

  /** The resource's chain as stored. */
  read(resource: ResourceRef): Promise<AuditRecord[]> {
    return this.#store.read(this.chainOf(resource));
  }

  /** Reads the resource's chain and verifies it (see {@link verifyAuditChain}). */
  async verify(resource: ResourceRef, anchor?: AuditHead): Promise<AuditVerification> {
    let records: AuditRecord[];
    try {
      records = await this.read(resource);
    } catch (error) {
      if (!isMalformedAuditRecordError(error)) throw error;
      return { valid: false, index: -1, problem: 'malformed', message: error.message };
    }
    return verifyAuditChain(records, anchor);
  }

  async #append(chain: string, entry: AuditEntry): Promise<AuditRecord> {
    const content = this.#content(chain, entry);
    let head: AuditHead;
    try {
      head = await this.#store.head(chain);
    } catch (error) {
      throw new AuditAppendError(chain, `audit record for ${chain} could not be stored`, { cause: error });
    }
    for (let attempt = 1; ; attempt += 1) {
      const unsealed = { ...content, sequence: head.sequence + 1, previousHash: head.hash };
      const record: AuditRecord = { ...unsealed, hash: auditRecordHash(unsealed) };
      let result: AuditAppendResult;
      try {
        result = await this.#store.append(record);
      } catch (error) {
        throw new AuditAppendError(chain, `audit record for ${chain} could not be stored`, { cause: error });
      }
      if (result.stored) {
        this.#metrics.auditRecords.inc({ action: record.action });
        this.#events?.emit('audit.recorded', { resource: entry.resource, ...(entry.correlationId === undefined ? {} : { correlationId: entry.correlationId }) }, record);
        return record;
      }
      this.#logger.debug({ chain, attempt, headSequence: result.head.sequence }, 'audit chain head moved, retrying append');
      if (attempt >= this.#maxAttempts) throw new AuditAppendError(chain, `audit record for ${chain} lost ${attempt} races for the chain head`);
      head = result.head;
    }
  }

  /** The record without its place in the chain, redacted and validated. */
  #content(chain: string, entry: AuditEntry): Omit<AuditRecord, 'sequence' | 'previousHash' | 'hash'> {
    const message = entry.message === undefined || entry.message.length <= MESSAGE_MAX_CHARS ? entry.message : `${entry.message.slice(0, MESSAGE_MAX_CHARS - 1)}…`;
    const draft = {
      chain,
      time: new Date(this.#clock.now()).toISOString(),
      actor: entry.actor,
      action: entry.action,
      ...(entry.step === undefined ? {} : { step: entry.step }),
      outcome: entry.outcome,
      resource: objectReference(entry.resource),
      ...(entry.generation === undefined ? {} : { generation: entry.generation }),
      ...(entry.correlationId === undefined ? {} : { correlationId: entry.correlationId }),
      ...(message === undefined ? {} : { message }),
      ...(entry.details === undefined ? {} : { details: { ...entry.details } }),
    };
    const redacted = redact(draft, this.#mask) as typeof draft;
    const schema = auditRecordSchema.omit({ sequence: true, previousHash: true, hash: true });
    const parsed = schema.safeParse(redacted);
    if (!parsed.success) throw new InvalidAuditEntryError(chain, describeIssues(parsed.error), { cause: parsed.error });
    return parsed.data;
  }
}
