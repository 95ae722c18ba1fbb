// The Deploy controller as the composition root runs it: the Deploy cache and the runtime controller around the reconciler.
import type { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { ControllerContext, ControllerSettings, ResourceController } from '../controller-context.ts';
import { DEPLOYS, type DeployObject } from './deploy-resource.ts';
import { deployPredicate, DeployReconciler, type DeployReconcilerOptions } from './deploy-reconciler.ts';

/**
 * Reconciles every Deploy of the watched namespaces. The runtime controller gets no status writer: the
 * reconciler writes Stalled itself, with the phase, so each change is one write.
 */
export class DeployController implements ResourceController {
  readonly name = 'deploy';
  readonly component = 'deploy-controller' as const;
  readonly #reconciler: DeployReconciler;

  constructor(context: ControllerContext, options: DeployReconcilerOptions = {}) {
    this.#reconciler = new DeployReconciler(context, options);
  }

  register(manager: Manager, settings: ControllerSettings): Controller<DeployObject> {
    return manager.controller<DeployObject>({
      name: this.name,
      for: manager.reflector<DeployObject>(DEPLOYS),
      predicate: deployPredicate,
      reconciler: this.#reconciler,
      maxConcurrentReconciles: settings.workers,
      resyncPeriodMs: settings.resyncPeriodMs,
    });
  }
}
