// Errors the API server answers with: each carries the exact `kind: Status` body kube-apiserver sends.
import type { JsonObject } from './json.ts';

/** The kind of a field error, with the `reason` kube-apiserver puts in `details.causes`. */
export type FieldErrorType = 'Required' | 'Invalid' | 'NotSupported' | 'Forbidden' | 'TypeInvalid' | 'TooLong' | 'TooMany' | 'Duplicate' | 'NotFound';

const CAUSE_REASON: Record<FieldErrorType, string> = {
  Required: 'FieldValueRequired',
  Invalid: 'FieldValueInvalid',
  NotSupported: 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  TypeInvalid: 'FieldValueTypeInvalid',
  TooLong: 'FieldValueTooLong',
  TooMany: 'FieldValueTooMany',
  Duplicate: 'FieldValueDuplicate',
  NotFound: 'FieldValueNotFound',
};

/** One field error, as apimachinery's `field.Error`: a path, a type and the message body after the path. */
export interface FieldError {
  readonly type: FieldErrorType;
  /** kube-style field path: `spec.containers[0].image`, `metadata.labels`, or `<nil>`. */
  readonly field: string;
  /** The text after `<field>: `, e.g. `Required value` or `Invalid value: 0: ...`. */
  readonly message: string;
  /** Blocking errors (type, required, enum) stop CEL rules from running, like kube-apiserver. */
  readonly blocking?: boolean;
}

/** Formats a value the way Go's `%#v`-ish field errors print it: strings quoted, numbers bare. */
export function formatFieldValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return '"null"';
  return JSON.stringify(value);
}

export const fieldErrors = {
  required(field: string, detail?: string): FieldError {
    return { type: 'Required', field, message: detail === undefined ? 'Required value' : `Required value: ${detail}`, blocking: true };
  },
  invalid(field: string, value: unknown, detail: string, blocking = false): FieldError {
    return { type: 'Invalid', field, message: `Invalid value: ${formatFieldValue(value)}${detail === '' ? '' : `: ${detail}`}`, blocking };
  },
  notSupported(field: string, value: unknown, supported: readonly unknown[]): FieldError {
    return { type: 'NotSupported', field, message: `Unsupported value: ${formatFieldValue(value)}: supported values: ${supported.map(formatFieldValue).join(', ')}`, blocking: true };
  },
  forbidden(field: string, detail: string): FieldError {
    return { type: 'Forbidden', field, message: `Forbidden: ${detail}` };
  },
  typeInvalid(field: string, value: unknown, detail: string): FieldError {
    return { type: 'TypeInvalid', field, message: `Invalid value: ${formatFieldValue(value)}: ${detail}`, blocking: true };
  },
  tooLong(field: string, maxLength: number): FieldError {
    return { type: 'TooLong', field, message: `Too long: may not be more than ${maxLength} bytes` };
  },
  tooMany(field: string, actual: number, max: number): FieldError {
    return { type: 'TooMany', field, message: `Too many: ${actual}: must have at most ${max} items` };
  },
  duplicate(field: string, value: unknown): FieldError {
    return { type: 'Duplicate', field, message: `Duplicate value: ${formatFieldValue(value)}` };
  },
};

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly { reason?: string; message?: string; field?: string }[];
  readonly retryAfterSeconds?: number;
}

/** An error answer: the HTTP code, the Status body, and extra headers (`Retry-After`). */
export class StatusError extends Error {
  override name = 'StatusError';
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: number, reason: string, message: string, details?: StatusDetails, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers;
  }

  /** The `kind: Status` body, keys in kube-apiserver's order. */
  toStatus(): JsonObject {
    const body: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason };
    if (this.details !== undefined) body['details'] = this.details as unknown as JsonObject;
    body['code'] = this.code;
    return body;
  }
}

/** Whether an error is a {@link StatusError}. */
export const isStatusError = (error: unknown): error is StatusError => error instanceof StatusError;

/** How a resource is named in error messages: `gizmos.demo.transcripts.dev`, `namespaces`, `deployments.apps`. */
export function qualifiedResource(group: string, plural: string): string {
  return group === '' ? plural : `${plural}.${group}`;
}

function groupDetail(group: string): { group?: string } {
  return group === '' ? {} : { group };
}

export const statusErrors = {
  notFound(group: string, plural: string, name: string): StatusError {
    return new StatusError(404, 'NotFound', `${qualifiedResource(group, plural)} "${name}" not found`, { name, ...groupDetail(group), kind: plural });
  },
  alreadyExists(group: string, plural: string, name: string): StatusError {
    return new StatusError(409, 'AlreadyExists', `${qualifiedResource(group, plural)} "${name}" already exists`, { name, ...groupDetail(group), kind: plural });
  },
  conflict(group: string, plural: string, name: string, detail = 'the object has been modified; please apply your changes to the latest version and try again'): StatusError {
    return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, plural)} "${name}": ${detail}`, { name, ...groupDetail(group), kind: plural });
  },
  /** 422 with one cause per field error; `kindGroup` is `Kind.group` (or `Kind` for the core group). */
  invalid(kind: string, group: string, name: string, errors: readonly FieldError[]): StatusError {
    const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
    // The message lists each distinct error once (kube aggregates them); causes keep every one.
    const rendered = [...new Set(errors.map((error) => `${error.field}: ${error.message}`))];
    const list = rendered.length === 1 ? (rendered[0] as string) : `[${rendered.join(', ')}]`;
    return new StatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, {
      name,
      ...groupDetail(group),
      kind,
      causes: errors.map((error) => ({ reason: CAUSE_REASON[error.type], message: error.message, field: error.field })),
    });
  },
  badRequest(message: string): StatusError {
    return new StatusError(400, 'BadRequest', message);
  },
  methodNotAllowed(method: string): StatusError {
    return new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, undefined, { allow: method });
  },
  gone(message: string): StatusError {
    return new StatusError(410, 'Expired', message);
  },
  tooLarge(): StatusError {
    return new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
  },
  unsupportedMediaType(accepted: readonly string[]): StatusError {
    return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
  },
  notAcceptable(): StatusError {
    return new StatusError(406, 'NotAcceptable', 'the server was unable to respond with a content type that the client supports');
  },
  unauthorized(): StatusError {
    return new StatusError(401, 'Unauthorized', 'Unauthorized');
  },
  internal(message: string): StatusError {
    return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
  },
  pathNotFound(): StatusError {
    return new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
  },
};
