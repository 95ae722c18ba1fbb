// Typed Kubernetes API errors, built from the `kind: Status` bodies kube-apiserver answers with.
//
// Every failed API call becomes one of these classes, so callers branch on types (`isConflict(error)`)
// instead of status codes and strings. Each error keeps the server's Status body and chains the
// underlying cause. Retry classification (resilience/) reads `code` and `retryAfterMs`.

/** One entry of `details.causes`: a field path and what is wrong with it. */
export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** The `kind: Status` body kube-apiserver returns with every error. */
export interface StatusBody {
  readonly kind?: 'Status';
  readonly apiVersion?: string;
  readonly status?: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly uid?: string;
    readonly causes?: readonly StatusCause[];
    readonly retryAfterSeconds?: number;
  };
}

export interface ApiErrorOptions {
  readonly status?: StatusBody;
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/** Any error status answered by the API server. `code` is the HTTP status, `reason` the Status reason. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: number;
  readonly reason: string;
  readonly status: StatusBody | undefined;
  /** When the server asked to wait before retrying (`Retry-After`, `details.retryAfterSeconds`). */
  readonly retryAfterMs: number | undefined;

  constructor(code: number, reason: string, message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** `details.causes` of the Status body (field errors of a 422, apply conflicts of a 409). */
  get causes(): readonly StatusCause[] {
    return this.status?.details?.causes ?? [];
  }
}

/** 400: malformed request, unsupported field selector, strict decoding error. */
export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
}
/** 401: missing or invalid credentials. */
export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError';
}
/** 403: authenticated but not allowed (RBAC). */
export class ForbiddenError extends ApiError {
  override name = 'ForbiddenError';
}
/** 404: the object (or its namespace, group or resource) does not exist. */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
}
/** 409 AlreadyExists: a create met an object of the same name. */
export class AlreadyExistsError extends ApiError {
  override name = 'AlreadyExistsError';
}
/** 409 Conflict: a stale resourceVersion (optimistic concurrency) or an apply conflict. */
export class ConflictError extends ApiError {
  override name = 'ConflictError';
}
/** 410 Gone/Expired: a resourceVersion or continue token that has left the server's history. */
export class GoneError extends ApiError {
  override name = 'GoneError';
}
/** 415: the patch type is not supported for this resource. */
export class UnsupportedMediaTypeError extends ApiError {
  override name = 'UnsupportedMediaTypeError';
}
/** 422: the object is invalid; `causes` names each field. */
export class InvalidError extends ApiError {
  override name = 'InvalidError';
}
/** 429: throttled (API Priority and Fairness, or injected); `retryAfterMs` says when to come back. */
export class TooManyRequestsError extends ApiError {
  override name = 'TooManyRequestsError';
}
/** 5xx: the server failed (500 InternalError, 503 ServiceUnavailable, 504 Timeout, ...). */
export class ServerError extends ApiError {
  override name = 'ServerError';
}

/** The request never got an HTTP answer: connection refused or reset, TLS failure, timeout, aborted stream. */
export class TransportError extends Error {
  override name = 'TransportError';
}

/** A kubeconfig (or in-cluster service account) that cannot be used: names the file and what is wrong. */
export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;
export const isBadRequest = (error: unknown): error is BadRequestError => error instanceof BadRequestError;
export const isUnauthorized = (error: unknown): error is UnauthorizedError => error instanceof UnauthorizedError;
export const isForbidden = (error: unknown): error is ForbiddenError => error instanceof ForbiddenError;
export const isNotFound = (error: unknown): error is NotFoundError => error instanceof NotFoundError;
export const isAlreadyExists = (error: unknown): error is AlreadyExistsError => error instanceof AlreadyExistsError;
export const isConflict = (error: unknown): error is ConflictError => error instanceof ConflictError;
export const isGone = (error: unknown): error is GoneError => error instanceof GoneError;
export const isUnsupportedMediaType = (error: unknown): error is UnsupportedMediaTypeError => error instanceof UnsupportedMediaTypeError;
export const isInvalid = (error: unknown): error is InvalidError => error instanceof InvalidError;
export const isTooManyRequests = (error: unknown): error is TooManyRequestsError => error instanceof TooManyRequestsError;
export const isServerError = (error: unknown): error is ServerError => error instanceof ServerError;
export const isTransportError = (error: unknown): error is TransportError => error instanceof TransportError;
export const isKubeConfigError = (error: unknown): error is KubeConfigError => error instanceof KubeConfigError;

/** Parses a `Retry-After` header given in seconds (the only form kube-apiserver sends) or as an HTTP date. */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function isStatusBody(value: unknown): value is StatusBody {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

/**
 * Builds the typed error for an HTTP error answer. `body` is the response text (a Status body when the
 * API server produced it; anything else when a proxy did). `retryAfterHeader` is the `Retry-After` value.
 */
export function apiErrorFromResponse(httpStatus: number, body: string, retryAfterHeader?: string | null): ApiError {
  let status: StatusBody | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (isStatusBody(parsed)) status = parsed;
  } catch {
    // Not JSON: a proxy or load balancer answered. The text becomes the message.
  }
  return apiErrorFromStatus(httpStatus, status ?? { message: body.trim().slice(0, 512) || `HTTP ${httpStatus}` }, retryAfterHeader);
}

/** Builds the typed error for a Status (from an HTTP answer or a watch `ERROR` event). */
export function apiErrorFromStatus(httpStatus: number, status: StatusBody, retryAfterHeader?: string | null): ApiError {
  const code = status.code ?? httpStatus;
  const reason = status.reason ?? '';
  const message = status.message ?? `${reason || 'error'} (HTTP ${code})`;
  const headerMs = parseRetryAfterMs(retryAfterHeader);
  const detailMs = status.details?.retryAfterSeconds === undefined ? undefined : status.details.retryAfterSeconds * 1000;
  const options: ApiErrorOptions = { status, ...((headerMs ?? detailMs) === undefined ? {} : { retryAfterMs: (headerMs ?? detailMs) as number }) };
  switch (code) {
    case 400:
      return new BadRequestError(code, reason || 'BadRequest', message, options);
    case 401:
      return new UnauthorizedError(code, reason || 'Unauthorized', message, options);
    case 403:
      return new ForbiddenError(code, reason || 'Forbidden', message, options);
    case 404:
      return new NotFoundError(code, reason || 'NotFound', message, options);
    case 409:
      return reason === 'AlreadyExists' ? new AlreadyExistsError(code, reason, message, options) : new ConflictError(code, reason || 'Conflict', message, options);
    case 410:
      return new GoneError(code, reason || 'Expired', message, options);
    case 415:
      return new UnsupportedMediaTypeError(code, reason || 'UnsupportedMediaType', message, options);
    case 422:
      return new InvalidError(code, reason || 'Invalid', message, options);
    case 429:
      return new TooManyRequestsError(code, reason || 'TooManyRequests', message, options);
    default:
      if (code >= 500) return new ServerError(code, reason || 'InternalError', message, options);
      return new ApiError(code, reason || 'Unknown', message, options);
  }
}
