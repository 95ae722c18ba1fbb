// Field errors as kube-apiserver words them (`spec.x: Invalid value: 3: ...`), built from zod issues.
import type { z } from 'zod';

/** The kinds of field error kube-apiserver reports (k8s.io/apimachinery field.ErrorType), plus unknown fields. */
export type FieldErrorType = 'Required' | 'Invalid' | 'NotSupported' | 'Duplicate' | 'TooLong' | 'TooMany' | 'Forbidden' | 'UnknownField';

export interface FieldError {
  /** Path of the field, kube style: `spec.checks[1].image`, `metadata.labels[app]`. */
  readonly field: string;
  readonly type: FieldErrorType;
  /** The offending value, already rendered (`"abc"`, `3`, `"object"`); absent for types that print none. */
  readonly value?: string;
  readonly detail?: string;
}

/** What a custom zod issue carries in `params` so it renders as the matching kube error. */
export interface FieldErrorParams {
  readonly fieldError: { readonly type: FieldErrorType; readonly value?: string };
}

const LABELS: Record<FieldErrorType, string> = {
  Required: 'Required value',
  Invalid: 'Invalid value',
  NotSupported: 'Unsupported value',
  Duplicate: 'Duplicate value',
  TooLong: 'Too long',
  TooMany: 'Too many',
  Forbidden: 'Forbidden',
  UnknownField: 'Unknown field',
};

/** Detail of an {@link FieldError} of type UnknownField. */
export const UNKNOWN_FIELD_DETAIL = 'the field is not part of the schema';

/** Types whose message carries no value, as in apimachinery's `ErrorBody`. */
const VALUELESS: ReadonlySet<FieldErrorType> = new Set(['Required', 'Forbidden', 'TooLong', 'UnknownField']);

/** `spec.provider: Invalid value: "object": exactly one of ...` */
export function formatFieldError(error: FieldError): string {
  let text = `${error.field === '' ? '<root>' : error.field}: ${LABELS[error.type]}`;
  if (!VALUELESS.has(error.type) && error.value !== undefined) text += `: ${error.value}`;
  if (error.detail !== undefined && error.detail !== '') text += `: ${error.detail}`;
  return text;
}

/** Renders a value the way kube-apiserver prints it in a field error: strings quoted, scalars bare, others by type. */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(Array.isArray(value) ? 'array' : 'object');
}

/** Tells whether the field at a kube-style path is a string-keyed map, whose keys print in brackets. */
export type IsMapPath = (path: string) => boolean;

/** Joins a path kube style: object keys with dots, list indexes and map keys in brackets. */
export function fieldPath(segments: readonly PropertyKey[], isMapPath: IsMapPath = () => false): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (path !== '' && isMapPath(path)) path += `[${String(segment)}]`;
    else path += path === '' ? String(segment) : `.${String(segment)}`;
  }
  return path;
}

function jsonType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** A zod pattern (`/^a\/b$/u`) as the CRD spells it (`^a/b$`). */
function crdPattern(pattern: string): string {
  return pattern.replace(/^\/|\/[a-z]*$/g, '').replace(/(?<!\\)\\\//g, '/');
}

const ZOD_TYPES: Record<string, string> = { int: 'integer', number: 'number', string: 'string', boolean: 'boolean', object: 'object', array: 'array', record: 'object' };

/** Turns zod issues into kube-style field errors. Parse with `{ reportInput: true }` so values can be shown. */
export function fieldErrorsFromZod(issues: readonly z.core.$ZodIssue[], isMapPath: IsMapPath = () => false): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    const segments = issue.path;
    const field = fieldPath(segments, isMapPath);
    const input: unknown = issue.input;
    switch (issue.code) {
      case 'invalid_type':
        if (input === undefined) errors.push({ field, type: 'Required' });
        else {
          const expected = ZOD_TYPES[issue.expected] ?? issue.expected;
          errors.push({ field, type: 'Invalid', value: JSON.stringify(jsonType(input)), detail: `${field} in body must be of type ${expected}: ${JSON.stringify(jsonType(input))}` });
        }
        break;
      case 'invalid_value':
        errors.push({ field, type: 'NotSupported', value: renderValue(input), detail: `supported values: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` });
        break;
      case 'too_small': {
        const bound = String(issue.minimum);
        if (issue.origin === 'string') errors.push({ field, type: 'Invalid', value: renderValue(input), detail: `${field} in body should be at least ${bound} chars long` });
        else if (issue.origin === 'array') errors.push({ field, type: 'Invalid', value: String((input as unknown[] | undefined)?.length ?? 0), detail: `${field} in body should have at least ${bound} items` });
        else errors.push({ field, type: 'Invalid', value: renderValue(input), detail: `${field} in body should be greater than ${issue.inclusive === false ? '' : 'or equal to '}${bound}` });
        break;
      }
      case 'too_big': {
        const bound = String(issue.maximum);
        if (issue.origin === 'string') errors.push({ field, type: 'TooLong', detail: `may not be more than ${bound} bytes` });
        else if (issue.origin === 'array') errors.push({ field, type: 'TooMany', value: String((input as unknown[] | undefined)?.length ?? 0), detail: `must have at most ${bound} items` });
        else errors.push({ field, type: 'Invalid', value: renderValue(input), detail: `${field} in body should be less than ${issue.inclusive === false ? '' : 'or equal to '}${bound}` });
        break;
      }
      case 'invalid_format':
        if (issue.format === 'regex' && issue.pattern !== undefined) {
          errors.push({ field, type: 'Invalid', value: renderValue(input), detail: `${field} in body should match '${crdPattern(issue.pattern)}'` });
        } else {
          const format = issue.format === 'datetime' ? 'date-time' : issue.format;
          errors.push({ field, type: 'Invalid', value: renderValue(input), detail: `${field} in body must be of type ${format}: ${renderValue(input)}` });
        }
        break;
      case 'unrecognized_keys':
        for (const key of issue.keys) errors.push({ field: fieldPath([...segments, key], isMapPath), type: 'UnknownField', detail: UNKNOWN_FIELD_DETAIL });
        break;
      case 'invalid_key':
        errors.push({ field, type: 'Invalid', value: renderValue(segments.at(-1) ?? input), detail: issue.issues.map((inner) => inner.message).join('; ') });
        break;
      case 'custom': {
        const params = issue.params as Partial<FieldErrorParams> | undefined;
        const kube = params?.fieldError;
        errors.push({ field, type: kube?.type ?? 'Invalid', value: kube?.value ?? renderValue(input), detail: issue.message });
        break;
      }
      default:
        errors.push({ field, type: 'Invalid', value: renderValue(input), detail: issue.message });
    }
  }
  return errors;
}
