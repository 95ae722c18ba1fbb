// Where audit chains are kept: the store seam (compare-and-set append on the head hash) and its in-memory implementation.
import { GENESIS_HASH, type AuditRecord } from './audit-record.ts';

/** A stored entry that is not a well-formed audit record (something else wrote to the chain). */
export class MalformedAuditRecordError extends Error {
  override readonly name = 'MalformedAuditRecordError';
  readonly key: string;
  readonly entryId: string;

  constructor(key: string, entryId: string, detail: string, options?: { cause?: unknown }) {
    super(`entry ${entryId} of ${key} is not an audit record: ${detail}`, options);
    this.key = key;
    this.entryId = entryId;
  }
}

export function isMalformedAuditRecordError(error: unknown): error is MalformedAuditRecordError {
  return error instanceof MalformedAuditRecordError;
}

/** The last record of a chain: what the next record links to. */
export interface AuditHead {
  readonly sequence: number;
  readonly hash: string;
}

/** The head of an empty chain. */
export const GENESIS_HEAD: AuditHead = { sequence: 0, hash: GENESIS_HASH };

/** What an append did: stored the record, or found the chain's head had moved (and says where it is now). */
export type AuditAppendResult = { readonly stored: true } | { readonly stored: false; readonly head: AuditHead };

/**
 * Append-only storage of audit chains.
 *
 * Guarantees (every implementation): `append` is atomic and stores the record only while the chain's
 * head hash is still `record.previousHash` (the genesis hash for an empty chain), so concurrent writers
 * never fork a chain; records are never changed or removed.
 */
export interface AuditStore {
  /** The head of `chain`, or {@link GENESIS_HEAD} when it has no records. */
  head(chain: string): Promise<AuditHead>;
  /**
   * Stores `record` at the end of its chain. When the head moved, stores nothing and returns the current
   * head, so the writer can relink without another read and is not starved by a busier writer.
   */
  append(record: AuditRecord): Promise<AuditAppendResult>;
  /** Every record of `chain`, oldest first, as stored. */
  read(chain: string): Promise<AuditRecord[]>;
}

/** Audit chains in process memory: the default without Redis (one replica, lost on restart). */
export class MemoryAuditStore implements AuditStore {
  readonly #chains = new Map<string, AuditRecord[]>();

  head(chain: string): Promise<AuditHead> {
    const last = this.#chains.get(chain)?.at(-1);
    return Promise.resolve(last === undefined ? GENESIS_HEAD : { sequence: last.sequence, hash: last.hash });
  }

  append(record: AuditRecord): Promise<AuditAppendResult> {
    const records = this.#chains.get(record.chain) ?? [];
    const last = records.at(-1);
    if ((last?.hash ?? GENESIS_HASH) !== record.previousHash) {
      return Promise.resolve({ stored: false, head: last === undefined ? GENESIS_HEAD : { sequence: last.sequence, hash: last.hash } });
    }
    records.push(structuredClone(record));
    this.#chains.set(record.chain, records);
    return Promise.resolve({ stored: true });
  }

  read(chain: string): Promise<AuditRecord[]> {
    return Promise.resolve(structuredClone(this.#chains.get(chain) ?? []));
  }
}
