// Watch streams: newline-delimited events fanned out from the store, each change serialized once for every watcher.
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../resilience/clock.ts';
import type { JsonObject } from './json.ts';
import { LineStream } from './line-stream.ts';
import type { ObjectService } from './object-service.ts';
import { apiVersionOf, type ResourceType } from './resource-type.ts';
import type { Selector } from './selectors.ts';
import { StatusError } from './status-error.ts';
import type { EventType, Store, StoreEvent, StoredObject } from './store.ts';
import { renderTable } from './table.ts';

export interface WatchRequest {
  readonly type: ResourceType;
  /** '' watches every namespace. */
  readonly namespace: string;
  readonly labelSelector: Selector;
  readonly fieldSelector: Selector;
  readonly resourceVersion: string | undefined;
  readonly sendInitialEvents: boolean;
  readonly allowBookmarks: boolean;
  readonly timeoutSeconds: number | undefined;
  /** Set when the client asked for Table events (`kubectl get -w`). */
  readonly table: { readonly includeObject: string } | undefined;
}

export interface WatchSettings {
  /** Timestamps of Table cells and every watch timer (timeouts, bookmarks, slow-watcher checks). */
  readonly clock: Clock;
  /** Interval of periodic bookmarks (kube-apiserver: about a minute). */
  readonly bookmarkIntervalMs: number;
  /** Watch length when the client sets no timeoutSeconds. */
  readonly defaultTimeoutMs: number;
  /** A watcher whose unsent data (queued lines and socket buffer) still exceeds this `slowWatcherGraceMs` later is closed; it resumes from its last resourceVersion. */
  readonly maxBufferedBytes: number;
  readonly slowWatcherGraceMs: number;
}

interface Watcher {
  readonly request: WatchRequest;
  readonly stream: LineStream;
  readonly startRv: number;
  columnsSent: boolean;
  overflowCheck: boolean;
  /** Ends the watch; queued lines are written first unless the watcher is too slow to keep (over the bound). */
  close(queued?: 'write' | 'drop'): void;
}

function fieldsOf(stored: StoredObject): Record<string, string> {
  return { 'metadata.name': stored.name, 'metadata.namespace': stored.namespace, ...stored.fields };
}

function matches(request: WatchRequest, stored: StoredObject | undefined): boolean {
  if (stored === undefined) return false;
  if (request.namespace !== '' && stored.namespace !== request.namespace) return false;
  if (!request.labelSelector.empty && !request.labelSelector.matches(stored.labels)) return false;
  if (!request.fieldSelector.empty && !request.fieldSelector.matches(fieldsOf(stored))) return false;
  return true;
}

/** The ERROR event line of a Status. */
export function errorLine(error: StatusError): string {
  return `{"type":"ERROR","object":${JSON.stringify(error.toStatus())}}\n`;
}

/**
 * Serves watch requests.
 *
 * Guarantees: a watcher sees every matching change after its start point exactly once and in order; a
 * MODIFIED that moves an object into or out of its selectors arrives as ADDED or DELETED; every change is
 * serialized once per resource version, whatever the number of watchers.
 */
export class WatchHub {
  readonly #store: Store;
  readonly #objects: ObjectService;
  readonly #settings: WatchSettings;
  readonly #byBucket = new Map<string, { watchers: Set<Watcher>; unsubscribe: () => void }>();

  constructor(store: Store, objects: ObjectService, settings: WatchSettings) {
    this.#store = store;
    this.#objects = objects;
    this.#settings = settings;
  }

  /** Open watchers. */
  get size(): number {
    let total = 0;
    for (const entry of this.#byBucket.values()) total += entry.watchers.size;
    return total;
  }

  /** Ends every open watch stream; returns how many were closed. */
  closeAll(): number {
    let closed = 0;
    for (const entry of [...this.#byBucket.values()]) {
      for (const watcher of [...entry.watchers]) {
        watcher.close();
        closed++;
      }
    }
    return closed;
  }

  #line(type: ResourceType, eventType: EventType, stored: StoredObject): string {
    return `{"type":"${eventType}","object":${this.#objects.render(type, stored)}}\n`;
  }

  #tableLine(watcher: Watcher, eventType: EventType, stored: StoredObject): string {
    const obj = this.#objects.parse(watcher.request.type, stored);
    const table = renderTable(watcher.request.type, [obj], { resourceVersion: String(stored.rv) }, this.#settings.clock.now(), watcher.request.table?.includeObject ?? 'Metadata', !watcher.columnsSent);
    watcher.columnsSent = true;
    return `{"type":"${eventType}","object":${JSON.stringify(table)}}\n`;
  }

  #send(watcher: Watcher, line: string): void {
    const stream = watcher.stream;
    stream.push(line);
    if (stream.backlog > this.#settings.maxBufferedBytes && !watcher.overflowCheck) {
      // A burst (a deletecollection) may fill the buffer of a healthy watcher; only one that has not
      // drained it a while later is slow, and is closed like kube-apiserver drops a blocked watcher.
      watcher.overflowCheck = true;
      this.#settings.clock.setTimeout(() => {
        watcher.overflowCheck = false;
        if (stream.backlog > this.#settings.maxBufferedBytes) watcher.close('drop');
      }, this.#settings.slowWatcherGraceMs);
    }
  }

  #dispatch(watchers: Set<Watcher>, event: StoreEvent): void {
    // One serialized line per (resource type, event type): shared by every watcher that gets it.
    const lines = new Map<string, string>();
    for (const watcher of watchers) {
      const request = watcher.request;
      if (event.rv <= watcher.startRv) continue;
      const now = matches(request, event.type === 'DELETED' ? event.prev : event.object);
      const before = event.type === 'MODIFIED' ? matches(request, event.prev) : now;
      let eventType: EventType;
      if (event.type === 'MODIFIED') {
        if (now && before) eventType = 'MODIFIED';
        else if (now) eventType = 'ADDED';
        else if (before) eventType = 'DELETED';
        else continue;
      } else if (now) eventType = event.type;
      else continue;
      if (request.table !== undefined) {
        this.#send(watcher, this.#tableLine(watcher, eventType, event.object));
        continue;
      }
      const key = `${request.type.group}/${request.type.version}|${eventType}`;
      let line = lines.get(key);
      if (line === undefined) {
        line = this.#line(request.type, eventType, event.object);
        lines.set(key, line);
      }
      this.#send(watcher, line);
    }
  }

  /** Streams a watch to `res` until timeout, client disconnect, {@link WatchHub.closeAll} or an ERROR. */
  serve(request: WatchRequest, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    // Clients wait for the headers before they act; send them now, not with the first event.
    res.flushHeaders();
    const current = this.#store.resourceVersion;
    const bucket = request.type.storage;
    let initial: StoredObject[] = [];
    let replay: StoreEvent[] = [];
    let startRv = current;
    const rvText = request.resourceVersion;
    const fromScratch = rvText === undefined || rvText === '' || rvText === '0' || request.sendInitialEvents;
    if (fromScratch) {
      initial = this.#store.list(bucket, request.namespace === '' ? undefined : request.namespace).filter((stored) => matches(request, stored));
    } else {
      const rv = Number(rvText);
      if (!Number.isInteger(rv) || rv < 0) {
        res.end(errorLine(new StatusError(400, 'BadRequest', `invalid resource version: ${rvText}`)));
        return;
      }
      if (rv > current) {
        res.end(errorLine(new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${rv}, current: ${current}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 })));
        return;
      }
      const events = this.#store.eventsSince(rv, bucket);
      if (events === undefined) {
        res.end(errorLine(new StatusError(410, 'Expired', `too old resource version: ${rv} (${this.#store.compactedResourceVersion + 1})`)));
        return;
      }
      replay = events;
      startRv = rv;
    }
    let entry = this.#byBucket.get(bucket);
    if (entry === undefined) {
      const watchers = new Set<Watcher>();
      const created = { watchers, unsubscribe: this.#store.subscribe(bucket, (event) => this.#dispatch(watchers, event)) };
      this.#byBucket.set(bucket, created);
      entry = created;
    }
    const clock = this.#settings.clock;
    const timers: TimerHandle[] = [];
    let closed = false;
    const watchers = entry.watchers;
    const watcher: Watcher = {
      request,
      stream: new LineStream(res),
      startRv: current,
      columnsSent: false,
      overflowCheck: false,
      // A timeout or shutdown writes what is queued, unless the reader is already too slow to keep: its backlog
      // would be copied into its socket at once (a client resumes from the last resourceVersion it saw anyway).
      close: (queued = watcher.stream.backlog > this.#settings.maxBufferedBytes ? 'drop' : 'write') => {
        if (closed) return;
        closed = true;
        for (const timer of timers) clock.clearTimeout(timer);
        watchers.delete(watcher);
        const owner = this.#byBucket.get(bucket);
        if (owner !== undefined && owner.watchers.size === 0) {
          owner.unsubscribe();
          this.#byBucket.delete(bucket);
        }
        watcher.stream.end(queued);
      },
    };
    for (const stored of initial) this.#send(watcher, request.table !== undefined ? this.#tableLine(watcher, 'ADDED', stored) : this.#line(request.type, 'ADDED', stored));
    if (replay.length > 0) {
      const replayWatcher = { ...watcher, startRv };
      for (const event of replay) this.#dispatch(new Set([replayWatcher as Watcher]), event);
      watcher.columnsSent = replayWatcher.columnsSent;
    }
    const bookmark = (annotations?: JsonObject): string =>
      `{"type":"BOOKMARK","object":${JSON.stringify({ kind: request.type.kind, apiVersion: apiVersionOf(request.type), metadata: { resourceVersion: String(this.#store.resourceVersion), ...(annotations === undefined ? {} : { annotations }) } })}}\n`;
    if (request.sendInitialEvents && request.allowBookmarks) this.#send(watcher, bookmark({ 'k8s.io/initial-events-end': 'true' }));
    if (closed) return;
    watchers.add(watcher);
    res.on('close', () => watcher.close());
    const timeoutMs = request.timeoutSeconds === undefined ? this.#settings.defaultTimeoutMs : request.timeoutSeconds * 1000;
    timers.push(clock.setTimeout(() => watcher.close(), timeoutMs));
    if (request.allowBookmarks) {
      const sendBookmark = (): void => {
        if (!closed && this.#store.resourceVersion > startRv) this.#send(watcher, bookmark());
      };
      const periodic = (): void => {
        sendBookmark();
        if (!closed) timers.push(clock.setTimeout(periodic, this.#settings.bookmarkIntervalMs));
      };
      timers.push(clock.setTimeout(periodic, Math.min(this.#settings.bookmarkIntervalMs, Math.max(0, timeoutMs - 1000))));
    }
  }
}
