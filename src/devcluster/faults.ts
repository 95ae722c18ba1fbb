// Fault injection for tests: dropped watches, injected error answers, latency, history compaction, restarts.
import { StatusError, qualifiedResource } from './status-error.ts';

/** Which requests a failure applies to; an absent field matches everything. */
export interface FailureMatch {
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  readonly verb?: string;
  /** Plural resource, optionally with its subresource: `deployments`, `deploys/status`. */
  readonly resource?: string;
  readonly group?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export interface FailureRule extends FailureMatch {
  readonly code: 409 | 429 | 500 | 503;
  /** How many matching requests fail (default 1). */
  readonly count?: number;
  /** `Retry-After` of a 429 or 503, in seconds (default 1). */
  readonly retryAfterSeconds?: number;
}

interface ActiveRule {
  readonly rule: FailureRule;
  remaining: number;
}

/** What the injector needs from the server it belongs to. */
export interface FaultTarget {
  closeWatches(): number;
  compactHistory(): void;
  restart(options: { keepState: boolean; downMs?: number }): Promise<void>;
}

/** A request as the injector matches it. */
export interface FaultRequest {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
}

/**
 * The fault-injection handle. Rules are checked in the order they were added; a request consumes one
 * failure of the first matching rule.
 */
export class FaultInjector {
  #rules: ActiveRule[] = [];
  #latencyMs = 0;
  readonly #target: FaultTarget;

  constructor(target: FaultTarget) {
    this.#target = target;
  }

  /** Closes every open watch stream now (clients see the connection end and re-watch). Returns how many. */
  closeWatches(): number {
    return this.#target.closeWatches();
  }

  /** Makes the next `count` requests matching `rule` fail with its code. */
  failNext(rule: FailureRule): void {
    this.#rules.push({ rule, remaining: Math.max(1, rule.count ?? 1) });
  }

  /** Adds `latencyMs` before every API request is handled (0 removes it). */
  setLatency(latencyMs: number): void {
    this.#latencyMs = Math.max(0, latencyMs);
  }

  get latencyMs(): number {
    return this.#latencyMs;
  }

  /** Drops the event history: watches resuming from an earlier resourceVersion get 410 Expired. */
  compactHistory(): void {
    this.#target.compactHistory();
  }

  /** Stops the API listener and starts it again on the same port, keeping or dropping every object. */
  restart(options: { keepState: boolean; downMs?: number }): Promise<void> {
    return this.#target.restart(options);
  }

  /** Removes every failure rule and the latency. */
  reset(): void {
    this.#rules = [];
    this.#latencyMs = 0;
  }

  /** Pending failures (for tests and the admin endpoint). */
  pending(): { rule: FailureRule; remaining: number }[] {
    return this.#rules.map((active) => ({ rule: active.rule, remaining: active.remaining }));
  }

  /** The injected error for this request, consuming one failure, or undefined. */
  check(request: FaultRequest): StatusError | undefined {
    if (this.#rules.length === 0) return undefined;
    const combined = request.subresource === '' ? request.resource : `${request.resource}/${request.subresource}`;
    const index = this.#rules.findIndex(({ rule }) => (rule.verb === undefined || rule.verb === request.verb) && (rule.resource === undefined || rule.resource === combined || rule.resource === request.resource) && (rule.group === undefined || rule.group === request.group) && (rule.namespace === undefined || rule.namespace === request.namespace) && (rule.name === undefined || rule.name === request.name));
    if (index < 0) return undefined;
    const active = this.#rules[index] as ActiveRule;
    active.remaining--;
    if (active.remaining <= 0) this.#rules.splice(index, 1);
    return injectedError(active.rule, request);
  }
}

function injectedError(rule: FailureRule, request: FaultRequest): StatusError {
  const retryAfter = rule.retryAfterSeconds ?? 1;
  switch (rule.code) {
    case 409:
      return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(request.group, request.resource)} "${request.name}": the object has been modified; please apply your changes to the latest version and try again`, {
        name: request.name,
        ...(request.group === '' ? {} : { group: request.group }),
        kind: request.resource,
      });
    case 429:
      return new StatusError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: retryAfter }, { 'retry-after': String(retryAfter) });
    case 503:
      return new StatusError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', { retryAfterSeconds: retryAfter }, { 'retry-after': String(retryAfter) });
    default:
      return new StatusError(500, 'InternalError', 'Internal error occurred: injected fault', { causes: [{ message: 'injected fault' }] });
  }
}
