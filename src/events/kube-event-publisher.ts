// The seam through which domain events become Kubernetes Events; the runtime's event recorder implements it.
import type { ObjectReference } from './resource-ref.ts';

/** How a domain event appears in `kubectl describe`: an events.k8s.io/v1 Event about `regarding`. */
export interface KubeEvent {
  readonly regarding: ObjectReference;
  readonly type: 'Normal' | 'Warning';
  /** Why the action was taken, CamelCase, at most 128 characters (`DeployStarted`). */
  readonly reason: string;
  /** What was done or failed, CamelCase, at most 128 characters (`Deploy`, `Rollback`). */
  readonly action: string;
  /** A human-readable description, at most 1 kB. */
  readonly note: string;
}

/**
 * Writes Kubernetes Events. Declared here so `events/` never imports `runtime/`; the composition root
 * plugs in the runtime's recorder (which may aggregate repeats as client-go's does).
 */
export interface KubeEventPublisher {
  /** Records one Event; rejects when the API server refused it or could not be reached. */
  publish(event: KubeEvent, signal?: AbortSignal): Promise<void>;
}
