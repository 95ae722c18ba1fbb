// A workflow: a named, ordered list of steps and fan-out groups, checked once when it is declared.
import type { FanOut, Step } from './step.ts';

/** The resource a run belongs to; `uid` and `generation` make the run's id and its idempotency keys. */
export interface WorkflowResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly generation: number;
}

/** A declared workflow. `Input` is what the controller hands each run (the spec, resolved settings). */
export interface Workflow<Input> {
  readonly name: string;
  readonly steps: readonly (Step<Input> | FanOut<Input>)[];
  /** Compensations by name (each the `compensation` of a step). */
  readonly compensations: ReadonlyMap<string, Step<Input>>;
}

const MAX_STEP_NAME = 63;
/** `status.workflow.steps` holds at most 64 entries: every step plus every compensation. */
const MAX_ENTRIES = 64;

/** The run id of a resource generation, `<uid>/<generation>`: `status.workflow.id` and the correlation id. */
export function workflowRunId(resource: Pick<WorkflowResource, 'uid' | 'generation'>): string {
  return `${resource.uid}/${resource.generation}`;
}

/**
 * Declares a workflow.
 *
 * Throws when two steps or compensations share a name, a name is empty or longer than 63 characters,
 * or there are more than 64 of them together (the bound of `status.workflow.steps`).
 */
export function defineWorkflow<Input>(name: string, steps: readonly (Step<Input> | FanOut<Input>)[]): Workflow<Input> {
  const names = new Set<string>();
  const compensations = new Map<string, Step<Input>>();
  const claim = (stepName: string): void => {
    if (stepName.length === 0 || stepName.length > MAX_STEP_NAME) throw new RangeError(`workflow ${name}: step name "${stepName}" must have 1 to ${MAX_STEP_NAME} characters`);
    if (names.has(stepName)) throw new RangeError(`workflow ${name}: step name "${stepName}" is used twice`);
    names.add(stepName);
  };
  for (const definition of steps) {
    claim(definition.name);
    if (definition.compensation !== undefined) {
      claim(definition.compensation.name);
      compensations.set(definition.compensation.name, definition.compensation);
    }
  }
  if (names.size > MAX_ENTRIES) throw new RangeError(`workflow ${name}: ${names.size} steps and compensations, at most ${MAX_ENTRIES}`);
  return { name, steps, compensations };
}
