// One HTTP exchange with a service outside the cluster: a deadline on the injected clock, no redirects, a bounded body, typed failures.
import { parseRetryAfterMs } from '../kube/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Clock } from '../resilience/clock.ts';
import { excerpt } from './excerpt.ts';
import { InvalidResponseError, ProviderRejectedError, ProviderUnavailableError, type ProviderError } from './provider-error.ts';

/** The part of WHATWG `fetch` the adapters use; `globalThis.fetch` in production. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface HttpExchangeDependencies {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  /** Each exchange is logged at debug level: dependency, method, URL (no query), status or failure, latency. */
  readonly logger?: Logger;
}

export interface HttpExchangeRequest {
  /** Who is called, for messages and errors: `railway`, `webhook`, `checker`, `health`. */
  readonly dependency: string;
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Deadline of the whole exchange, answer body included. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Bytes of the answer kept; the rest is not read. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The body as UTF-8, cut at `maxBodyBytes`. */
  readonly text: string;
  /** From sending the request to the end of the body, on the injected clock. */
  readonly latencyMs: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Sends one request and reads the answer, whatever its status. Redirects are never followed (the 3xx is
 * the answer); callers turn statuses into outcomes, with {@link answerError} for the usual mapping.
 *
 * Errors: `ProviderUnavailableError` when no answer came (connection refused or reset, DNS, TLS, the
 * deadline); the caller's own abort reason, as is, when its signal aborts.
 */
export async function httpExchange(dependencies: HttpExchangeDependencies, request: HttpExchangeRequest): Promise<HttpAnswer> {
  const { clock } = dependencies;
  const callerSignal = request.signal;
  if (callerSignal?.aborted === true) throw callerSignal.reason;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = clock.setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`deadline of ${request.timeoutMs} ms passed`));
  }, request.timeoutMs);
  const startedMs = clock.now();
  try {
    const response = await dependencies.fetch(request.url, {
      method: request.method,
      headers: { ...request.headers },
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'manual',
      signal: controller.signal,
    });
    const text = await readBounded(response, request.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    const latencyMs = Math.max(0, clock.now() - startedMs);
    dependencies.logger?.debug({ dependency: request.dependency, method: request.method, url: describeUrl(request.url), status: response.status, latencyMs }, 'provider call');
    return { status: response.status, headers: response.headers, text, latencyMs };
  } catch (error) {
    // Read again: the signal may have aborted while the request was in flight.
    if (isAborted(callerSignal)) throw callerSignal.reason;
    const where = `${request.method} ${describeUrl(request.url)}`;
    const failure = timedOut
      ? new ProviderUnavailableError(request.dependency, `${request.dependency} did not answer ${where} within ${request.timeoutMs} ms`, { cause: error })
      : new ProviderUnavailableError(request.dependency, `could not reach ${request.dependency} (${where}): ${networkReason(error)}`, { cause: error });
    dependencies.logger?.debug({ dependency: request.dependency, method: request.method, url: describeUrl(request.url), reason: failure.message, latencyMs: Math.max(0, clock.now() - startedMs) }, 'provider call failed');
    throw failure;
  } finally {
    clock.clearTimeout(timer);
    callerSignal?.removeEventListener('abort', onAbort);
  }
}

function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true;
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  if (maxBytes <= 0) {
    await response.body.cancel();
    return '';
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - size;
    if (value.byteLength >= room) {
      chunks.push(value.subarray(0, room));
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** {@link httpExchange}, with any answer other than 2xx turned into its error by {@link answerError}. */
export async function httpExchangeOk(dependencies: HttpExchangeDependencies, request: HttpExchangeRequest): Promise<HttpAnswer> {
  const answer = await httpExchange(dependencies, request);
  if (answer.status < 200 || answer.status >= 300) throw answerError(request, answer, dependencies.clock.now());
  return answer;
}

/** The system error code (ECONNREFUSED, ENOTFOUND, ...) somewhere in the cause chain, else the message. */
function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message : 'request failed';
}

/** A URL fit for messages and logs: scheme, host and path; never the query or user information. */
export function describeUrl(url: string | null | undefined): string {
  if (url === null || url === undefined) return '<none>';
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '<not a URL>';
  }
}

/**
 * The error for an answer that is not a success: 408, 429 and 5xx are `ProviderUnavailableError` (with
 * `Retry-After`), other statuses `ProviderRejectedError`; a redirect names its target, which is not followed.
 */
export function answerError(request: Pick<HttpExchangeRequest, 'dependency' | 'method' | 'url'>, answer: HttpAnswer, nowMs: number): ProviderError {
  const { dependency } = request;
  const where = `${request.method} ${describeUrl(request.url)}`;
  const quoted = answer.text.trim() === '' ? '' : `: ${excerpt(answer.text)}`;
  const httpStatus = answer.status;
  if (httpStatus >= 300 && httpStatus < 400) {
    const target = describeUrl(resolveLocation(answer.headers.get('location'), request.url));
    return new ProviderRejectedError(dependency, `${dependency} answered ${where} with a redirect (HTTP ${httpStatus}) to ${target}; redirects are not followed`, { httpStatus });
  }
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) {
    const retryAfterMs = parseRetryAfterMs(answer.headers.get('retry-after'), nowMs);
    return new ProviderUnavailableError(dependency, `${dependency} answered ${where} with HTTP ${httpStatus}${quoted}`, { httpStatus, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
  return new ProviderRejectedError(dependency, `${dependency} answered ${where} with HTTP ${httpStatus}${quoted}`, { httpStatus });
}

/** Parses a JSON answer; anything else is an `InvalidResponseError` quoting the start of the body. */
export function parseJsonAnswer(request: Pick<HttpExchangeRequest, 'dependency' | 'method' | 'url'>, answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.text) as unknown;
  } catch (error) {
    const body = answer.text.trim() === '' ? 'an empty body' : `a body that is not JSON: ${excerpt(answer.text)}`;
    throw new InvalidResponseError(request.dependency, `${request.dependency} answered ${request.method} ${describeUrl(request.url)} (HTTP ${answer.status}) with ${body}`, {
      cause: error,
      httpStatus: answer.status,
    });
  }
}

/** A `Location` or status URL resolved against the URL of the request; undefined when it is not a URL. */
export function resolveLocation(location: string | null | undefined, base: string): string | undefined {
  if (location === null || location === undefined || location.trim() === '') return undefined;
  try {
    return new URL(location, base).toString();
  } catch {
    return undefined;
  }
}

/** Whether `value` is a plain JSON object. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
