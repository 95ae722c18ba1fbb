// An in-memory object server for unit tests of status writes and finalizers: resourceVersion preconditions, 409s, call log.
import type { GetOptions, PatchOptions } from '../../src/kube/client.ts';
import { apiErrorFromStatus } from '../../src/kube/errors.ts';
import { objectKey, type KubeObject } from '../../src/kube/kube-object.ts';
import type { ResourceDescriptor } from '../../src/kube/resource-descriptor.ts';
import type { StatusClient } from '../../src/runtime/status-writer.ts';

export interface Call {
  readonly verb: 'get' | 'patch';
  readonly name: string;
  readonly subresource?: string | undefined;
  readonly body?: unknown;
}

function merge(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = merge(result[key], value);
  }
  return result;
}

export class FakeStatusClient implements StatusClient {
  readonly objects = new Map<string, KubeObject>();
  readonly calls: Call[] = [];
  /** Conflicts injected before the next patches succeed. */
  conflicts = 0;
  #version = 1000;

  put(object: KubeObject): KubeObject {
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.#version) } };
    this.objects.set(objectKey(stored), stored);
    return stored;
  }

  get<T extends KubeObject>(_resource: ResourceDescriptor, name: string, options: GetOptions = {}): Promise<T> {
    this.calls.push({ verb: 'get', name, subresource: options.subresource });
    const object = this.objects.get(options.namespace === undefined ? name : `${options.namespace}/${name}`);
    if (object === undefined) return Promise.reject(apiErrorFromStatus(404, { kind: 'Status', code: 404, reason: 'NotFound' }));
    return Promise.resolve(structuredClone(object) as T);
  }

  patch<T extends KubeObject>(_resource: ResourceDescriptor, name: string, patch: unknown, options: PatchOptions = {}): Promise<T> {
    this.calls.push({ verb: 'patch', name, subresource: options.subresource, body: patch });
    const key = options.namespace === undefined ? name : `${options.namespace}/${name}`;
    const object = this.objects.get(key);
    if (object === undefined) return Promise.reject(apiErrorFromStatus(404, { kind: 'Status', code: 404, reason: 'NotFound' }));
    const expected = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (this.conflicts > 0 || (expected !== undefined && expected !== object.metadata.resourceVersion)) {
      this.conflicts = Math.max(0, this.conflicts - 1);
      return Promise.reject(apiErrorFromStatus(409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' }));
    }
    const { metadata: _ignored, ...rest } = patch as { metadata?: unknown };
    const metadataPatch = options.subresource === 'status' ? {} : (patch as { metadata?: object }).metadata ?? {};
    const body = options.subresource === 'status' ? { status: (rest as { status?: unknown }).status } : rest;
    const next = merge({ ...object, metadata: merge(object.metadata, { ...metadataPatch, resourceVersion: undefined }) }, body) as KubeObject;
    return Promise.resolve(structuredClone(this.put(next)) as T);
  }

  get patches(): Call[] {
    return this.calls.filter((call) => call.verb === 'patch');
  }
}
