// Prometheus metrics of finished Deploys and rollbacks, on an injected registry.
import { Counter } from 'prom-client';
import { DEPLOY_PROVIDERS, type DeployProviderName } from '../../api/deploy.ts';
import type { Registry } from '../../observability/metrics.ts';

/** How a Deploy's run ended. */
export type DeployResult = 'succeeded' | 'rolled_back' | 'failed';
/** Why a rollback ran, as `status.rollback.reason` says it. */
export type RollbackReason = 'HealthCheckFailed' | 'RolloutDeadlineExceeded' | 'ProviderFailed' | 'DeployDeleted';

const RESULTS: readonly DeployResult[] = ['succeeded', 'rolled_back', 'failed'];
const REASONS: readonly RollbackReason[] = ['HealthCheckFailed', 'RolloutDeadlineExceeded', 'ProviderFailed', 'DeployDeleted'];

/** `blackroad_deploys_total` and `blackroad_rollbacks_total`; every label set starts at 0 so dashboards see the series at once. */
export class DeployMetrics {
  readonly #deploys: Counter<'provider' | 'result'>;
  readonly #rollbacks: Counter<'provider' | 'reason'>;

  constructor(registry: Registry) {
    this.#deploys = new Counter({
      name: 'blackroad_deploys_total',
      help: 'Finished Deploys by provider and result (succeeded, rolled_back, failed).',
      labelNames: ['provider', 'result'],
      registers: [registry],
    });
    this.#rollbacks = new Counter({
      name: 'blackroad_rollbacks_total',
      help: 'Rollbacks by provider and reason (HealthCheckFailed, RolloutDeadlineExceeded, ProviderFailed, DeployDeleted).',
      labelNames: ['provider', 'reason'],
      registers: [registry],
    });
    for (const provider of DEPLOY_PROVIDERS) {
      for (const result of RESULTS) this.#deploys.inc({ provider, result }, 0);
      for (const reason of REASONS) this.#rollbacks.inc({ provider, reason }, 0);
    }
  }

  deployFinished(provider: DeployProviderName, result: DeployResult): void {
    this.#deploys.inc({ provider, result });
  }

  rollbackFinished(provider: DeployProviderName, reason: string): void {
    this.#rollbacks.inc({ provider, reason });
  }
}
