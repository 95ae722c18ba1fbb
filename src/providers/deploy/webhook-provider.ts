// The webhook deploy provider: a signed JSON POST to a deploy hook, then polls of the status URL the hook answered with.
import type { DeploySpec, ProviderRef } from '../../api/deploy.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../resilience/clock.ts';
import { excerpt } from '../excerpt.ts';
import { describeUrl, httpExchangeOk, isJsonObject, parseJsonAnswer, resolveLocation, type FetchLike, type HttpExchangeDependencies, type HttpExchangeRequest } from '../http-exchange.ts';
import { InvalidResponseError } from '../provider-error.ts';
import type { SecretReader } from '../secret-reader.ts';
import { signedJsonPost } from '../signed-json-post.ts';
import {
  providerSettings,
  type DeployProvider,
  type DeployRequest,
  type DeployTarget,
  type ObserveRequest,
  type RecordedPrevious,
  type RecordPreviousRequest,
  type RollbackRequest,
  type RolloutObservation,
} from './deploy-provider.ts';

type WebhookSettings = NonNullable<DeploySpec['provider']['webhook']>;

export interface WebhookProviderOptions {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secrets: SecretReader;
  /** Deadline of one request to the hook or its status URL. Default 30 s. */
  readonly requestTimeoutMs?: number;
}

const DEPENDENCY = 'webhook';
const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_ID_LENGTH = 256;
const MAX_URL_LENGTH = 2048;
const STATES: Readonly<Record<string, RolloutObservation['state']>> = { pending: 'progressing', succeeded: 'succeeded', failed: 'failed' };

/**
 * Deploys through a generic deploy hook (protocol in ADR 009): `POST` of
 * `{action, service, version, namespace, name, idempotencyKey}` with `Idempotency-Key` and
 * `X-Signature: sha256=<HMAC of the body>`; the hook answers 2xx with `{statusUrl, id?}` or a `Location`;
 * `GET <statusUrl>` answers `{state: pending|succeeded|failed, message?}`. A rollback is the same POST with
 * `action: rollback` and `toVersion`.
 *
 * Guarantees: every POST carries the step's key, so a hook that de-duplicates by `Idempotency-Key` runs each
 * deploy and rollback once; redirects are never followed; the HMAC key is read from the Secret on each call.
 */
export class WebhookProvider implements DeployProvider {
  readonly name = 'webhook' as const;
  readonly #http: HttpExchangeDependencies;
  readonly #logger: Logger;
  readonly #secrets: SecretReader;
  readonly #timeoutMs: number;

  constructor(options: WebhookProviderOptions) {
    this.#http = { fetch: options.fetch, clock: options.clock, logger: options.logger };
    this.#logger = options.logger;
    this.#secrets = options.secrets;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  recordPrevious(_request: RecordPreviousRequest): Promise<RecordedPrevious> {
    // The hook keeps its own history; a rollback names the version to return to.
    return Promise.resolve({ recordedAt: new Date(this.#http.clock.now()).toISOString() });
  }

  async deploy({ target, idempotencyKey, signal }: DeployRequest): Promise<ProviderRef> {
    const settings = providerSettings(target, 'webhook');
    const body = { action: 'deploy', service: target.spec.service, version: target.spec.version, namespace: target.namespace, name: target.name, idempotencyKey };
    return this.#post(target, settings, body, idempotencyKey, signal);
  }

  async observe({ target, ref, signal }: ObserveRequest): Promise<RolloutObservation> {
    providerSettings(target, 'webhook');
    if (ref.statusUrl === undefined) throw new InvalidResponseError(DEPENDENCY, `the deploy hook gave no status URL for operation ${ref.id}`);
    const request: HttpExchangeRequest = {
      dependency: DEPENDENCY,
      method: 'GET',
      url: ref.statusUrl,
      headers: { accept: 'application/json' },
      timeoutMs: this.#timeoutMs,
      ...(signal === undefined ? {} : { signal }),
    };
    const answer = await httpExchangeOk(this.#http, request);
    const body = parseJsonAnswer(request, answer);
    const state = isJsonObject(body) && typeof body['state'] === 'string' ? STATES[body['state']] : undefined;
    if (state === undefined || !isJsonObject(body)) {
      throw new InvalidResponseError(DEPENDENCY, `the deploy hook's status URL ${describeUrl(ref.statusUrl)} answered without state pending, succeeded or failed: ${excerpt(answer.text)}`);
    }
    const detail = typeof body['message'] === 'string' && body['message'] !== '' ? `: ${excerpt(body['message'])}` : '';
    return { state, message: `deploy hook reports ${String(body['state'])}${detail}` };
  }

  async rollback({ target, previous, idempotencyKey, signal }: RollbackRequest): Promise<ProviderRef | undefined> {
    const settings = providerSettings(target, 'webhook');
    const body = {
      action: 'rollback',
      service: target.spec.service,
      version: target.spec.version,
      toVersion: previous.version,
      ...(previous.image === undefined ? {} : { toImage: previous.image }),
      namespace: target.namespace,
      name: target.name,
      idempotencyKey,
    };
    return this.#post(target, settings, body, idempotencyKey, signal);
  }

  /** POSTs a signed request and reads the operation the hook started from its answer. */
  async #post(target: DeployTarget, settings: WebhookSettings, payload: Record<string, unknown>, idempotencyKey: string, signal: AbortSignal | undefined): Promise<ProviderRef> {
    const key = await this.#secrets.read(target.namespace, settings.secretRef, signal);
    const { answer, request } = await signedJsonPost(this.#http, {
      dependency: DEPENDENCY,
      url: settings.url,
      key,
      payload,
      idempotencyKey,
      timeoutMs: this.#timeoutMs,
      ...(signal === undefined ? {} : { signal }),
    });
    const parsed = answer.text.trim() === '' ? {} : parseJsonAnswer(request, answer);
    const fields = isJsonObject(parsed) ? parsed : {};
    const given = typeof fields['statusUrl'] === 'string' ? fields['statusUrl'] : answer.headers.get('location');
    const statusUrl = resolveLocation(given, settings.url);
    if (statusUrl === undefined || !/^https?:$/.test(new URL(statusUrl).protocol) || statusUrl.length > MAX_URL_LENGTH) {
      throw new InvalidResponseError(DEPENDENCY, `the deploy hook ${describeUrl(settings.url)} answered HTTP ${answer.status} without a usable status URL (statusUrl or Location): ${excerpt(answer.text) || 'empty body'}`);
    }
    const id = typeof fields['id'] === 'string' && fields['id'] !== '' ? fields['id'].slice(0, MAX_ID_LENGTH) : idempotencyKey.slice(0, MAX_ID_LENGTH);
    this.#logger.info({ dependency: DEPENDENCY, url: describeUrl(settings.url), action: payload['action'], operation: id }, 'deploy hook accepted');
    return { provider: 'webhook', id, statusUrl };
  }
}
