// Prometheus metrics of Sweeps: units finished by check and result, and units running now.
import { Counter, Gauge, type Registry } from 'prom-client';

/** How a unit finished, as the `result` label says it. */
export type UnitResultLabel = 'passed' | 'failed' | 'errored' | 'skipped';

/** Sweep metrics; one per registry, created in the composition root. */
export class SweepMetrics {
  readonly #units: Counter<'check' | 'result'>;
  #running: () => number = () => 0;

  constructor(registry: Registry) {
    this.#units = new Counter({
      name: 'blackroad_sweep_units_total',
      help: 'Finished Sweep units by check and result (passed, failed, errored, skipped).',
      labelNames: ['check', 'result'],
      registers: [registry],
    });
    const running = (): number => this.#running();
    new Gauge({
      name: 'blackroad_sweep_units_running',
      help: 'Sweep units running now (started, not finished), on the replica that leads.',
      registers: [registry],
      collect() {
        this.set(running());
      },
    });
  }

  unitFinished(check: string, result: UnitResultLabel): void {
    this.#units.inc({ check, result });
  }

  /**
   * Where the running gauge is read from at scrape time: the controller counts the units its cached Sweeps
   * show in progress. Read at scrape time from the cache, it needs no bookkeeping when a Sweep is deleted.
   */
  countRunningWith(source: () => number): void {
    this.#running = source;
  }
}
