// An in-memory ListWatchSource for unit tests: lists from an array, watches are streams the test feeds and breaks.
import type { ListOptions, WatchOptions } from '../../src/kube/client.ts';
import { apiErrorFromStatus } from '../../src/kube/errors.ts';
import type { KubeObject, ObjectList, WatchEvent } from '../../src/kube/kube-object.ts';
import type { ResourceDescriptor } from '../../src/kube/resource-descriptor.ts';
import type { ListWatchSource } from '../../src/runtime/watcher.ts';

export const gizmos: ResourceDescriptor = { group: 'demo.example.com', version: 'v1', plural: 'gizmos', kind: 'Gizmo', namespaced: true };

export function gizmo(name: string, resourceVersion: string, extra: Partial<KubeObject['metadata']> = {}, namespace = 'ns'): KubeObject {
  return { apiVersion: 'demo.example.com/v1', kind: 'Gizmo', metadata: { name, namespace, resourceVersion, uid: `uid-${name}`, generation: 1, ...extra } };
}

/** One open watch: the test pushes events, ends it cleanly, or breaks it. */
export class FakeStream {
  readonly options: WatchOptions;
  readonly #queue: (IteratorResult<WatchEvent> | Error)[] = [];
  #wake: (() => void) | undefined;
  closed = false;

  constructor(options: WatchOptions) {
    this.options = options;
    options.signal?.addEventListener('abort', () => this.end(), { once: true });
  }

  push(event: WatchEvent): void {
    this.#queue.push({ value: event, done: false });
    this.#wake?.();
  }

  end(): void {
    this.#queue.push({ value: undefined, done: true });
    this.#wake?.();
  }

  fail(error: Error): void {
    this.#queue.push(error);
    this.#wake?.();
  }

  /** An ERROR event with a Status of `code` (410 Gone, 500…). */
  error(code: number, reason: string): void {
    this.fail(apiErrorFromStatus(code, { kind: 'Status', code, reason, message: reason }));
  }

  async *iterate(): AsyncIterableIterator<WatchEvent> {
    try {
      for (;;) {
        while (this.#queue.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
        const next = this.#queue.shift() as IteratorResult<WatchEvent> | Error;
        if (next instanceof Error) throw next;
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      this.closed = true;
    }
  }
}

export class FakeListWatch implements ListWatchSource {
  objects: KubeObject[] = [];
  resourceVersion = '100';
  readonly lists: ListOptions[] = [];
  readonly watches: FakeStream[] = [];
  /** Errors the next list / watch calls throw, in order. */
  readonly listErrors: Error[] = [];
  readonly watchErrors: Error[] = [];

  list<T extends KubeObject>(_resource: ResourceDescriptor, options: ListOptions = {}): Promise<ObjectList<T>> {
    this.lists.push(options);
    const error = this.listErrors.shift();
    if (error !== undefined) return Promise.reject(error);
    const limit = options.limit ?? this.objects.length;
    const start = options.continue === undefined ? 0 : Number(options.continue);
    const items = this.objects.slice(start, start + limit).map((object) => structuredClone(object)) as T[];
    const next = start + limit < this.objects.length ? String(start + limit) : undefined;
    return Promise.resolve({ metadata: { resourceVersion: this.resourceVersion, ...(next === undefined ? {} : { continue: next }) }, items });
  }

  watch<T extends KubeObject>(_resource: ResourceDescriptor, options: WatchOptions = {}): Promise<AsyncIterableIterator<WatchEvent<T>>> {
    const error = this.watchErrors.shift();
    if (error !== undefined) return Promise.reject(error);
    const stream = new FakeStream(options);
    this.watches.push(stream);
    return Promise.resolve(stream.iterate() as AsyncIterableIterator<WatchEvent<T>>);
  }

  get current(): FakeStream {
    const stream = this.watches.at(-1);
    if (stream === undefined) throw new Error('no watch yet');
    return stream;
  }
}

/** Lets pending promise chains and stream reads run (a few turns of the event loop; no timers involved). */
export async function settle(turns = 20): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}
