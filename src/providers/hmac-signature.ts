// The signature of outgoing hook and checker requests: X-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>.
import { createHmac } from 'node:crypto';

/** The header that carries the signature. */
export const SIGNATURE_HEADER = 'X-Signature';

/**
 * `sha256=<hex>`: the HMAC-SHA256 of `body` (as UTF-8 bytes, exactly as sent) under `key` (as UTF-8 bytes,
 * exactly as read from the Secret). The receiver recomputes it over the raw body it received.
 */
export function hmacSignature(key: string, body: string): string {
  return `sha256=${createHmac('sha256', Buffer.from(key, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex')}`;
}

