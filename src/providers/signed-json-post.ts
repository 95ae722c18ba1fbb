// A signed JSON POST to a hook or checker: Idempotency-Key, X-Signature over the exact body, 2xx expected.
import { hmacSignature, SIGNATURE_HEADER } from './hmac-signature.ts';
import { httpExchangeOk, type HttpAnswer, type HttpExchangeDependencies, type HttpExchangeRequest } from './http-exchange.ts';

export interface SignedJsonPost {
  readonly dependency: string;
  readonly url: string;
  /** The HMAC key, as read from the Secret. */
  readonly key: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly idempotencyKey: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * POSTs `payload` as JSON with `Idempotency-Key` and `X-Signature: sha256=<HMAC of the body>`, and returns the
 * 2xx answer with the request (for messages). Errors as `httpExchangeOk` throws them.
 */
export async function signedJsonPost(dependencies: HttpExchangeDependencies, post: SignedJsonPost): Promise<{ answer: HttpAnswer; request: HttpExchangeRequest }> {
  const body = JSON.stringify(post.payload);
  const request: HttpExchangeRequest = {
    dependency: post.dependency,
    method: 'POST',
    url: post.url,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'idempotency-key': post.idempotencyKey,
      [SIGNATURE_HEADER.toLowerCase()]: hmacSignature(post.key, body),
    },
    body,
    timeoutMs: post.timeoutMs,
    ...(post.signal === undefined ? {} : { signal: post.signal }),
  };
  return { answer: await httpExchangeOk(dependencies, request), request };
}
