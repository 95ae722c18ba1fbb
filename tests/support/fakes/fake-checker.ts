// A checker service for http check units: verifies the HMAC, answers scripted verdicts after a fixed delay, misbehaves on demand.
import type { ServerResponse } from 'node:http';
import { headerOf, sendJson, sendText, startFakeHttpServer, type FakeRequest, type FakeServerOptions } from './fake-http-server.ts';
import { signatureMatches } from './signature.ts';

export interface CheckerVerdict {
  readonly status: 'pass' | 'fail';
  readonly details?: unknown;
}

/**
 * Ways to answer wrongly: `not-json` (200 with HTML), `wrong-shape` (200 JSON without pass/fail),
 * `server-error` (500), `bad-request` (400), `redirect` (307 to another host), `hang` (never answers).
 */
export type CheckerMisbehaviour = 'not-json' | 'wrong-shape' | 'server-error' | 'bad-request' | 'redirect' | 'hang';

export interface CheckRequestBody {
  readonly repository: { readonly name: string; readonly url: string };
  readonly ref?: string;
  readonly check: string;
}

export interface FakeChecker {
  /** The check endpoint (`…/check`). */
  readonly url: string;
  /** The verdict for one repository and check; `defaultVerdict` for the others. */
  setVerdict(repository: string, check: string, verdict: CheckerVerdict): void;
  /** Default `{status: 'pass', details: 'all good'}`. */
  defaultVerdict: CheckerVerdict;
  /** Real time before each answer. Default 0. */
  delayMs: number;
  /** The next `count` correctly signed requests misbehave this way. */
  misbehaveNext(kind: CheckerMisbehaviour, count?: number): void;
  /** Correctly signed requests carrying this `Idempotency-Key`. */
  calls(idempotencyKey: string): number;
  /** Correctly signed requests received. */
  readonly totalCalls: number;
  /** Bodies of the correctly signed requests, in order. */
  readonly requests: readonly CheckRequestBody[];
  /** The same requests with the `Idempotency-Key` each carried. */
  readonly keyed: readonly { readonly idempotencyKey: string; readonly body: CheckRequestBody }[];
  readonly rejectedSignatures: number;
  /** Requests being answered now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  close(): Promise<void>;
}

/** Starts a checker with HMAC key `key` (a bad signature answers 401). */
export async function startFakeChecker(options: FakeServerOptions & { readonly key: string; readonly delayMs?: number }): Promise<FakeChecker> {
  const verdicts = new Map<string, CheckerVerdict>();
  const calls = new Map<string, number>();
  const requests: CheckRequestBody[] = [];
  const keyed: { idempotencyKey: string; body: CheckRequestBody }[] = [];
  const misbehaviours: CheckerMisbehaviour[] = [];
  let rejectedSignatures = 0;
  let maxInFlight = 0;

  const answer = (body: CheckRequestBody, response: ServerResponse, misbehaviour: CheckerMisbehaviour | undefined): void => {
    switch (misbehaviour) {
      case 'not-json':
        sendText(response, 200, '<html><body>Checker maintenance</body></html>', { 'content-type': 'text/html' });
        return;
      case 'wrong-shape':
        sendJson(response, 200, { result: 'ok', verdict: 'green' });
        return;
      case 'server-error':
        sendText(response, 500, 'checker crashed');
        return;
      case 'bad-request':
        sendJson(response, 400, { error: 'unknown check' });
        return;
      case 'redirect':
        sendText(response, 307, 'moved', { location: 'http://checker.elsewhere.example/check' });
        return;
      default:
        sendJson(response, 200, verdicts.get(`${body.repository.name}\n${body.check}`) ?? checker.defaultVerdict);
    }
  };

  const handle = (request: FakeRequest, response: ServerResponse): void => {
    if (request.method !== 'POST' || request.path !== '/check') {
      sendText(response, 404, 'not found');
      return;
    }
    if (!signatureMatches(options.key, request.body, headerOf(request, 'x-signature'))) {
      rejectedSignatures += 1;
      sendJson(response, 401, { error: 'signature does not match the body' });
      return;
    }
    let body: CheckRequestBody;
    try {
      body = JSON.parse(request.body) as CheckRequestBody;
    } catch {
      sendJson(response, 400, { error: 'body is not JSON' });
      return;
    }
    const key = headerOf(request, 'idempotency-key') ?? '';
    calls.set(key, (calls.get(key) ?? 0) + 1);
    requests.push(body);
    keyed.push({ idempotencyKey: key, body });
    maxInFlight = Math.max(maxInFlight, server.inFlight);
    const misbehaviour = misbehaviours.shift();
    if (misbehaviour === 'hang') return;
    server.later(checker.delayMs, () => answer(body, response, misbehaviour));
  };

  const server = await startFakeHttpServer(handle, options);
  const checker: FakeChecker = {
    url: `${server.url}/check`,
    setVerdict: (repository, check, verdict) => {
      verdicts.set(`${repository}\n${check}`, verdict);
    },
    defaultVerdict: { status: 'pass', details: 'all good' },
    delayMs: options.delayMs ?? 0,
    misbehaveNext(kind, count = 1) {
      for (let i = 0; i < count; i += 1) misbehaviours.push(kind);
    },
    calls: (key) => calls.get(key) ?? 0,
    get totalCalls() {
      return requests.length;
    },
    requests,
    keyed,
    get rejectedSignatures() {
      return rejectedSignatures;
    },
    get inFlight() {
      return server.inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    close: () => server.close(),
  };
  return checker;
}
