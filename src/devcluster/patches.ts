// JSON merge patch (RFC 7386) and JSON patch (RFC 6902) as kube-apiserver applies them.
import { isObject, jsonClone, jsonEqual, type Json, type JsonObject } from './json.ts';
import { StatusError } from './status-error.ts';

/**
 * Applies a JSON merge patch without mutating `target`: unchanged subtrees are shared with the result,
 * so only the patched path is copied.
 */
export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const base: JsonObject = isObject(target) ? target : {};
  const result: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(base[key], value);
  }
  return result;
}

/** The generic 422 kube-apiserver answers when a JSON patch cannot be applied (a failed `test`, a missing path). */
export function jsonPatchRejected(): StatusError {
  return new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw jsonPatchRejected();
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function containerOf(doc: Json, tokens: readonly string[]): Json {
  let current: Json = doc;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      const index = Number(token);
      if (!/^\d+$/.test(token) || index >= current.length) throw jsonPatchRejected();
      current = current[index] as Json;
    } else if (isObject(current)) {
      if (!Object.hasOwn(current, token)) throw jsonPatchRejected();
      current = current[token] as Json;
    } else {
      throw jsonPatchRejected();
    }
  }
  return current;
}

function getAt(doc: Json, tokens: readonly string[]): Json {
  return containerOf(doc, tokens);
}

function removeAt(doc: Json, tokens: readonly string[]): Json {
  const parent = containerOf(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!/^\d+$/.test(last) || index >= parent.length) throw jsonPatchRejected();
    return parent.splice(index, 1)[0] as Json;
  }
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last] as Json;
    delete parent[last];
    return value;
  }
  throw jsonPatchRejected();
}

function addAt(doc: Json, tokens: readonly string[], value: Json, replace: boolean): Json {
  if (tokens.length === 0) return value;
  const parent = containerOf(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    if (replace) {
      const index = Number(last);
      if (!/^\d+$/.test(last) || index >= parent.length) throw jsonPatchRejected();
      parent[index] = value;
    } else if (last === '-') {
      parent.push(value);
    } else {
      const index = Number(last);
      if (!/^\d+$/.test(last) || index > parent.length) throw jsonPatchRejected();
      parent.splice(index, 0, value);
    }
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw jsonPatchRejected();
    parent[last] = value;
  } else {
    throw jsonPatchRejected();
  }
  return doc;
}

/** Applies a JSON patch to a copy of `target`; any failed operation (including `test`) rejects the whole patch. */
export function applyJsonPatch(target: JsonObject, patch: Json): Json {
  if (!Array.isArray(patch)) throw new StatusError(400, 'BadRequest', 'error decoding patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc: Json = jsonClone(target);
  for (const operation of patch) {
    if (!isObject(operation) || typeof operation['op'] !== 'string' || typeof operation['path'] !== 'string') throw jsonPatchRejected();
    const tokens = parsePointer(operation['path']);
    const value = operation['value'];
    switch (operation['op']) {
      case 'add':
        if (value === undefined) throw jsonPatchRejected();
        doc = addAt(doc, tokens, jsonClone(value), false);
        break;
      case 'replace':
        if (value === undefined) throw jsonPatchRejected();
        doc = tokens.length === 0 ? jsonClone(value) : addAt(doc, tokens, jsonClone(value), true);
        break;
      case 'remove':
        removeAt(doc, tokens);
        break;
      case 'test':
        if (!jsonEqual(getAt(doc, tokens), value)) throw jsonPatchRejected();
        break;
      case 'move':
      case 'copy': {
        if (typeof operation['from'] !== 'string') throw jsonPatchRejected();
        const from = parsePointer(operation['from']);
        const moved = operation['op'] === 'move' ? removeAt(doc, from) : jsonClone(getAt(doc, from));
        doc = addAt(doc, tokens, moved, false);
        break;
      }
      default:
        throw jsonPatchRejected();
    }
  }
  return doc;
}
