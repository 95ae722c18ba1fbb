import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { integer, selfSignedCertificate } from '../../src/observability/self-signed-certificate.ts';

describe('self-signed certificate', () => {
  it('encodes integers minimally, as DER requires (a random serial may start with zero bytes)', () => {
    expect(integer(Buffer.from([0x00, 0x01]))).toEqual(Buffer.from([0x02, 0x01, 0x01]));
    expect(integer(Buffer.from([0x00, 0x00, 0x80]))).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x80]));
    expect(integer(Buffer.from([0x80]))).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x80]));
    expect(integer(Buffer.from([0x00]))).toEqual(Buffer.from([0x02, 0x01, 0x00]));
  });

  it('always parses, whatever serial number it drew', () => {
    for (let i = 0; i < 200; i += 1) {
      const { cert } = selfSignedCertificate();
      const parsed = new X509Certificate(cert);
      expect(parsed.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(parsed.checkHost('localhost')).toBe('localhost');
    }
  });
});
