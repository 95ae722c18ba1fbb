// One audit record of a compliance-sensitive resource: its schema and the SHA-256 hash that links it to the previous one.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';

/** The `previousHash` of the first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');

export const auditRecordSchema = z.strictObject({
  /** The chain the record belongs to: the API path of the resource. */
  chain: z.string().min(1).max(1024),
  /** 1-based position in the chain. */
  sequence: z.number().int().min(1),
  /** When the transition happened (RFC 3339). */
  time: z.iso.datetime({ offset: true }),
  /** Who: the operator's identity for automatic steps, the approver for an approval. */
  actor: z.string().min(1).max(256),
  /** What: `step.<name>` for a step transition, or a decision such as `approval.granted`. */
  action: z.string().min(1).max(128),
  step: z.string().min(1).max(63).optional(),
  /** The result: the step's new state (`Running`, `Succeeded`, `Failed`, ...) or the decision. */
  outcome: z.string().min(1).max(64),
  resource: z.strictObject({
    apiVersion: z.string().min(1),
    kind: z.string().min(1),
    namespace: z.string().min(1).optional(),
    name: z.string().min(1),
    uid: z.string().min(1).optional(),
  }),
  generation: z.number().int().min(0).optional(),
  correlationId: z.string().min(1).max(256).optional(),
  message: z.string().max(1024).optional(),
  details: z.record(z.string().min(1).max(128), z.union([z.string().max(1024), z.number(), z.boolean()])).optional(),
  previousHash: sha256Hex,
  hash: sha256Hex,
});

export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** SHA-256 (lowercase hex) of the canonical JSON of every field of the record except `hash`. */
export function auditRecordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _hash, ...content } = record as AuditRecord;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
