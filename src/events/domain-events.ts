// The catalog of domain event kinds (data schema, subject, Kubernetes view) and the typed emitters over the bus.
import { z } from 'zod';
import { auditRecordSchema } from './audit-record.ts';
import { describeIssues, EVENT_TYPE_PREFIX, InvalidCloudEventError } from './cloud-event.ts';
import type { EventDraft } from './event-bus.ts';
import type { DomainEvent } from './event-sink.ts';
import type { KubeEvent } from './kube-event-publisher.ts';
import { apiPath, objectReference, type ResourceRef } from './resource-ref.ts';

const MESSAGE_MAX_CHARS = 1024;

/** Free text, cut to 1,024 characters (error messages can be long). */
const message = z.string().transform((text) => (text.length > MESSAGE_MAX_CHARS ? `${text.slice(0, MESSAGE_MAX_CHARS - 1)}…` : text));
const name = z.string().min(1).max(253);
const count = z.number().int().min(0);
const durationMs = z.number().min(0);
const timestamp = z.iso.datetime({ offset: true });

const stepRun = {
  workflow: name,
  step: name,
  /** The fan-out unit (`api/lint`), when the job is one unit of a group. */
  unit: name.optional(),
  attempt: z.number().int().min(1),
};
const deployTarget = { service: name, version: z.string().min(1).max(128), provider: name };
const sweepTally = { total: count, completed: count, passed: count, failed: count, errored: count, skipped: count };

/** How an event of a kind appears as a Kubernetes Event, or `undefined` for none. */
type KubeView<D> = (data: D) => Omit<KubeEvent, 'regarding'> | undefined;

interface KindSpec<S extends z.ZodType> {
  readonly data: S;
  /** The part of the source the event concerns; `about.subject` overrides it. */
  readonly subject?: (data: z.output<S>) => string | undefined;
  /** The source when the event is not about a Kubernetes resource (agents). */
  readonly source?: (data: z.output<S>) => string;
  readonly kube?: KubeView<z.output<S>>;
}

function kind<S extends z.ZodType>(spec: KindSpec<S>): KindSpec<S> {
  return spec;
}

function unitLabel(data: { step: string; unit?: string | undefined }): string {
  return data.unit === undefined ? data.step : `${data.step} ${data.unit}`;
}

/**
 * Every kind of domain event. The CloudEvents type is `io.blackroad.operator.<kind>`.
 * Units of a fan-out group (a Sweep's checks) show up in `kubectl describe` only when they fail.
 */
export const EVENT_KINDS = {
  'job.started': kind({
    data: z.strictObject(stepRun),
    subject: unitLabel,
    kube: (d) => (d.unit === undefined ? { type: 'Normal', reason: 'StepStarted', action: 'RunStep', note: `Step ${d.step} started (attempt ${d.attempt})` } : undefined),
  }),
  'job.completed': kind({
    data: z.strictObject({ ...stepRun, durationMs }),
    subject: unitLabel,
    kube: (d) => (d.unit === undefined ? { type: 'Normal', reason: 'StepSucceeded', action: 'RunStep', note: `Step ${d.step} succeeded (attempt ${d.attempt})` } : undefined),
  }),
  'job.failed': kind({
    data: z.strictObject({ ...stepRun, durationMs: durationMs.optional(), retryable: z.boolean(), message, nextAttemptAt: timestamp.optional() }),
    subject: unitLabel,
    kube: (d) => ({
      type: 'Warning',
      reason: 'StepFailed',
      action: 'RunStep',
      note: `${d.unit === undefined ? 'Step' : 'Unit'} ${unitLabel(d)} failed (attempt ${d.attempt}${d.retryable ? ', will retry' : ''}): ${d.message}`,
    }),
  }),
  'workflow.started': kind({
    data: z.strictObject({ workflow: name, generation: count, steps: z.array(name).max(64) }),
    subject: (d) => d.workflow,
    kube: (d) => ({ type: 'Normal', reason: 'WorkflowStarted', action: 'Reconcile', note: `Workflow ${d.workflow} started for generation ${d.generation}` }),
  }),
  'workflow.completed': kind({
    data: z.strictObject({ workflow: name, generation: count, durationMs }),
    subject: (d) => d.workflow,
    kube: (d) => ({ type: 'Normal', reason: 'WorkflowSucceeded', action: 'Reconcile', note: `Workflow ${d.workflow} succeeded for generation ${d.generation}` }),
  }),
  'workflow.failed': kind({
    data: z.strictObject({ workflow: name, generation: count, step: name.optional(), durationMs: durationMs.optional(), message }),
    subject: (d) => d.workflow,
    kube: (d) => ({ type: 'Warning', reason: 'WorkflowFailed', action: 'Reconcile', note: `Workflow ${d.workflow} failed${d.step === undefined ? '' : ` at step ${d.step}`}: ${d.message}` }),
  }),
  'agent.registered': kind({
    data: z.strictObject({ agentId: name, name: z.string().min(1).max(128), category: z.string().min(1).max(64), capabilities: z.array(z.string().min(1).max(128)).max(64), operatorLevel: z.boolean() }),
    subject: (d) => d.agentId,
    source: (d) => `/agents/${d.agentId}`,
  }),
  'agent.deregistered': kind({
    data: z.strictObject({ agentId: name, name: z.string().min(1).max(128), reason: message }),
    subject: (d) => d.agentId,
    source: (d) => `/agents/${d.agentId}`,
  }),
  'deploy.started': kind({
    data: z.strictObject({ ...deployTarget, previousVersion: z.string().min(1).max(128).optional() }),
    subject: (d) => d.version,
    kube: (d) => ({ type: 'Normal', reason: 'DeployStarted', action: 'Deploy', note: `Deploying ${d.service} ${d.version} with ${d.provider}` }),
  }),
  'deploy.succeeded': kind({
    data: z.strictObject({ ...deployTarget, providerRef: z.string().min(1).max(256).optional(), durationMs }),
    subject: (d) => d.version,
    kube: (d) => ({ type: 'Normal', reason: 'DeploySucceeded', action: 'Deploy', note: `Deployed ${d.service} ${d.version} with ${d.provider}` }),
  }),
  'deploy.failed': kind({
    data: z.strictObject({ ...deployTarget, step: name, message }),
    subject: (d) => d.version,
    kube: (d) => ({ type: 'Warning', reason: 'DeployFailed', action: 'Deploy', note: `Deploy of ${d.service} ${d.version} failed at step ${d.step}: ${d.message}` }),
  }),
  'deploy.rolledback': kind({
    data: z.strictObject({ ...deployTarget, restoredVersion: z.string().min(1).max(128).optional(), reason: z.string().min(1).max(128), message }),
    subject: (d) => d.version,
    kube: (d) => ({
      type: 'Warning',
      reason: 'RolledBack',
      action: 'Rollback',
      note: `Rolled ${d.service} back from ${d.version}${d.restoredVersion === undefined ? '' : ` to ${d.restoredVersion}`} (${d.reason}): ${d.message}`,
    }),
  }),
  'approval.requested': kind({
    data: z.strictObject({ service: name, version: z.string().min(1).max(128), category: z.string().min(1).max(64) }),
    subject: (d) => d.version,
    kube: (d) => ({ type: 'Normal', reason: 'ApprovalRequested', action: 'Approve', note: `Deploy of ${d.service} ${d.version} (${d.category}) waits for approval` }),
  }),
  'approval.granted': kind({
    data: z.strictObject({ service: name, version: z.string().min(1).max(128), approvedBy: z.string().min(1).max(256) }),
    subject: (d) => d.version,
    kube: (d) => ({ type: 'Normal', reason: 'ApprovalGranted', action: 'Approve', note: `Deploy of ${d.service} ${d.version} approved by ${d.approvedBy}` }),
  }),
  'sweep.started': kind({
    data: z.strictObject({ repositories: count, checks: count, total: count, concurrency: z.number().int().min(1) }),
    kube: (d) => ({ type: 'Normal', reason: 'SweepStarted', action: 'Sweep', note: `Sweeping ${d.repositories} repositories with ${d.checks} checks (${d.total} units, ${d.concurrency} at a time)` }),
  }),
  'sweep.progress': kind({
    data: z.strictObject(sweepTally),
  }),
  'sweep.completed': kind({
    data: z.strictObject({ ...sweepTally, durationMs }),
    kube: (d) => ({
      type: d.failed + d.errored > 0 ? 'Warning' : 'Normal',
      reason: 'SweepCompleted',
      action: 'Sweep',
      note: `Sweep completed: ${d.passed} passed, ${d.failed} failed, ${d.errored} errored, ${d.skipped} skipped of ${d.total}`,
    }),
  }),
  'sweep.failed': kind({
    data: z.strictObject({ ...sweepTally, message }),
    kube: (d) => ({ type: 'Warning', reason: 'SweepFailed', action: 'Sweep', note: `Sweep stopped after ${d.completed} of ${d.total} units: ${d.message}` }),
  }),
  'audit.recorded': kind({
    data: auditRecordSchema,
    subject: (d) => d.step ?? d.action,
  }),
} as const;

export type EventKind = keyof typeof EVENT_KINDS;
/** The data an emitter passes for a kind. */
export type EventData<K extends EventKind> = z.input<(typeof EVENT_KINDS)[K]['data']>;

/** What an event is about. */
export interface EventAbout {
  /** The Kubernetes resource: its API path becomes the source, and its Kubernetes Event is recorded on it. */
  readonly resource?: ResourceRef;
  /** The workflow's correlation id (resource uid and generation). */
  readonly correlationId?: string;
  /** Overrides the kind's subject. */
  readonly subject?: string;
}

/** The full CloudEvents type of a kind. */
export function eventType(kind: EventKind): string {
  return `${EVENT_TYPE_PREFIX}${kind}`;
}

/** The part of the bus the emitters need. */
export interface EventEmitter {
  emit(draft: EventDraft): DomainEvent;
}

/**
 * Typed emitters: `events.emit('deploy.started', { resource, correlationId }, { service, version, provider })`.
 * The data is checked against its kind's schema at compile time and again at run time.
 */
export class DomainEvents {
  readonly #bus: EventEmitter;

  constructor(bus: EventEmitter) {
    this.#bus = bus;
  }

  /**
   * Emits one event of `kind`; returns it as the bus keeps it.
   *
   * Errors: throws {@link InvalidCloudEventError} when the data does not satisfy the kind's schema or
   * when the event has no source (neither a resource nor an agent).
   */
  emit<K extends EventKind>(kind: K, about: EventAbout, data: EventData<K>): DomainEvent {
    const spec = EVENT_KINDS[kind] as KindSpec<z.ZodType>;
    const parsed = spec.data.safeParse(data);
    if (!parsed.success) throw new InvalidCloudEventError(`invalid ${kind} data`, describeIssues(parsed.error), { cause: parsed.error });
    const value = parsed.data;
    const source = about.resource === undefined ? spec.source?.(value) : apiPath(about.resource);
    if (source === undefined) throw new InvalidCloudEventError(`invalid ${kind} event`, ['source: a resource is required']);
    const subject = about.subject ?? spec.subject?.(value);
    const view = about.resource === undefined ? undefined : spec.kube?.(value);
    return this.#bus.emit({
      type: eventType(kind),
      source,
      ...(subject === undefined ? {} : { subject }),
      ...(about.correlationId === undefined ? {} : { correlationId: about.correlationId }),
      data: value,
      ...(view === undefined || about.resource === undefined ? {} : { kubeEvent: { regarding: objectReference(about.resource), ...view } }),
    });
  }
}
