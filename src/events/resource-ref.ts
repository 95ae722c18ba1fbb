// References to the Kubernetes object an event is about, and the API path that becomes a CloudEvent's `source`.

/** A reference to one Kubernetes object, as an Event's `regarding` field takes it. */
export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/** An {@link ObjectReference} that also knows its resource (the plural in API paths, e.g. `deploys`). */
export interface ResourceRef extends ObjectReference {
  readonly resource: string;
}

/**
 * The object's path on the API server: `/apis/<group>/<version>[/namespaces/<ns>]/<resource>/<name>`,
 * or `/api/v1/...` for the core group.
 */
export function apiPath(ref: ResourceRef): string {
  const root = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const scope = ref.namespace === undefined || ref.namespace === '' ? '' : `/namespaces/${ref.namespace}`;
  return `${root}${scope}/${ref.resource}/${ref.name}`;
}

/** The object reference without the resource plural. */
export function objectReference(ref: ResourceRef): ObjectReference {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    name: ref.name,
    ...(ref.uid === undefined ? {} : { uid: ref.uid }),
  };
}
