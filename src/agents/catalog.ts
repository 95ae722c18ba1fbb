// The agent catalog: the agents of agent-catalog/agents.yaml, validated at start-up, each with its live state.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { fieldErrorsFromZod, formatFieldError } from '../api/field-error.ts';
import { withUniqueKey } from '../api/validation-rules.ts';
import type { Clock } from '../resilience/clock.ts';

/** The parts of the operator an agent can be; each is played by at most one agent. */
export const AGENT_COMPONENTS = [
  'deploy-controller',
  'sweep-controller',
  'approval-gate',
  'reflector',
  'health-checker',
  'audit-archiver',
  'leader-election',
  'event-bus',
] as const;
export const AGENT_CATEGORIES = ['deployment', 'quality', 'compliance', 'orchestration', 'observability', 'platform'] as const;
/** inactive: not started, or this replica is not the leader; degraded: running but impaired (an open breaker). */
export const AGENT_STATES = ['inactive', 'active', 'degraded', 'stopped'] as const;

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

const agentSchema = z.strictObject({
  id: z.string().min(1).max(63).regex(SLUG, 'must be lower-case words joined by "-"'),
  name: z.string().min(1).max(64),
  description: z.string().min(1).max(512),
  capabilities: z.array(z.string().min(1).max(63).regex(SLUG, 'must be lower-case words joined by "-"')).min(1).max(32),
  operatorLevel: z.boolean(),
  category: z.enum(AGENT_CATEGORIES),
  complianceSensitive: z.boolean(),
  component: z.enum(AGENT_COMPONENTS),
});

export const agentCatalogSchema = z
  .strictObject({ agents: withUniqueKey(z.array(agentSchema).min(1).max(100), 'id') })
  .superRefine(({ agents }, ctx) => {
    const seen = new Set<string>();
    agents.forEach((agent, index) => {
      if (seen.has(agent.component)) {
        ctx.addIssue({
          code: 'custom',
          message: 'each component is played by one agent',
          path: ['agents', index, 'component'],
          params: { fieldError: { type: 'Duplicate', value: JSON.stringify(agent.component) } },
        });
      }
      seen.add(agent.component);
    });
  });

export type AgentEntry = z.infer<typeof agentSchema>;
export type AgentComponent = (typeof AGENT_COMPONENTS)[number];
export type AgentState = (typeof AGENT_STATES)[number];

/** A catalog that cannot be read or is invalid; the message names the file, the field and the problem. */
export class AgentCatalogError extends Error {
  override readonly name = 'AgentCatalogError';
  readonly file: string;
  readonly problems: readonly string[];

  constructor(file: string, problems: readonly string[], options?: ErrorOptions) {
    super(`invalid agent catalog ${file}: ${problems.join('; ')}`, options);
    this.file = file;
    this.problems = problems;
  }
}

export function isAgentCatalogError(error: unknown): error is AgentCatalogError {
  return error instanceof AgentCatalogError;
}

/** Raised when live state is set for an agent the catalog does not hold. */
export class UnknownAgentError extends Error {
  override readonly name = 'UnknownAgentError';
}

export function isUnknownAgentError(error: unknown): error is UnknownAgentError {
  return error instanceof UnknownAgentError;
}

/**
 * Parses and validates catalog YAML; `file` names it in errors.
 *
 * Guarantees: returns agents with unique ids and components, or throws {@link AgentCatalogError}.
 */
export function parseAgentCatalog(text: string, file: string): AgentEntry[] {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new AgentCatalogError(
      file,
      document.errors.map((error) => `invalid YAML: ${(error.message.split('\n')[0] ?? '').replace(/:$/, '')}`),
    );
  }
  const result = agentCatalogSchema.safeParse(document.toJS({ maxAliasCount: 100 }), { reportInput: true });
  if (!result.success) throw new AgentCatalogError(file, fieldErrorsFromZod(result.error.issues).map(formatFieldError));
  return result.data.agents;
}

/** Reads and validates the catalog at `file` (a path, relative to the working directory). */
export async function loadAgentCatalog(file: string): Promise<AgentEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AgentCatalogError(file, [`cannot read it: ${error instanceof Error ? error.message : String(error)}`], { cause: error });
  }
  return parseAgentCatalog(text, file);
}

export interface AgentLiveState {
  readonly state: AgentState;
  /** RFC 3339 time of the last change of state. */
  readonly since: string;
  readonly message?: string;
}

/** An agent with its live state, as `/agents` serves it. */
export interface AgentView extends AgentEntry {
  readonly live: AgentLiveState;
}

export type AgentStateListener = (agent: AgentView, previous: AgentLiveState) => void;

/**
 * The catalog's agents and their live state. Components report their state (by agent id or by component);
 * listeners hear each change, e.g. to emit `agent.registered` and `agent.deregistered`.
 *
 * Assumptions: listeners do not throw; an exception propagates to whoever set the state.
 */
export class AgentCatalog {
  readonly #entries: readonly AgentEntry[];
  readonly #live = new Map<string, AgentLiveState>();
  readonly #listeners = new Set<AgentStateListener>();
  readonly #clock: Clock;

  constructor(entries: readonly AgentEntry[], clock: Clock) {
    this.#entries = entries;
    this.#clock = clock;
    const since = new Date(clock.now()).toISOString();
    for (const entry of entries) this.#live.set(entry.id, { state: 'inactive', since });
  }

  /** The agents as the catalog file lists them. */
  entries(): readonly AgentEntry[] {
    return this.#entries;
  }

  /** Every agent with its live state, in catalog order. */
  list(): AgentView[] {
    return this.#entries.map((entry) => this.#view(entry));
  }

  get(id: string): AgentView | undefined {
    const entry = this.#entries.find((candidate) => candidate.id === id);
    return entry === undefined ? undefined : this.#view(entry);
  }

  /** The agent a component plays, if the catalog lists one. */
  forComponent(component: AgentComponent): AgentView | undefined {
    const entry = this.#entries.find((candidate) => candidate.component === component);
    return entry === undefined ? undefined : this.#view(entry);
  }

  /** Records an agent's state; listeners hear it only when state or message changed. Throws {@link UnknownAgentError}. */
  setState(id: string, state: AgentState, message?: string): void {
    const previous = this.#live.get(id);
    if (previous === undefined) throw new UnknownAgentError(`no agent "${id}" in the catalog`);
    if (previous.state === state && previous.message === message) return;
    const next: AgentLiveState = { state, since: new Date(this.#clock.now()).toISOString(), ...(message === undefined ? {} : { message }) };
    this.#live.set(id, next);
    const view = this.get(id);
    if (view !== undefined) for (const listener of this.#listeners) listener(view, previous);
  }

  /** Records the state of the agent a component plays; returns false when no agent plays it. */
  setComponentState(component: AgentComponent, state: AgentState, message?: string): boolean {
    const agent = this.forComponent(component);
    if (agent === undefined) return false;
    this.setState(agent.id, state, message);
    return true;
  }

  /** Calls `listener` on every change of state; returns the function that stops it. */
  onChange(listener: AgentStateListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #view(entry: AgentEntry): AgentView {
    const live = this.#live.get(entry.id) ?? { state: 'inactive', since: new Date(this.#clock.now()).toISOString() };
    return { ...entry, live };
  }
}
