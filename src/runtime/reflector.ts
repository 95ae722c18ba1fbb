// Runs a watcher into a store and tells subscribers what changed: the runtime's shared informer.
import { objectKey, type KubeObject } from '../kube/kube-object.ts';
import { resourceName, type ResourceDescriptor } from '../kube/resource-descriptor.ts';
import type { Runnable } from './runnable.ts';
import { Store, withoutManagedFields, type IndexFunction } from './store.ts';
import { Watcher, type WatcherOptions } from './watcher.ts';

/** Where a change was learned: a list (the first one, or a relist after 410) or a live watch event. */
export type ChangeSource = 'list' | 'watch';

/**
 * Called synchronously as the store changes; handlers must be quick (enqueue a key, count something).
 * After a relist, `onApply` is called only for objects whose `resourceVersion` changed and `onDelete` for
 * objects that vanished while the watch was down.
 */
export interface ReflectorHandler<T extends KubeObject> {
  onApply?(object: T, previous: T | undefined, source: ChangeSource): void;
  onDelete?(object: T, source: ChangeSource): void;
}

export interface ReflectorOptions extends WatcherOptions {
  readonly indexers?: Readonly<Record<string, IndexFunction<KubeObject>>>;
}

/**
 * Keeps a {@link Store} equal to the API server's view of one resource.
 *
 * Guarantees: a relist replaces the store at once at `init-done`; an object relisted with an unchanged
 * `resourceVersion` keeps its cached instance, so a relist holds one page of new objects at a time rather than
 * a second copy of the cache; handlers see every change after the store already holds it.
 */
export class Reflector<T extends KubeObject = KubeObject> implements Runnable {
  readonly store: Store<T>;
  readonly resource: ResourceDescriptor;
  readonly #watcher: Watcher<T>;
  readonly #handlers = new Set<ReflectorHandler<T>>();
  readonly description: string;

  constructor(options: ReflectorOptions) {
    this.store = new Store<T>(options.indexers as Readonly<Record<string, IndexFunction<T>>> | undefined);
    this.resource = options.resource;
    this.#watcher = new Watcher<T>(options);
    this.description = `reflector of ${resourceName(options.resource)}`;
  }

  /** Adds a handler; returns a function that removes it. */
  subscribe(handler: ReflectorHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Watches until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    let buffer = new Map<string, T>();
    for await (const event of this.#watcher.events(signal)) {
      switch (event.type) {
        case 'init':
          buffer = new Map();
          break;
        case 'init-apply': {
          const key = objectKey(event.object);
          const cached = this.store.get(key);
          const unchanged = cached !== undefined && cached.metadata.resourceVersion === event.object.metadata.resourceVersion;
          buffer.set(key, unchanged ? cached : withoutManagedFields(event.object));
          break;
        }
        case 'init-done': {
          const listed = buffer;
          buffer = new Map();
          const previous = this.store.replace(listed);
          for (const [key, object] of listed) {
            const before = previous.get(key);
            if (before !== object) this.#applied(object, before, 'list');
          }
          for (const [key, object] of previous) if (!listed.has(key)) this.#deleted(object, 'list');
          break;
        }
        case 'apply': {
          const { stored, previous } = this.store.apply(event.object);
          this.#applied(stored, previous, 'watch');
          break;
        }
        case 'delete': {
          const removed = this.store.delete(objectKey(event.object)) ?? withoutManagedFields(event.object);
          this.#deleted(removed, 'watch');
          break;
        }
      }
    }
  }

  #applied(object: T, previous: T | undefined, source: ChangeSource): void {
    for (const handler of this.#handlers) handler.onApply?.(object, previous, source);
  }

  #deleted(object: T, source: ChangeSource): void {
    for (const handler of this.#handlers) handler.onDelete?.(object, source);
  }
}
