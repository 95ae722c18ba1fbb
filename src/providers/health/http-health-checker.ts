// The HTTP health probe: one GET with a deadline, healthy when the status is the expected one; redirects only on the same host.
import type { Clock } from '../../resilience/clock.ts';
import { describeUrl, httpExchange, resolveLocation, type FetchLike, type HttpExchangeDependencies } from '../http-exchange.ts';
import { isProviderError } from '../provider-error.ts';
import type { HealthChecker, HealthProbe, HealthProbeRequest } from './health-checker.ts';

export interface HttpHealthCheckerOptions {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  /** Redirects followed on the same host before the probe counts as unhealthy. Default 5. */
  readonly maxRedirects?: number;
}

const DEPENDENCY = 'health endpoint';
const MESSAGE_LENGTH = 256;

/**
 * Probes with `GET`; healthy when the answer's status equals `expectStatus`. The body is not read.
 *
 * Redirects: with a 3xx `expectStatus` the first answer is compared as is. Otherwise redirects are followed,
 * at most `maxRedirects` of them, while they stay on the same host name (a change of scheme or port on that
 * host, such as HTTP → HTTPS, is followed); a redirect to another host is not followed and makes the probe
 * unhealthy with a message naming that host. `timeoutMs` bounds the probe as a whole, redirects included.
 */
export class HttpHealthChecker implements HealthChecker {
  readonly #http: HttpExchangeDependencies;
  readonly #clock: Clock;
  readonly #maxRedirects: number;

  constructor(options: HttpHealthCheckerOptions) {
    this.#http = { fetch: options.fetch, clock: options.clock };
    this.#clock = options.clock;
    this.#maxRedirects = options.maxRedirects ?? 5;
  }

  async probe(request: HealthProbeRequest): Promise<HealthProbe> {
    const startedMs = this.#clock.now();
    const at = new Date(startedMs).toISOString();
    const result = (healthy: boolean, message: string, statusCode?: number): HealthProbe => ({
      at,
      healthy,
      ...(statusCode === undefined ? {} : { statusCode }),
      latencyMs: Math.max(0, Math.round(this.#clock.now() - startedMs)),
      message: message.slice(0, MESSAGE_LENGTH),
    });
    let host: string;
    try {
      host = new URL(request.url).hostname;
    } catch {
      return result(false, `${describeUrl(request.url)} is not a URL`);
    }
    const followRedirects = request.expectStatus < 300 || request.expectStatus >= 400;
    let url = request.url;
    for (let redirects = 0; ; redirects += 1) {
      const remainingMs = request.timeoutMs - (this.#clock.now() - startedMs);
      if (remainingMs <= 0) return result(false, `no answer within ${request.timeoutMs} ms (after ${redirects} redirects)`);
      let status: number;
      let location: string | null;
      try {
        const answer = await httpExchange(
          this.#http,
          { dependency: DEPENDENCY, method: 'GET', url, headers: { accept: '*/*' }, timeoutMs: remainingMs, maxBodyBytes: 0, ...(request.signal === undefined ? {} : { signal: request.signal }) },
        );
        status = answer.status;
        location = answer.headers.get('location');
      } catch (error) {
        if (request.signal?.aborted === true || !isProviderError(error)) throw error;
        return result(false, error.message);
      }
      if (!followRedirects || status < 300 || status >= 400) {
        const healthy = status === request.expectStatus;
        return result(healthy, healthy ? `HTTP ${status}` : `HTTP ${status}, expected ${request.expectStatus}`, status);
      }
      const next = resolveLocation(location, url);
      if (next === undefined) return result(false, `HTTP ${status} redirect without a usable Location, expected ${request.expectStatus}`, status);
      if (new URL(next).hostname !== host) return result(false, `HTTP ${status} redirect to another host (${describeUrl(next)}), not followed; expected ${request.expectStatus}`, status);
      if (redirects >= this.#maxRedirects) return result(false, `more than ${this.#maxRedirects} redirects, expected ${request.expectStatus}`, status);
      url = next;
    }
  }
}
