// The http check runner: a signed POST of {repository, ref, check} to a checker service, whose JSON answer is the verdict.
import { RESULT_MESSAGE_MAX_LENGTH } from '../../api/sweep.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../resilience/clock.ts';
import { excerpt } from '../excerpt.ts';
import { describeUrl, isJsonObject, parseJsonAnswer, type FetchLike, type HttpExchangeDependencies } from '../http-exchange.ts';
import { InvalidResponseError, InvalidSpecError } from '../provider-error.ts';
import type { SecretSource } from '../secret-reader.ts';
import { signedJsonPost } from '../signed-json-post.ts';
import type { CheckHandle, CheckObservation, CheckRunner, HttpCheckHandle, ObserveCheckRequest, StartCheckRequest } from './check-runner.ts';

export interface HttpCheckRunnerOptions {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secrets: SecretSource;
}

const DEPENDENCY = 'checker';

/**
 * Runs `http` checks: `POST <url>` with body `{repository: {name, url}, ref?, check}`, `Idempotency-Key` and
 * `X-Signature: sha256=<HMAC of the body>` (key from the check's `secretRef`), within the check's
 * `timeoutSeconds`.
 *
 * Guarantees: a 2xx JSON answer `{status: "pass" | "fail", details?}` is the verdict, returned in the handle
 * (so the workflow records it and never asks twice); every other answer is an error with a message of at most
 * a few hundred characters — 5xx, 408, 429 and timeouts `ProviderUnavailableError` (retryable); 4xx and
 * redirects `ProviderRejectedError`; non-JSON or a wrong shape `InvalidResponseError`.
 */
export class HttpCheckRunner implements CheckRunner {
  readonly runner = 'http' as const;
  readonly #http: HttpExchangeDependencies;
  readonly #secrets: SecretSource;

  constructor(options: HttpCheckRunnerOptions) {
    this.#http = { fetch: options.fetch, clock: options.clock, logger: options.logger };
    this.#secrets = options.secrets;
  }

  async start({ unit, idempotencyKey, secrets, signal }: StartCheckRequest): Promise<CheckHandle> {
    const { check, repository, sweep } = unit;
    if (check.runner !== 'http' || check.url === undefined || check.secretRef === undefined) {
      throw new InvalidSpecError(DEPENDENCY, `check "${check.name}" of Sweep ${sweep.namespace}/${sweep.name} is not an http check with a url and a secretRef`);
    }
    const key = await (secrets ?? this.#secrets).read(sweep.namespace, check.secretRef, signal);
    const { answer, request } = await signedJsonPost(this.#http, {
      dependency: DEPENDENCY,
      url: check.url,
      key,
      payload: { repository: { name: repository.name, url: repository.url }, ...(repository.ref === undefined ? {} : { ref: repository.ref }), check: check.name },
      idempotencyKey,
      timeoutMs: check.timeoutSeconds * 1000,
      ...(signal === undefined ? {} : { signal }),
    });
    const verdict = parseJsonAnswer(request, answer);
    const status = isJsonObject(verdict) ? verdict['status'] : undefined;
    if (!isJsonObject(verdict) || (status !== 'pass' && status !== 'fail')) {
      throw new InvalidResponseError(DEPENDENCY, `checker ${describeUrl(check.url)} answered HTTP ${answer.status} without status "pass" or "fail": ${excerpt(answer.text)}`, {
        httpStatus: answer.status,
      });
    }
    const details = verdict['details'];
    const text = details === undefined || details === null ? '' : typeof details === 'string' ? details : JSON.stringify(details);
    return { runner: 'http', verdict: status === 'pass' ? 'passed' : 'failed', message: excerpt(text, RESULT_MESSAGE_MAX_LENGTH), durationMs: answer.latencyMs } satisfies HttpCheckHandle;
  }

  observe({ handle }: ObserveCheckRequest): Promise<CheckObservation> {
    if (handle.runner !== 'http') return Promise.reject(new InvalidSpecError(DEPENDENCY, `the http runner cannot observe a ${handle.runner} check handle`));
    return Promise.resolve({ state: handle.verdict, message: handle.message, durationMs: handle.durationMs });
  }
}
