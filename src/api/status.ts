// The status shared by every kind: observedGeneration, phase, kstatus conditions and the workflow's step state.
import { z } from 'zod';

export const CONDITION_TYPES = ['Ready', 'Reconciling', 'Stalled'] as const;
export const STEP_STATES = ['Pending', 'Running', 'Waiting', 'Succeeded', 'Failed', 'Skipped'] as const;

const timestamp = z.iso.datetime({ offset: true }).max(64).describe('RFC 3339 time.');

export const conditionSchema = z
  .object({
    type: z.string().min(1).max(316).describe('Type of the condition: Ready, Reconciling or Stalled.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe('Machine-readable CamelCase reason for the last transition.'),
    message: z.string().max(32768).describe('Human-readable details of the last transition.'),
    lastTransitionTime: timestamp.describe('When the condition last changed status.'),
    observedGeneration: z.number().int().min(0).optional().describe('The metadata.generation the condition was set for.'),
  })
  .describe('A kstatus condition.');

export const workflowStepSchema = z
  .object({
    name: z.string().min(1).max(63).describe('Name of the step.'),
    state: z.enum(STEP_STATES).describe('State of the step: Pending, Running, Waiting, Succeeded, Failed or Skipped.'),
    attempts: z.number().int().min(0).describe('How many times the step has been run for this generation.'),
    startedAt: timestamp.optional().describe('When the step first ran for this generation.'),
    finishedAt: timestamp.optional().describe('When the step succeeded, failed or was skipped.'),
    nextAttemptAt: timestamp.optional().describe('When a waiting or retrying step runs next.'),
    message: z.string().max(1024).optional().describe('Last outcome of the step, for humans.'),
  })
  .describe('Progress of one workflow step.');

export const workflowStatusSchema = z
  .object({
    id: z.string().min(1).max(128).describe('Correlation id of the run: the resource uid and generation.'),
    startedAt: timestamp.optional().describe('When the run started.'),
    finishedAt: timestamp.optional().describe('When the run finished.'),
    steps: z.array(workflowStepSchema).max(64).describe('Progress of each step, in order.'),
  })
  .describe('The durable state of the workflow run for the current generation.');

/**
 * The fields every kind's status starts with, for kstatus, Flux and Argo CD: observedGeneration, phase,
 * conditions (a list map keyed by `type`) and the workflow. Each kind spreads this shape into its status
 * and adds its own fields.
 */
export function resourceStatusShape<const P extends readonly [string, ...string[]]>(phases: P) {
  return {
    observedGeneration: z.number().int().min(0).optional().describe('The metadata.generation this status was last written for.'),
    phase: z.enum(phases).optional().describe(`Summary for humans: ${phases.join(', ')}.`),
    conditions: z
      .array(conditionSchema)
      .max(16)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('kstatus conditions: Ready, Reconciling and Stalled.'),
    workflow: workflowStatusSchema.optional(),
  };
}

export type Condition = z.infer<typeof conditionSchema>;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type StepState = (typeof STEP_STATES)[number];
export type WorkflowStep = z.infer<typeof workflowStepSchema>;
export type WorkflowStatus = z.infer<typeof workflowStatusSchema>;
