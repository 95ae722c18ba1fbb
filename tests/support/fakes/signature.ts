// How the fakes check X-Signature: computed here from node:crypto, independently of the operator's signing code.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Whether `header` is `sha256=<hex HMAC-SHA256 of body under key>`, compared in constant time. */
export function signatureMatches(key: string, body: string, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', key).update(body).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
