// GraphQL over HTTP to Railway's public API: bearer authentication, the Idempotency-Key header, GraphQL errors as typed errors.
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../resilience/clock.ts';
import { excerpt } from '../excerpt.ts';
import { httpExchangeOk, isJsonObject, parseJsonAnswer, type FetchLike, type HttpExchangeDependencies, type HttpExchangeRequest } from '../http-exchange.ts';
import { InvalidResponseError, ProviderRejectedError, ProviderUnavailableError } from '../provider-error.ts';

/** A GraphQL operation: `name` is its operation name and the root field whose value is returned. */
export interface RailwayOperation {
  readonly name: string;
  readonly query: string;
  readonly variables: Readonly<Record<string, unknown>>;
}

/** Where and as whom one request goes. */
export interface RailwayCall {
  readonly endpoint: string;
  /** The API token; sent as `Authorization: Bearer`, never logged. */
  readonly token: string;
  /** Sent as `Idempotency-Key`. Railway ignores it; it makes each request traceable to its workflow step. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export interface RailwayClientOptions {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Deadline of one request. Default 30 s. */
  readonly timeoutMs?: number;
}

interface GraphQLError {
  readonly message?: unknown;
  readonly extensions?: { readonly code?: unknown };
}

const DEPENDENCY = 'railway';
const DEFAULT_TIMEOUT_MS = 30_000;
/** `extensions.code` values meaning the server failed or throttled, not that the request was wrong. */
const TRANSIENT_CODES = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'TIMEOUT', 'GATEWAY_TIMEOUT', 'RATE_LIMITED', 'TOO_MANY_REQUESTS']);

/**
 * Sends GraphQL operations to Railway.
 *
 * Errors: HTTP failures as `httpExchange`/`answerError` class them; a GraphQL `errors` array becomes a
 * `ProviderRejectedError`, or a `ProviderUnavailableError` when an error's `extensions.code` says the server
 * failed or throttled; an answer without `data.<operation>` is an `InvalidResponseError`. Messages quote
 * Railway's first error message and never contain the token.
 */
export class RailwayClient {
  readonly #http: HttpExchangeDependencies;
  readonly #timeoutMs: number;

  constructor(options: RailwayClientOptions) {
    this.#http = { fetch: options.fetch, clock: options.clock, logger: options.logger };
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Runs `operation` and returns the value of its root field (`data[operation.name]`). */
  async request(call: RailwayCall, operation: RailwayOperation): Promise<unknown> {
    const request: HttpExchangeRequest = {
      dependency: DEPENDENCY,
      method: 'POST',
      url: call.endpoint,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${call.token.trim()}`,
        ...(call.idempotencyKey === undefined ? {} : { 'idempotency-key': call.idempotencyKey }),
      },
      body: JSON.stringify({ operationName: operation.name, query: operation.query, variables: operation.variables }),
      timeoutMs: this.#timeoutMs,
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    };
    const answer = await httpExchangeOk(this.#http, request);
    const body = parseJsonAnswer(request, answer);
    if (!isJsonObject(body)) throw new InvalidResponseError(DEPENDENCY, `Railway answered ${operation.name} with JSON that is not an object: ${excerpt(answer.text)}`);
    const errors = body['errors'];
    if (Array.isArray(errors) && errors.length > 0) throw graphQLFailure(operation.name, errors as GraphQLError[]);
    const data = body['data'];
    if (!isJsonObject(data) || !(operation.name in data)) {
      throw new InvalidResponseError(DEPENDENCY, `Railway answered ${operation.name} without data.${operation.name}: ${excerpt(answer.text)}`);
    }
    return data[operation.name];
  }
}

function graphQLFailure(operation: string, errors: readonly GraphQLError[]): Error {
  const first = errors[0] ?? {};
  const text = typeof first.message === 'string' && first.message !== '' ? excerpt(first.message) : 'an error without a message';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  const codes = errors.map((error) => error.extensions?.code).filter((code): code is string => typeof code === 'string');
  const message = `Railway answered ${operation} with: ${text}${more}`;
  return codes.some((code) => TRANSIENT_CODES.has(code)) ? new ProviderUnavailableError(DEPENDENCY, message) : new ProviderRejectedError(DEPENDENCY, message);
}
