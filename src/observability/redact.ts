// Redaction of credentials from anything that leaves the process: logs, events, status messages, audit records.
//
// Guarantees:
// - Values under credential-looking keys (`authorization`, `cookie`, `token`, `password`, `secret`, `*Token`,
//   `*Password`, `*Secret`, `apiKey`, ...) are replaced, at any depth.
// - `data` and `stringData` of a Secret object are replaced.
// - Strings are scrubbed of `Bearer …`/`Basic …` credentials, URL user-info passwords, and every value
//   registered in the {@link SecretMask} (the operator registers each value it reads from a Secret).
// - Errors become plain objects (`type`, `message`, `stack`, own fields, `cause` chain), scrubbed the same way.
// - Input is never mutated; cycles are cut.
// - A scrubbed string is never longer than the original (short credentials become as many `*`).

export const REDACTED = '[REDACTED]';

/**
 * What replaces `length` characters of a credential: {@link REDACTED}, or as many `*` when the credential is
 * shorter. Masking never makes a string longer, so a length limit a text met before it was masked (a status
 * message's `maxLength`, an event note's) still holds after.
 */
export function redactedOfLength(length: number): string {
  return length >= REDACTED.length ? REDACTED : '*'.repeat(Math.max(0, length));
}

const SENSITIVE_KEY = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key|token|password|passwd|secret|private[-_]?key|client[-_]?secret|hmac[-_]?key)$|[a-z0-9](Token|Password|Secret|Passwd)$|[-_](token|password|secret)$/i;
const CREDENTIAL_SCHEME = /\b(Bearer|Basic)(\s+)([A-Za-z0-9\-._~+/]+=*)/gi;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/@]+)@/gi;
const MAX_DEPTH = 32;

/** How a quote cut short ends (`excerpt`, status and event messages): a secret cut there leaves only its start. */
const CUT_MARK = '…';
/** The shortest start of a secret, before a cut, that is masked: shorter ones say next to nothing. */
const MIN_CUT_PREFIX = 4;

/**
 * Values known to be secret (read from Kubernetes Secrets); every outbound string is scrubbed of them.
 *
 * Guarantees: a registered value is masked wherever it appears whole, with its white space collapsed (as remote
 * text quoted in messages is), and where a quote was cut short inside it: its first 4 or more characters
 * followed by `…`.
 */
export class SecretMask {
  readonly #values = new Set<string>();
  #pattern: RegExp | null = null;
  /** Longest first, so the longest cut-off start is the one masked. */
  #byLength: string[] = [];

  /** Registers a secret value. Values shorter than 4 characters are ignored: masking them would mangle text. */
  add(value: string): void {
    const collapsed = value.replace(/\s+/g, ' ').trim();
    const forms = [value, collapsed].filter((form) => form.length >= MIN_CUT_PREFIX && !this.#values.has(form));
    if (forms.length === 0) return;
    for (const form of forms) this.#values.add(form);
    this.#byLength = [...this.#values].sort((a, b) => b.length - a.length);
    const alternatives = this.#byLength.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#pattern = new RegExp(alternatives.join('|'), 'g');
  }

  get size(): number {
    return this.#values.size;
  }

  mask(text: string): string {
    if (this.#pattern === null) return text;
    const masked = text.replace(this.#pattern, (value) => redactedOfLength(value.length));
    return masked.includes(CUT_MARK) ? this.#maskCutStarts(masked) : masked;
  }

  /** Masks the start of a secret that a cut (`…`) ended. */
  #maskCutStarts(text: string): string {
    let out = text;
    for (let at = out.indexOf(CUT_MARK); at >= 0; at = out.indexOf(CUT_MARK, at + 1)) {
      for (const value of this.#byLength) {
        let length = Math.min(value.length - 1, at);
        while (length >= MIN_CUT_PREFIX && out.slice(at - length, at) !== value.slice(0, length)) length--;
        if (length >= MIN_CUT_PREFIX) {
          const marker = redactedOfLength(length);
          out = `${out.slice(0, at - length)}${marker}${out.slice(at)}`;
          at = at - length + marker.length;
          break;
        }
      }
    }
    return out;
  }
}

/** Scrubs credentials out of a string (see the module's guarantees). */
export function redactString(text: string, mask?: SecretMask): string {
  const scrubbed = text
    .replace(CREDENTIAL_SCHEME, (_match, scheme: string, space: string, credential: string) => `${scheme}${space}${redactedOfLength(credential.length)}`)
    .replace(URL_PASSWORD, (_match, prefix: string, user: string, password: string) => `${prefix}${user}:${redactedOfLength(password.length)}@`);
  return mask === undefined ? scrubbed : mask.mask(scrubbed);
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** Returns a redacted deep copy of `value` (see the module's guarantees). */
export function redact(value: unknown, mask?: SecretMask): unknown {
  return walk(value, mask, new WeakSet(), 0);
}

function walk(value: unknown, mask: SecretMask | undefined, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return redactString(value, mask);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  try {
    if (value instanceof Error) return walkError(value, mask, seen, depth);
    if (Array.isArray(value)) return value.map((item) => walk(item, mask, seen, depth + 1));
    if (value instanceof Date) return value.toISOString();
    if (value instanceof Map) return walk(Object.fromEntries(value), mask, seen, depth);
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
    const record = value as Record<string, unknown>;
    const isSecretObject = record['kind'] === 'Secret';
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(record)) {
      if (isSensitiveKey(key) && inner !== null && inner !== undefined && inner !== '') {
        out[key] = REDACTED;
      } else if (isSecretObject && (key === 'data' || key === 'stringData')) {
        out[key] = REDACTED;
      } else {
        out[key] = walk(inner, mask, seen, depth + 1);
      }
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function walkError(error: Error, mask: SecretMask | undefined, seen: WeakSet<object>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: error.name,
    message: redactString(error.message, mask),
  };
  if (error.stack !== undefined) out['stack'] = redactString(error.stack, mask);
  for (const [key, inner] of Object.entries(error)) {
    if (key === 'cause' || key === 'message' || key === 'stack') continue;
    out[key] = isSensitiveKey(key) ? REDACTED : walk(inner, mask, seen, depth + 1);
  }
  if (error.cause !== undefined) out['cause'] = walk(error.cause, mask, seen, depth + 1);
  return out;
}
