import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { REDACTED, redact, redactedOfLength, redactString, SecretMask } from '../../src/observability/redact.ts';
import { excerpt } from '../../src/providers/excerpt.ts';

const CANARY = 'canary-7f3a9c1e-secret-value';

function capture(mask?: SecretMask) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const logger = createLogger({ level: 'trace', destination, ...(mask === undefined ? {} : { secretMask: mask }) });
  return { logger, lines, text: () => lines.join('\n') };
}

describe('redact', () => {
  it('replaces values under credential keys at any depth and keeps the rest', () => {
    const out = redact({
      headers: { Authorization: `Bearer ${CANARY}`, 'content-type': 'application/json' },
      provider: { railway: { token: CANARY, tokenSecretRef: { name: 'railway', key: 'token' } } },
      deep: [{ nested: { password: CANARY, clientSecret: CANARY, apiKey: CANARY, 'x-api-key': CANARY, hmac_key: CANARY } }],
      service: 'api',
    });
    expect(JSON.stringify(out)).not.toContain(CANARY);
    expect(out).toMatchObject({
      headers: { Authorization: REDACTED, 'content-type': 'application/json' },
      provider: { railway: { token: REDACTED, tokenSecretRef: { name: 'railway', key: 'token' } } },
      service: 'api',
    });
  });

  it("replaces a Secret's data and stringData", () => {
    const out = redact({ kind: 'Secret', metadata: { name: 'railway' }, data: { token: Buffer.from(CANARY).toString('base64') }, stringData: { other: CANARY } });
    expect(out).toEqual({ kind: 'Secret', metadata: { name: 'railway' }, data: REDACTED, stringData: REDACTED });
  });

  it('scrubs bearer and basic credentials and URL passwords from free text', () => {
    const text = redactString(`calling with Bearer ${CANARY} and Basic ${CANARY}== via redis://user:${CANARY}@cache:6379/0`);
    expect(text).not.toContain(CANARY);
    expect(text).toContain('Bearer [REDACTED]');
    expect(text).toContain('redis://user:[REDACTED]@cache:6379/0');
  });

  it('scrubs registered secret values wherever they appear', () => {
    const mask = new SecretMask();
    mask.add(CANARY);
    expect(redactString(`provider said: invalid key ${CANARY}!`, mask)).toBe(`provider said: invalid key ${REDACTED}!`);
    expect(JSON.stringify(redact({ message: `x${CANARY}x`, list: [CANARY] }, mask))).not.toContain(CANARY);
  });

  it('scrubs a secret that a quote cut short, whatever its length before the cut, as excerpt() and status messages cut', () => {
    const mask = new SecretMask();
    const secret = `${CANARY}-checker-hmac`;
    mask.add(secret);
    for (const kept of [4, 12, secret.length - 1]) {
      const quoted = excerpt(`checker answered 500: credential in use: ${secret} (retry later)`, 'checker answered 500: credential in use: '.length + kept + 1);
      expect(quoted.endsWith(`${secret.slice(0, kept)}…`)).toBe(true);
      expect(redactString(quoted, mask)).toBe(`checker answered 500: credential in use: ${redactedOfLength(kept)}…`);
      expect(redactString(quoted, mask).length).toBeLessThanOrEqual(quoted.length);
    }
    // Three characters before a cut say nothing; text that merely shares a start with a secret and is not cut stays.
    expect(redactString(`${secret.slice(0, 3)}…`, mask)).toBe(`${secret.slice(0, 3)}…`);
    expect(redactString(`${secret.slice(0, 8)} and more`, mask)).toBe(`${secret.slice(0, 8)} and more`);
  });

  it('never makes a string longer, so a length limit met before masking holds after', () => {
    const mask = new SecretMask();
    const short = 'k3y-42';
    mask.add(short);
    mask.add(`${CANARY}-checker-hmac`);
    // A secret, a bearer token and a URL password shorter than the marker become as many stars.
    expect(redactString(`key ${short} refused`, mask)).toBe('key ****** refused');
    expect(redactString('Authorization: Bearer abc12', mask)).toBe('Authorization: Bearer *****');
    expect(redactString('redis://u:pw12@cache:6379', mask)).toBe('redis://u:****@cache:6379');
    const texts = [`${short}`, `x${short}…`, `Bearer ${CANARY}`, `${CANARY.slice(0, 5)}…`, `a ${CANARY}-checker-hmac b ${short}`, `Basic ${short}…`];
    for (const text of texts) expect(redactString(text, mask).length, text).toBeLessThanOrEqual(text.length);
    for (const text of texts) expect(redactString(text, mask), text).not.toContain(short);
  });

  it('scrubs a multi-line secret quoted with its white space collapsed', () => {
    const mask = new SecretMask();
    mask.add(`-----BEGIN KEY-----\n${CANARY}\n-----END KEY-----\n`);
    expect(redactString(excerpt(`bad key: -----BEGIN KEY-----\n${CANARY}\n-----END KEY-----`), mask)).toBe(`bad key: ${REDACTED}`);
  });

  it('does not mutate its input and survives cycles', () => {
    const input: Record<string, unknown> = { token: CANARY };
    input['self'] = input;
    const out = redact(input) as Record<string, unknown>;
    expect(input['token']).toBe(CANARY);
    expect(out['self']).toBe('[Circular]');
  });
});

describe('logger redaction', () => {
  it('keeps the canary out of request headers, nested objects and errors with causes', () => {
    const mask = new SecretMask();
    mask.add(CANARY);
    const { logger, lines, text } = capture(mask);
    logger.info({ req: { method: 'POST', headers: { authorization: `Bearer ${CANARY}`, cookie: `session=${CANARY}` } } }, 'request sent');
    logger.info({ spec: { provider: { webhook: { secret: CANARY } } }, status: { message: `deploy failed with ${CANARY}` } }, 'nested');
    const cause = Object.assign(new Error(`upstream rejected ${CANARY}`), { response: { headers: { authorization: `Bearer ${CANARY}` } } });
    logger.error({ err: new Error('deploy failed', { cause }) }, 'deploy failed');
    logger.error(new Error(`thrown with ${CANARY}`, { cause: new Error(`root ${CANARY}`) }));
    logger.warn(`message text carrying Bearer ${CANARY}`);
    logger.child({ controller: 'deploy', token: CANARY }).info('child logger');

    expect(lines).toHaveLength(6);
    expect(text()).not.toContain(CANARY);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records[2]).toMatchObject({ msg: 'deploy failed', err: { type: 'Error', message: 'deploy failed', cause: { message: `upstream rejected ${REDACTED}` } } });
    expect(records[3]).toMatchObject({ level: 'error', err: { cause: { message: `root ${REDACTED}` } } });
  });

  it('redacts pattern-shaped credentials even when the value was never registered', () => {
    const { logger, text } = capture();
    logger.info({ headers: { Authorization: `Bearer ${CANARY}` }, url: `rediss://default:${CANARY}@cache:6380` }, 'unregistered');
    logger.info({ secret: CANARY }, 'by key');
    expect(text()).not.toContain(CANARY);
  });

  it('writes one JSON line per event with level, time and constant message', () => {
    const { logger, lines } = capture();
    logger.child({ controller: 'deploy', namespace: 'prod', name: 'api', reconcileID: 'r-1' }).info({ step: 'verify' }, 'step finished');
    const record = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'info', msg: 'step finished', controller: 'deploy', namespace: 'prod', name: 'api', reconcileID: 'r-1', step: 'verify' });
    expect(typeof record['time']).toBe('string');
  });
});
