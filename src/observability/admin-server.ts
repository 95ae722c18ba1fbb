// The operator's HTTP surface: /metrics on the metrics address; /healthz, /readyz and admin routes on the probe address.
import type { IncomingMessage } from 'node:http';
import type { ListenAddress } from '../config/config.ts';
import { renderReport, type Checks } from './checks.ts';
import { HttpEndpoint, type RouteHandler } from './http-endpoint.ts';
import type { Logger } from './logger.ts';
import type { Registry } from './metrics.ts';
import type { TlsMaterial } from './self-signed-certificate.ts';

/** Whether a request may read the metrics, and if not the HTTP status that says why. */
export type AccessDecision = { readonly allowed: true } | { readonly allowed: false; readonly status: 401 | 403 | 500; readonly reason: string };

/** Decides each request for /metrics (authentication and authorization, as controller-runtime's secure metrics). */
export type MetricsAccess = (req: IncomingMessage) => Promise<AccessDecision>;

export interface AdminServerSettings {
  readonly metricsAddr: ListenAddress | null;
  readonly probeAddr: ListenAddress | null;
  readonly registry: Registry;
  readonly health: Checks;
  readonly readiness: Checks;
  readonly logger: Logger;
  /** Serve /metrics over HTTPS with this certificate. */
  readonly metricsTls?: TlsMaterial;
  /** Ask this for every /metrics request; without it anyone who reaches the address may read them. */
  readonly metricsAccess?: MetricsAccess;
}

/**
 * Serves metrics and probes. Further admin routes (`/events`, `/agents`, `/debug/breakers`) are added by
 * the components that own them through {@link AdminServer.route} before {@link AdminServer.start}.
 */
export class AdminServer {
  readonly metrics: HttpEndpoint | null;
  readonly probes: HttpEndpoint | null;

  constructor(settings: AdminServerSettings) {
    const { registry, health, readiness, logger } = settings;
    this.metrics = settings.metricsAddr === null ? null : new HttpEndpoint(settings.metricsAddr, logger, settings.metricsTls);
    const access = settings.metricsAccess;
    this.probes = settings.probeAddr === null ? null : new HttpEndpoint(settings.probeAddr, logger);

    this.metrics?.route('/metrics', async (req, res) => {
      const decision = access === undefined ? { allowed: true as const } : await access(req);
      if (!decision.allowed) {
        res.writeHead(decision.status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${decision.reason}\n`);
        return;
      }
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    });
    for (const [path, checks, kind] of [
      ['/healthz', health, 'healthz'],
      ['/readyz', readiness, 'readyz'],
    ] as const) {
      this.probes?.route(path, async (_req, res) => {
        const report = await checks.evaluate();
        res.writeHead(report.ok ? 200 : 500, { 'content-type': 'text/plain; charset=utf-8' }).end(renderReport(kind, report));
      });
    }
  }

  /** Adds an admin route on the probe address; a no-op when probes are turned off. */
  route(path: string, handler: RouteHandler, methods?: readonly string[]): void {
    this.probes?.route(path, handler, methods);
  }

  async start(): Promise<void> {
    await Promise.all([this.metrics?.listen(), this.probes?.listen()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.metrics?.close(), this.probes?.close()]);
  }
}
