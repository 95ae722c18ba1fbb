// A self-signed TLS certificate for 127.0.0.1 and localhost, made at start with node:crypto (no files, no openssl).
//
// kubectl sends bearer tokens only over TLS, so the devcluster serves HTTPS and writes this certificate into the
// kubeconfig as the cluster's certificate authority; secure metrics serve it when no certificate is mounted.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

function length(size: number): Buffer {
  if (size < 0x80) return Buffer.from([size]);
  const bytes: number[] = [];
  for (let rest = size; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...items: Buffer[]): Buffer => der(0x30, ...items);
const set = (...items: Buffer[]): Buffer => der(0x31, ...items);
const octets = (content: Buffer): Buffer => der(0x04, content);
const bits = (content: Buffer): Buffer => der(0x03, Buffer.from([0]), content);
const utf8 = (text: string): Buffer => der(0x0c, Buffer.from(text, 'utf8'));
const bool = (value: boolean): Buffer => der(0x01, Buffer.from([value ? 0xff : 0]));
const explicit = (tag: number, content: Buffer): Buffer => der(0xa0 | tag, content);

/** A DER INTEGER of an unsigned big-endian value: minimal (no leading zero bytes) and positive. */
export function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const minimal = bytes.subarray(start);
  return der(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [part & 0x7f];
    for (let rest = part >> 7; rest > 0; rest >>= 7) chunk.unshift(0x80 | (rest & 0x7f));
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return der(0x17, Buffer.from(text, 'ascii'));
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A certificate and its private key, both PEM. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** Creates a self-signed ECDSA P-256 certificate named `commonName`, valid for 127.0.0.1, ::1 and localhost for `days` days. */
export function selfSignedCertificate(days = 365, commonName = 'devcluster'): TlsMaterial {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const algorithm = sequence(oid('1.2.840.10045.4.3.2'));
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8(commonName))));
  const now = Date.now();
  const altNames = sequence(der(0x87, Buffer.from([127, 0, 0, 1])), der(0x87, Buffer.from([...Array(15).fill(0), 1])), der(0x82, Buffer.from('localhost', 'ascii')));
  const extensions = sequence(
    sequence(oid('2.5.29.19'), bool(true), octets(sequence(bool(true)))),
    sequence(oid('2.5.29.15'), bool(true), octets(der(0x03, Buffer.from([0x02, 0xa4])))),
    sequence(oid('2.5.29.37'), octets(sequence(oid('1.3.6.1.5.5.7.3.1')))),
    sequence(oid('2.5.29.17'), octets(altNames)),
  );
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    algorithm,
    name,
    sequence(time(new Date(now - 60_000)), time(new Date(now + days * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, algorithm, bits(signature));
  return { cert: pem('CERTIFICATE', certificate), key: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })).export({ type: 'pkcs8', format: 'pem' }).toString() };
}
