// One circuit breaker per external dependency (`redis`, `provider:railway`, a health-check host), by name, with metrics and a debug view.
import type { RouteHandler } from '../observability/http-endpoint.ts';
import type { Logger } from '../observability/logger.ts';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitBreakerSnapshot, type CircuitState } from './circuit-breaker.ts';
import type { Clock } from './clock.ts';
import { BREAKER_STATE_VALUE, type ResilienceMetrics } from './resilience-metrics.ts';

export interface CircuitBreakerRegistryOptions {
  readonly clock: Clock;
  /** Options of every breaker not named in `overrides`. */
  readonly defaults?: CircuitBreakerOptions;
  /** Options by breaker name, merged over `defaults`. */
  readonly overrides?: Readonly<Record<string, CircuitBreakerOptions>>;
  readonly metrics?: ResilienceMetrics;
  readonly logger?: Logger;
}

/**
 * The process's breakers, created on first use. Every component asking for `provider:railway` gets the
 * same breaker, so all calls to one dependency share its state.
 */
export class CircuitBreakerRegistry {
  readonly #options: CircuitBreakerRegistryOptions;
  readonly #breakers = new Map<string, CircuitBreaker>();

  constructor(options: CircuitBreakerRegistryOptions) {
    this.#options = options;
  }

  /** The breaker of `name`, created with the configured options the first time it is asked for. */
  get(name: string): CircuitBreaker {
    let breaker = this.#breakers.get(name);
    if (breaker !== undefined) return breaker;
    const { clock, defaults, overrides, metrics, logger } = this.#options;
    breaker = new CircuitBreaker(name, { ...defaults, ...overrides?.[name] }, {
      clock,
      onTransition: (breakerName: string, from: CircuitState, to: CircuitState) => {
        metrics?.breakerTransition(breakerName, to);
        const fields = { breaker: breakerName, from, to };
        if (to === 'open' || to === 'isolated') logger?.warn(fields, 'circuit breaker opened');
        else logger?.info(fields, 'circuit breaker changed state');
      },
    });
    const created = breaker;
    metrics?.trackBreaker(name, () => BREAKER_STATE_VALUE[created.state]);
    this.#breakers.set(name, breaker);
    return breaker;
  }

  /** Every breaker created so far, by name. */
  snapshot(): CircuitBreakerSnapshot[] {
    return [...this.#breakers.values()].map((breaker) => breaker.snapshot()).sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** The `/debug/breakers` admin route: every breaker's state, counts and options as JSON. */
export function breakersRoute(registry: CircuitBreakerRegistry): RouteHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(`${JSON.stringify({ breakers: registry.snapshot() }, null, 2)}\n`);
  };
}
