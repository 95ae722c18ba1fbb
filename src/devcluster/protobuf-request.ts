// The few protobuf request bodies kubectl sends (`auth can-i`, `create token`, `create namespace`), decoded to JSON.
//
// kubectl's typed clients send `application/vnd.kubernetes.protobuf` and accept JSON answers, so decoding
// these requests is enough; everything else stays JSON-only (415 for other protobuf bodies).
import type { JsonObject } from './json.ts';
import { statusErrors } from './status-error.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Fields = Map<number, (Buffer | bigint)[]>;

function readVarint(buffer: Buffer, offset: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let position = offset;
  for (;;) {
    const byte = buffer[position];
    if (byte === undefined) throw statusErrors.badRequest('invalid protobuf: truncated varint');
    position++;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, position];
    shift += 7n;
  }
}

/** Splits a message into its fields: length-delimited fields as buffers, varints as bigints. */
function fields(buffer: Buffer): Fields {
  const out: Fields = new Map();
  let offset = 0;
  while (offset < buffer.length) {
    const [key, afterKey] = readVarint(buffer, offset);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value: Buffer | bigint;
    if (wire === 0) {
      [value, offset] = readVarint(buffer, afterKey);
    } else if (wire === 2) {
      const [length, afterLength] = readVarint(buffer, afterKey);
      value = buffer.subarray(afterLength, afterLength + Number(length));
      offset = afterLength + Number(length);
    } else if (wire === 1) {
      value = buffer.readBigUInt64LE(afterKey);
      offset = afterKey + 8;
    } else if (wire === 5) {
      value = BigInt(buffer.readUInt32LE(afterKey));
      offset = afterKey + 4;
    } else {
      throw statusErrors.badRequest(`invalid protobuf: wire type ${wire}`);
    }
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

const text = (f: Fields, n: number): string | undefined => {
  const value = f.get(n)?.[0];
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
};
const texts = (f: Fields, n: number): string[] => (f.get(n) ?? []).filter(Buffer.isBuffer).map((b) => b.toString('utf8'));
const message = (f: Fields, n: number): Fields | undefined => {
  const value = f.get(n)?.[0];
  return Buffer.isBuffer(value) ? fields(value) : undefined;
};
const integer = (f: Fields, n: number): number | undefined => {
  const value = f.get(n)?.[0];
  return typeof value === 'bigint' ? Number(value) : undefined;
};

function stringMap(f: Fields, n: number): Record<string, string> | undefined {
  const entries = (f.get(n) ?? []).filter(Buffer.isBuffer).map(fields);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map((entry) => [text(entry, 1) ?? '', text(entry, 2) ?? '']));
}

function compact(obj: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.entries(obj).filter(([, value]) => value !== undefined)) as JsonObject;
}

function objectMeta(f: Fields | undefined): JsonObject {
  if (f === undefined) return {};
  return compact({ name: text(f, 1), generateName: text(f, 2), namespace: text(f, 3), labels: stringMap(f, 11), annotations: stringMap(f, 12), finalizers: texts(f, 14).length > 0 ? texts(f, 14) : undefined });
}

function resourceAttributes(f: Fields | undefined): JsonObject | undefined {
  if (f === undefined) return undefined;
  return compact({ namespace: text(f, 1), verb: text(f, 2), group: text(f, 3), version: text(f, 4), resource: text(f, 5), subresource: text(f, 6), name: text(f, 7) });
}

/** Decodes a kube protobuf envelope (`k8s\0` + runtime.Unknown) of a supported kind into its JSON form. */
export function decodeProtobufObject(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw statusErrors.badRequest('invalid protobuf envelope: missing k8s magic');
  const unknown = fields(body.subarray(4));
  const typeMeta = message(unknown, 1);
  const apiVersion = typeMeta === undefined ? '' : (text(typeMeta, 1) ?? '');
  const kind = typeMeta === undefined ? '' : (text(typeMeta, 2) ?? '');
  const raw = unknown.get(2)?.[0];
  const obj = fields(Buffer.isBuffer(raw) ? raw : Buffer.alloc(0));
  const meta = objectMeta(message(obj, 1));
  switch (kind) {
    case 'SelfSubjectAccessReview':
    case 'SubjectAccessReview':
    case 'LocalSubjectAccessReview': {
      const spec = message(obj, 2);
      const nonResource = spec === undefined ? undefined : message(spec, 2);
      const specJson: JsonObject =
        kind === 'SelfSubjectAccessReview'
          ? compact({ resourceAttributes: resourceAttributes(spec === undefined ? undefined : message(spec, 1)), nonResourceAttributes: nonResource === undefined ? undefined : compact({ path: text(nonResource, 1), verb: text(nonResource, 2) }) })
          : compact({
              resourceAttributes: resourceAttributes(spec === undefined ? undefined : message(spec, 1)),
              nonResourceAttributes: spec === undefined || message(spec, 2) === undefined ? undefined : compact({ path: text(message(spec, 2) as Fields, 1), verb: text(message(spec, 2) as Fields, 2) }),
              user: spec === undefined ? undefined : text(spec, 3),
              groups: spec === undefined ? undefined : texts(spec, 4),
              uid: spec === undefined ? undefined : text(spec, 6),
            });
      return { apiVersion, kind, metadata: meta, spec: specJson };
    }
    case 'TokenRequest': {
      const spec = message(obj, 2);
      return { apiVersion, kind, metadata: meta, spec: spec === undefined ? {} : compact({ audiences: texts(spec, 1), expirationSeconds: integer(spec, 4) }) };
    }
    case 'Namespace':
    case 'ServiceAccount':
      return { apiVersion, kind, metadata: meta };
    case 'ConfigMap':
      return compact({ apiVersion, kind, metadata: meta, data: stringMap(obj, 2) });
    default:
      throw statusErrors.unsupportedMediaType(['application/json', 'application/yaml']);
  }
}
