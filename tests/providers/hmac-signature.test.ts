import { describe, expect, it } from 'vitest';
import { hmacSignature } from '../../src/providers/hmac-signature.ts';
import { signatureMatches } from '../support/fakes/signature.ts';

describe('hmacSignature', () => {
  it('is the hex HMAC-SHA256 of the body (RFC 4231, test case 2)', () => {
    expect(hmacSignature('Jefe', 'what do ya want for nothing?')).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('signs the exact UTF-8 bytes, so a receiver verifying the raw body agrees, and any change breaks it', () => {
    const body = JSON.stringify({ service: 'api', note: 'déployé ✓' });
    const signature = hmacSignature('key-1', body);

    expect(signatureMatches('key-1', body, signature)).toBe(true);
    expect(signatureMatches('key-1', `${body} `, signature)).toBe(false);
    expect(signatureMatches('key-2', body, signature)).toBe(false);
  });
});
