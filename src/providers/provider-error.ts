// Errors of deploy providers, check runners and the Secret reader: typed, each either retryable or terminal.
//
// The workflow's retry classification reads `retryable` and `retryAfterMs`; the controller maps `code`
// `InvalidSpec` to `Stalled` with reason `InvalidSpec`. Kubernetes API errors (`kube/errors.ts`) are not
// wrapped: they are classed already.

export type ProviderErrorCode = 'Unavailable' | 'Rejected' | 'InvalidResponse' | 'InvalidSpec' | 'NoRollbackTarget' | 'Conflict';

export interface ProviderErrorOptions {
  readonly cause?: unknown;
  /** How long the dependency asked us to wait (`Retry-After`). */
  readonly retryAfterMs?: number;
  /** The HTTP status the dependency answered with, when it answered. */
  readonly httpStatus?: number;
}

/** Any failure of a provider, runner or Secret read. Use the subclasses; `retryable` is fixed by the class. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly code: ProviderErrorCode;
  /** What was called: `railway`, `webhook`, `kubernetes`, `checker`, `health`, `secrets`. */
  readonly dependency: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly httpStatus: number | undefined;

  protected constructor(code: ProviderErrorCode, retryable: boolean, dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = retryable;
    this.dependency = dependency;
    this.retryAfterMs = options.retryAfterMs;
    this.httpStatus = options.httpStatus;
  }
}

/** The dependency could not answer now: network failure, timeout, 408, 429, 5xx. Worth retrying. */
export class ProviderUnavailableError extends ProviderError {
  override name = 'ProviderUnavailableError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('Unavailable', true, dependency, message, options);
  }
}

/** The dependency refused the request (4xx, a GraphQL error, a redirect): the same request fails again. */
export class ProviderRejectedError extends ProviderError {
  override name = 'ProviderRejectedError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('Rejected', false, dependency, message, options);
  }
}

/** The dependency answered outside the protocol: not JSON, a missing field, an unknown value. */
export class InvalidResponseError extends ProviderError {
  override name = 'InvalidResponseError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('InvalidResponse', false, dependency, message, options);
  }
}

/** The spec names something that does not exist or cannot be used; only a spec change (or a human) helps. */
export class InvalidSpecError extends ProviderError {
  override name = 'InvalidSpecError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('InvalidSpec', false, dependency, message, options);
  }
}

/** The Secret named by a `secretRef` does not exist in the resource's namespace. */
export class SecretNotFoundError extends InvalidSpecError {
  override name = 'SecretNotFoundError';
}

/** The Secret exists but has no (or an empty) value under the referenced key. */
export class SecretKeyNotFoundError extends InvalidSpecError {
  override name = 'SecretKeyNotFoundError';
}

/** The deploy target does not exist: a Deployment, a container of it. */
export class TargetNotFoundError extends InvalidSpecError {
  override name = 'TargetNotFoundError';
}

/** A rollback was asked for but nothing was recorded to roll back to. */
export class NoRollbackTargetError extends ProviderError {
  override name = 'NoRollbackTargetError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('NoRollbackTarget', false, dependency, message, options);
  }
}

/** An object the runner would create exists and belongs to something else. */
export class OwnershipConflictError extends ProviderError {
  override name = 'OwnershipConflictError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('Conflict', false, dependency, message, options);
  }
}

export const isProviderError = (error: unknown): error is ProviderError => error instanceof ProviderError;
export const isProviderUnavailable = (error: unknown): error is ProviderUnavailableError => error instanceof ProviderUnavailableError;
export const isProviderRejected = (error: unknown): error is ProviderRejectedError => error instanceof ProviderRejectedError;
export const isInvalidResponse = (error: unknown): error is InvalidResponseError => error instanceof InvalidResponseError;
export const isInvalidSpec = (error: unknown): error is InvalidSpecError => error instanceof InvalidSpecError;
export const isSecretNotFound = (error: unknown): error is SecretNotFoundError => error instanceof SecretNotFoundError;
export const isSecretKeyNotFound = (error: unknown): error is SecretKeyNotFoundError => error instanceof SecretKeyNotFoundError;
export const isTargetNotFound = (error: unknown): error is TargetNotFoundError => error instanceof TargetNotFoundError;
export const isNoRollbackTarget = (error: unknown): error is NoRollbackTargetError => error instanceof NoRollbackTargetError;
export const isOwnershipConflict = (error: unknown): error is OwnershipConflictError => error instanceof OwnershipConflictError;
