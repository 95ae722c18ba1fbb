// Errors of deploy providers, check runners and the Secret reader: typed, each either retryable or terminal.
//
// Retryable failures are `RetryableError`s and terminal ones `NonRetryableError`s, the classes the workflow's
// `classifyFailure` reads (with `retryAfterMs`); every one also carries `code`, `dependency`, `retryable` and
// `httpStatus`. The controller maps `code` `InvalidSpec` to `Stalled` with reason `InvalidSpec`. Kubernetes API
// errors (`kube/errors.ts`) are not wrapped: they are classed already.
import { NonRetryableError, RetryableError } from '../resilience/classify-failure.ts';

export type ProviderErrorCode = 'Unavailable' | 'Rejected' | 'InvalidResponse' | 'InvalidSpec' | 'NoRollbackTarget' | 'Conflict';

export interface ProviderErrorOptions {
  readonly cause?: unknown;
  /** How long the dependency asked us to wait (`Retry-After`). */
  readonly retryAfterMs?: number;
  /** The HTTP status the dependency answered with, when it answered. */
  readonly httpStatus?: number;
}

/** What every provider error carries, whichever side of retryable it is on. */
export interface ProviderErrorFields {
  readonly code: ProviderErrorCode;
  /** What was called: `railway`, `webhook`, `kubernetes`, `checker`, `job`, `health endpoint`, `secrets`. */
  readonly dependency: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly httpStatus: number | undefined;
}

/** The dependency could not answer now: network failure, timeout, 408, 429, 5xx. Worth retrying. */
export class ProviderUnavailableError extends RetryableError implements ProviderErrorFields {
  override name = 'ProviderUnavailableError';
  readonly code = 'Unavailable' as const;
  readonly dependency: string;
  readonly retryable = true as const;
  readonly httpStatus: number | undefined;

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super(message, { ...(options.cause === undefined ? {} : { cause: options.cause }), ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }) });
    this.dependency = dependency;
    this.httpStatus = options.httpStatus;
  }
}

/** Base of the provider errors no retry can help. Use the subclasses. */
export class TerminalProviderError extends NonRetryableError implements ProviderErrorFields {
  override name = 'TerminalProviderError';
  readonly code: ProviderErrorCode;
  readonly dependency: string;
  readonly retryable = false as const;
  readonly retryAfterMs = undefined;
  readonly httpStatus: number | undefined;

  protected constructor(code: ProviderErrorCode, dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.dependency = dependency;
    this.httpStatus = options.httpStatus;
  }
}

/** Any provider error. */
export type ProviderError = ProviderUnavailableError | TerminalProviderError;

/** The dependency refused the request (4xx, a GraphQL error, a redirect): the same request fails again. */
export class ProviderRejectedError extends TerminalProviderError {
  override name = 'ProviderRejectedError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('Rejected', dependency, message, options);
  }
}

/** The dependency answered outside the protocol: not JSON, a missing field, an unknown value. */
export class InvalidResponseError extends TerminalProviderError {
  override name = 'InvalidResponseError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('InvalidResponse', dependency, message, options);
  }
}

/** The spec names something that does not exist or cannot be used; only a spec change (or a human) helps. */
export class InvalidSpecError extends TerminalProviderError {
  override name = 'InvalidSpecError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('InvalidSpec', dependency, message, options);
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
export class NoRollbackTargetError extends TerminalProviderError {
  override name = 'NoRollbackTargetError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('NoRollbackTarget', dependency, message, options);
  }
}

/** An object the runner would create exists and belongs to something else. */
export class OwnershipConflictError extends TerminalProviderError {
  override name = 'OwnershipConflictError';

  constructor(dependency: string, message: string, options: ProviderErrorOptions = {}) {
    super('Conflict', dependency, message, options);
  }
}

export const isProviderError = (error: unknown): error is ProviderError => error instanceof ProviderUnavailableError || error instanceof TerminalProviderError;
export const isProviderUnavailable = (error: unknown): error is ProviderUnavailableError => error instanceof ProviderUnavailableError;
export const isProviderRejected = (error: unknown): error is ProviderRejectedError => error instanceof ProviderRejectedError;
export const isInvalidResponse = (error: unknown): error is InvalidResponseError => error instanceof InvalidResponseError;
export const isInvalidSpec = (error: unknown): error is InvalidSpecError => error instanceof InvalidSpecError;
export const isSecretNotFound = (error: unknown): error is SecretNotFoundError => error instanceof SecretNotFoundError;
export const isSecretKeyNotFound = (error: unknown): error is SecretKeyNotFoundError => error instanceof SecretKeyNotFoundError;
export const isTargetNotFound = (error: unknown): error is TargetNotFoundError => error instanceof TargetNotFoundError;
export const isNoRollbackTarget = (error: unknown): error is NoRollbackTargetError => error instanceof NoRollbackTargetError;
export const isOwnershipConflict = (error: unknown): error is OwnershipConflictError => error instanceof OwnershipConflictError;
