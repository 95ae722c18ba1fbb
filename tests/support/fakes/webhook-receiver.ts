// A deploy hook that verifies the HMAC of each delivery, de-duplicates by Idempotency-Key and serves a status URL per operation.
import type { ServerResponse } from 'node:http';
import { headerOf, sendJson, sendText, startFakeHttpServer, type FakeRequest, type FakeServerOptions } from './fake-http-server.ts';
import { signatureMatches } from './signature.ts';

export type HookOutcome = 'succeed' | 'fail';

export interface HookOperation {
  readonly id: string;
  readonly idempotencyKey: string;
  /** The payload of the first delivery. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly outcome: HookOutcome;
  /** Status polls answered so far. */
  polls: number;
}

export interface WebhookReceiver {
  /** The hook (`…/hook`). */
  readonly url: string;
  /** Correctly signed deliveries carrying this `Idempotency-Key`. */
  deliveries(idempotencyKey: string): number;
  /** Operations started, one per key, oldest first. */
  readonly operations: readonly HookOperation[];
  /** Deliveries refused for a missing or wrong signature. */
  readonly rejectedSignatures: number;
  /** Requests received and not answered yet. */
  readonly inFlight: number;
  /** Outcomes of the next operations, in order; then `succeed`. */
  scriptOutcomes(...outcomes: HookOutcome[]): void;
  /** Polls an operation answers `pending` before its outcome. Default 1. */
  pollsToFinish: number;
  /** The next `count` requests (deliveries or polls) answer HTTP `status` with `body` (default `hook unavailable`). */
  failNext(count: number, status?: number, body?: string): void;
  /** How the status URL is given: in the JSON body (relative when `relative`) or as `Location`. Default `body`. */
  statusUrlIn: 'body' | 'relative' | 'location';
  close(): Promise<void>;
}

export interface WebhookReceiverOptions extends FakeServerOptions {
  /** The HMAC key deliveries are signed with. */
  readonly key: string;
  /** The outcome of a new operation from its payload; undefined falls back to the scripted queue. */
  readonly outcomeOf?: (payload: Readonly<Record<string, unknown>>) => HookOutcome | undefined;
}

/**
 * Starts a deploy hook following ADR 009's protocol, with HMAC key `key`: a signed POST answers 202 with the
 * status URL of the operation its `Idempotency-Key` names (the first delivery creates it; repeats get the
 * same one); `GET /operations/<id>` answers `{state: pending}` until `pollsToFinish` polls, then the outcome.
 * A bad signature answers 401, a missing key or a body that is not JSON 400.
 */
export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const operations: HookOperation[] = [];
  const deliveries = new Map<string, number>();
  const outcomes: HookOutcome[] = [];
  const failures: { status: number; body: string }[] = [];
  let rejectedSignatures = 0;

  const handle = (request: FakeRequest, response: ServerResponse): void => {
    const failure = failures.shift();
    if (failure !== undefined) {
      sendText(response, failure.status, failure.body);
      return;
    }
    if (request.method === 'POST' && request.path === '/hook') {
      if (!signatureMatches(options.key, request.body, headerOf(request, 'x-signature'))) {
        rejectedSignatures += 1;
        sendJson(response, 401, { error: 'signature does not match the body' });
        return;
      }
      const key = headerOf(request, 'idempotency-key');
      let payload: unknown;
      try {
        payload = JSON.parse(request.body);
      } catch {
        sendJson(response, 400, { error: 'body is not JSON' });
        return;
      }
      if (key === undefined || key === '' || typeof payload !== 'object' || payload === null || (payload as { idempotencyKey?: unknown }).idempotencyKey !== key) {
        sendJson(response, 400, { error: 'Idempotency-Key header missing or not the body idempotencyKey' });
        return;
      }
      deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
      let operation = operations.find((candidate) => candidate.idempotencyKey === key);
      if (operation === undefined) {
        operation = { id: `op-${operations.length + 1}`, idempotencyKey: key, payload: payload as Record<string, unknown>, outcome: options.outcomeOf?.(payload as Record<string, unknown>) ?? outcomes.shift() ?? 'succeed', polls: 0 };
        operations.push(operation);
      }
      const path = `/operations/${operation.id}`;
      if (receiver.statusUrlIn === 'location') sendJson(response, 202, { id: operation.id }, { location: `${server.url}${path}` });
      else sendJson(response, 202, { id: operation.id, statusUrl: receiver.statusUrlIn === 'relative' ? path : `${server.url}${path}` });
      return;
    }
    const match = /^\/operations\/([\w-]+)$/.exec(request.path);
    const operation = request.method === 'GET' && match !== null ? operations.find((candidate) => candidate.id === match[1]) : undefined;
    if (operation === undefined) {
      sendJson(response, 404, { error: 'no such operation' });
      return;
    }
    operation.polls += 1;
    if (operation.polls < receiver.pollsToFinish) sendJson(response, 200, { state: 'pending', message: `${String(operation.payload['action'])} in progress` });
    else if (operation.outcome === 'succeed') sendJson(response, 200, { state: 'succeeded', message: `${String(operation.payload['action'])} done` });
    else sendJson(response, 200, { state: 'failed', message: `${String(operation.payload['action'])} failed: smoke tests red` });
  };

  const server = await startFakeHttpServer(handle, options);
  const receiver: WebhookReceiver = {
    url: `${server.url}/hook`,
    deliveries: (key) => deliveries.get(key) ?? 0,
    operations,
    get rejectedSignatures() {
      return rejectedSignatures;
    },
    get inFlight() {
      return server.inFlight;
    },
    scriptOutcomes: (...next) => {
      outcomes.push(...next);
    },
    pollsToFinish: 1,
    failNext(count, status = 503, body = 'hook unavailable') {
      for (let i = 0; i < count; i += 1) failures.push({ status, body });
    },
    statusUrlIn: 'body',
    close: () => server.close(),
  };
  return receiver;
}
