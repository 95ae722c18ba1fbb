import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  apiErrorFromResponse,
  apiErrorFromStatus,
  isAlreadyExists,
  isApiError,
  isBadRequest,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  isServerError,
  isTooManyRequests,
  isUnauthorized,
  isUnsupportedMediaType,
  parseRetryAfterMs,
  type StatusBody,
} from '../../src/kube/errors.ts';

const transcripts = new URL('../fixtures/kube-apiserver-transcripts/http/', import.meta.url);
function recorded(name: string): { status: number; body: StatusBody } {
  const exchange = JSON.parse(readFileSync(new URL(`${name}.json`, transcripts), 'utf8')) as { response: { status: number; body: StatusBody } };
  return exchange.response;
}

// Status bodies as kube-apiserver v1.32 sends them (see ../shared/kube-apiserver-transcripts/README.md).
const notFound = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'gizmos.demo.transcripts.dev "nope" not found', reason: 'NotFound', details: { name: 'nope', group: 'demo.transcripts.dev', kind: 'gizmos' }, code: 404 };

describe('apiErrorFromResponse', () => {
  it('maps each status code and reason to its class and guard', () => {
    const cases: [number, string, (e: unknown) => boolean][] = [
      [400, 'BadRequest', isBadRequest],
      [401, 'Unauthorized', isUnauthorized],
      [403, 'Forbidden', isForbidden],
      [404, 'NotFound', isNotFound],
      [409, 'AlreadyExists', isAlreadyExists],
      [409, 'Conflict', isConflict],
      [410, 'Expired', isGone],
      [415, 'UnsupportedMediaType', isUnsupportedMediaType],
      [422, 'Invalid', isInvalid],
      [429, 'TooManyRequests', isTooManyRequests],
      [500, 'InternalError', isServerError],
      [503, 'ServiceUnavailable', isServerError],
      [504, 'Timeout', isServerError],
    ];
    for (const [code, reason, guard] of cases) {
      const error = apiErrorFromResponse(code, JSON.stringify({ kind: 'Status', status: 'Failure', message: 'm', reason, code }));
      expect(guard(error), `${code} ${reason}`).toBe(true);
      expect(isApiError(error)).toBe(true);
      expect(error.code).toBe(code);
      expect(error.reason).toBe(reason);
      expect(error.message).toBe('m');
    }
    expect(isConflict(apiErrorFromResponse(409, JSON.stringify({ ...notFound, reason: 'AlreadyExists', code: 409 })))).toBe(false);
  });

  it('keeps the Status body and its message', () => {
    const error = apiErrorFromResponse(404, JSON.stringify(notFound));
    expect(error.message).toBe('gizmos.demo.transcripts.dev "nope" not found');
    expect(error.status?.details?.kind).toBe('gizmos');
  });

  it('exposes the causes of a recorded 422 Invalid', () => {
    const { status, body } = recorded('33-cr-create-invalid-schema-422');
    const error = apiErrorFromStatus(status, body);
    expect(isInvalid(error)).toBe(true);
    expect(error.causes.length).toBeGreaterThan(1);
    expect(error.causes.map((cause) => cause.reason)).toContain('FieldValueRequired');
  });

  it('reads the retry delay from Retry-After, then from details.retryAfterSeconds', () => {
    const throttled = apiErrorFromResponse(429, JSON.stringify({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 3 } }), '2');
    expect(throttled.retryAfterMs).toBe(2000);
    const fromDetails = apiErrorFromResponse(504, JSON.stringify({ kind: 'Status', reason: 'Timeout', code: 504, details: { retryAfterSeconds: 1 } }));
    expect(fromDetails.retryAfterMs).toBe(1000);
  });

  it('turns a non-Status answer (a proxy page) into an error of the HTTP status with the text as message', () => {
    const error = apiErrorFromResponse(502, '<html>Bad Gateway</html>\n');
    expect(isServerError(error)).toBe(true);
    expect(error.message).toBe('<html>Bad Gateway</html>');
    expect(apiErrorFromResponse(503, '').message).toBe('HTTP 503');
  });

  it('parses Retry-After in seconds and as an HTTP date', () => {
    expect(parseRetryAfterMs('0')).toBe(0);
    expect(parseRetryAfterMs('1.5')).toBe(1500);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', Date.UTC(2026, 0, 1))).toBe(10_000);
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs(null)).toBeUndefined();
  });
});
