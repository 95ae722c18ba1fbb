// Audit chains in Redis: one never-trimmed stream per chain, appended by a compare-and-set Lua script.
import type { Redis } from 'ioredis';
import { auditRecordSchema, GENESIS_HASH, type AuditRecord } from './audit-record.ts';
import { GENESIS_HEAD, MalformedAuditRecordError, type AuditAppendResult, type AuditHead, type AuditStore } from './audit-store.ts';
import { describeIssues } from './cloud-event.ts';

const READ_PAGE = 500;

// Appends only while the newest entry's hash (the genesis hash when the stream is empty) equals the
// record's previousHash; otherwise returns the current head's sequence and hash.
// KEYS[1] stream; ARGV: genesis hash, expected head hash, new sequence, new hash, record JSON.
const APPEND_IF_HEAD = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local sequence, head = '0', ARGV[1]
if #last > 0 then
  sequence, head = '', ''
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'sequence' then sequence = fields[i + 1] end
    if fields[i] == 'hash' then head = fields[i + 1] end
  end
end
if head ~= ARGV[2] then return {0, sequence, head} end
redis.call('XADD', KEYS[1], '*', 'sequence', ARGV[3], 'hash', ARGV[4], 'record', ARGV[5])
return {1}
`;

export interface RedisAuditStoreSettings {
  /** The operator's client; the store never closes it. */
  readonly redis: Redis;
  /** The configured `REDIS_KEY_PREFIX`; a chain is kept at `<prefix>audit:<chain>`. */
  readonly keyPrefix: string;
}

/**
 * Keeps each chain in its own Redis Stream, entries `sequence <n> hash <hex> record <JSON>`, never trimmed.
 * The head is read back from the stream, so a restarted operator continues every chain.
 */
export class RedisAuditStore implements AuditStore {
  readonly #redis: Redis;
  readonly #keyPrefix: string;

  constructor(settings: RedisAuditStoreSettings) {
    this.#redis = settings.redis;
    this.#keyPrefix = settings.keyPrefix;
  }

  /** The stream key of a chain. */
  key(chain: string): string {
    return `${this.#keyPrefix}audit:${chain}`;
  }

  async head(chain: string): Promise<AuditHead> {
    const key = this.key(chain);
    const [entry] = await this.#redis.xrevrange(key, '+', '-', 'COUNT', 1);
    if (entry === undefined) return GENESIS_HEAD;
    const record = parseEntry(key, entry);
    return { sequence: record.sequence, hash: record.hash };
  }

  async append(record: AuditRecord): Promise<AuditAppendResult> {
    const key = this.key(record.chain);
    const reply = (await this.#redis.eval(APPEND_IF_HEAD, 1, key, GENESIS_HASH, record.previousHash, String(record.sequence), record.hash, JSON.stringify(record))) as [number, string?, string?];
    if (reply[0] === 1) return { stored: true };
    const [, sequence = '', hash = ''] = reply;
    // An entry without these fields was not written by this store; its record says where the head is.
    if (!/^\d+$/.test(sequence) || hash === '') return { stored: false, head: await this.head(record.chain) };
    return { stored: false, head: { sequence: Number(sequence), hash } };
  }

  /**
   * Errors: throws {@link MalformedAuditRecordError} for an entry that is not an audit record.
   */
  async read(chain: string): Promise<AuditRecord[]> {
    const key = this.key(chain);
    const records: AuditRecord[] = [];
    let start = '-';
    for (;;) {
      const page = await this.#redis.xrange(key, start, '+', 'COUNT', READ_PAGE);
      for (const entry of page) records.push(parseEntry(key, entry));
      const last = page.at(-1);
      if (page.length < READ_PAGE || last === undefined) return records;
      start = `(${last[0]}`;
    }
  }
}

function parseEntry(key: string, [entryId, fields]: [string, string[]]): AuditRecord {
  let raw: string | undefined;
  for (let index = 0; index + 1 < fields.length; index += 2) if (fields[index] === 'record') raw = fields[index + 1];
  if (raw === undefined) throw new MalformedAuditRecordError(key, entryId, 'no record field');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new MalformedAuditRecordError(key, entryId, 'record is not JSON', { cause: error });
  }
  const parsed = auditRecordSchema.safeParse(value);
  if (!parsed.success) throw new MalformedAuditRecordError(key, entryId, describeIssues(parsed.error).join('; '), { cause: parsed.error });
  return parsed.data;
}
