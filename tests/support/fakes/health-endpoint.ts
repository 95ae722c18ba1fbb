// A service's health endpoint whose health, latency and redirects a test controls.
import { sendText, startFakeHttpServer, type FakeRequest, type FakeServerOptions } from './fake-http-server.ts';

export interface HealthEndpoint {
  /** The endpoint (`…/healthz`). */
  readonly url: string;
  /** `true`: 200 "ok"; `false`: `unhealthyStatus`. Default true. */
  healthy: boolean;
  /** Status of an unhealthy answer. Default 503. */
  unhealthyStatus: number;
  /** When set, `/healthz` answers 302 with this `Location` instead. */
  redirectTo: string | undefined;
  /** Real time before each answer; `Infinity` never answers (for timeouts on a manual clock). Default 0. */
  delayMs: number;
  /** Probes received. */
  readonly probes: number;
  /** Probes received and not answered yet. */
  readonly inFlight: number;
  close(): Promise<void>;
}

export interface HealthEndpointOptions extends FakeServerOptions {
  /** The health of one probe of `/healthz` (a soak keys it by query); undefined falls back to `healthy`. */
  readonly healthOf?: (request: FakeRequest) => boolean | undefined;
}

/** Starts a health endpoint. `/elsewhere` always answers 200, as a redirect target on the same host. */
export async function startHealthEndpoint(options: HealthEndpointOptions = {}): Promise<HealthEndpoint> {
  let probes = 0;
  const server = await startFakeHttpServer((request, response) => {
    probes += 1;
    if (endpoint.delayMs === Number.POSITIVE_INFINITY) return;
    server.later(endpoint.delayMs, () => {
      if (request.path === '/elsewhere') sendText(response, 200, 'ok');
      else if (request.path !== '/healthz') sendText(response, 404, 'not found');
      else if (endpoint.redirectTo !== undefined) sendText(response, 302, 'moved', { location: endpoint.redirectTo });
      else if (options.healthOf?.(request) ?? endpoint.healthy) sendText(response, 200, 'ok');
      else sendText(response, endpoint.unhealthyStatus, 'unhealthy');
    });
  }, options);
  const endpoint: HealthEndpoint = {
    url: `${server.url}/healthz`,
    healthy: true,
    unhealthyStatus: 503,
    redirectTo: undefined,
    delayMs: 0,
    get probes() {
      return probes;
    },
    get inFlight() {
      return server.inFlight;
    },
    close: () => server.close(),
  };
  return endpoint;
}
