// Flux's health check of a custom resource from `healthCheckExprs` (RFC 0009), with a CEL interpreter.
import { parse } from '@marcbachmann/cel-js';
import type { KstatusStatus } from './kstatus.ts';

/** One entry of a Flux Kustomization's `spec.healthCheckExprs`. */
export interface HealthCheckExpressions {
  readonly apiVersion: string;
  readonly kind: string;
  readonly current: string;
  readonly inProgress?: string;
  readonly failed?: string;
}

interface ResourceLike {
  readonly metadata?: { readonly generation?: number };
  readonly status?: { readonly observedGeneration?: number };
}

/**
 * Evaluates as kustomize-controller does: a `status.observedGeneration` that differs from `metadata.generation`
 * is InProgress without evaluating anything; then inProgress, failed and current in that order, the first true
 * one deciding; none true is InProgress. The object's top-level fields are the CEL variables. An expression that
 * cannot be evaluated (it reads a field the object lacks) gives Unknown, which Flux keeps polling.
 *
 * Errors: throws when an expression does not parse (Flux refuses such a Kustomization).
 */
export function fluxHealthOf(expressions: HealthCheckExpressions, resource: ResourceLike & Record<string, unknown>): KstatusStatus {
  const ordered = [
    [expressions.inProgress, 'InProgress'],
    [expressions.failed, 'Failed'],
    [expressions.current, 'Current'],
  ] as const;
  const programs = ordered.flatMap(([source, status]) => (source === undefined ? [] : [{ evaluate: parse(source), status }]));
  const observed = resource.status?.observedGeneration;
  const generation = resource.metadata?.generation;
  if (observed !== undefined && generation !== undefined && observed !== generation) return 'InProgress';
  for (const { evaluate, status } of programs) {
    let result: unknown;
    try {
      result = evaluate(resource);
    } catch {
      return 'Unknown';
    }
    if (typeof result !== 'boolean') return 'Unknown';
    if (result) return status;
  }
  return 'InProgress';
}
