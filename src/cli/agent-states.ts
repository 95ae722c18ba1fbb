// The agents' live state: sampled from the components they are, announced as agent.* events, served on /agents.
import type { AgentCatalog, AgentComponent, AgentState } from '../agents/catalog.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import type { RouteHandler } from '../observability/http-endpoint.ts';
import type { Logger } from '../observability/logger.ts';
import type { Clock, TimerHandle } from '../resilience/clock.ts';

/** A component's state now, and why when it is not simply active. */
export interface ComponentReading {
  readonly state: AgentState;
  readonly message?: string;
}

/** How to read each component's state; components without a probe stay `inactive`. */
export type ComponentProbes = Partial<Record<AgentComponent, () => ComponentReading | Promise<ComponentReading>>>;

/** `/agents`: every agent of the catalog with its live state, as JSON. */
export function agentsRoute(catalog: AgentCatalog): RouteHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(`${JSON.stringify({ agents: catalog.list() }, null, 2)}\n`);
  };
}

/**
 * Keeps the catalog's live state current: samples each component's probe every `intervalMs` (state changes are
 * what `/agents` shows). `start` announces every agent with `agent.registered`; `stop` marks them stopped and
 * announces `agent.deregistered`.
 */
export class AgentStates {
  readonly #catalog: AgentCatalog;
  readonly #probes: ComponentProbes;
  readonly #events: DomainEvents;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: { catalog: AgentCatalog; probes: ComponentProbes; events: DomainEvents; clock: Clock; logger: Logger; intervalMs?: number }) {
    this.#catalog = options.catalog;
    this.#probes = options.probes;
    this.#events = options.events;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 1_000;
  }

  async start(): Promise<void> {
    for (const agent of this.#catalog.entries()) {
      this.#emit(() => this.#events.emit('agent.registered', {}, { agentId: agent.id, name: agent.name, category: agent.category, capabilities: [...agent.capabilities], operatorLevel: agent.operatorLevel }));
    }
    await this.sample();
    this.#schedule();
  }

  /** Reads every probe once and records the states. */
  async sample(): Promise<void> {
    for (const agent of this.#catalog.entries()) {
      const probe = this.#probes[agent.component];
      if (probe === undefined) continue;
      try {
        const reading = await probe();
        if (!this.#stopped) this.#catalog.setState(agent.id, reading.state, reading.message);
      } catch (error) {
        this.#logger.warn({ err: error, agent: agent.id }, 'agent state could not be read');
      }
    }
  }

  stop(reason: string): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    for (const agent of this.#catalog.entries()) {
      this.#catalog.setState(agent.id, 'stopped', reason);
      this.#emit(() => this.#events.emit('agent.deregistered', {}, { agentId: agent.id, name: agent.name, reason }));
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      void this.sample().finally(() => this.#schedule());
    }, this.#intervalMs);
  }

  #emit(emit: () => void): void {
    try {
      emit();
    } catch (error) {
      this.#logger.error({ err: error }, 'agent event dropped');
    }
  }
}
