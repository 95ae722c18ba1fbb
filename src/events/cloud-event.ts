// The CloudEvents 1.0 JSON envelope of every domain event: its type, the zod schema that validates it, and its error.
import { z } from 'zod';

export const CLOUD_EVENTS_SPEC_VERSION = '1.0';
/** Every event type is this prefix plus a kind: `io.blackroad.operator.workflow.started`. */
export const EVENT_TYPE_PREFIX = 'io.blackroad.operator.';
export const JSON_CONTENT_TYPE = 'application/json';

const NO_SPACE = /^\S+$/;

/**
 * The envelope as the operator produces it (CloudEvents 1.0, JSON format). `id` is a decimal integer
 * that increases with every event (see ADR 007); `correlationid` is an extension attribute.
 */
export const cloudEventSchema = z.strictObject({
  specversion: z.literal(CLOUD_EVENTS_SPEC_VERSION),
  id: z.string().regex(/^[1-9]\d{0,15}$/, 'a positive decimal integer'),
  source: z.string().min(1).max(1024).regex(NO_SPACE, 'a URI-reference without spaces'),
  type: z.string().min(1).max(256).regex(NO_SPACE, 'a type without spaces'),
  subject: z.string().min(1).max(1024).optional(),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal(JSON_CONTENT_TYPE),
  correlationid: z.string().min(1).max(256).optional(),
  data: z.json(),
});

export type CloudEvent = z.infer<typeof cloudEventSchema>;

/** An event that does not satisfy the envelope or its kind's data schema; `issues` says where. */
export class InvalidCloudEventError extends Error {
  override readonly name = 'InvalidCloudEventError';
  readonly issues: readonly string[];

  constructor(message: string, issues: readonly string[], options?: { cause?: unknown }) {
    super(`${message}: ${issues.join('; ')}`, options);
    this.issues = issues;
  }
}

export function isInvalidCloudEventError(error: unknown): error is InvalidCloudEventError {
  return error instanceof InvalidCloudEventError;
}

/** Renders zod issues as `path: message` lines. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length === 0 ? '(root)' : issue.path.join('.')}: ${issue.message}`);
}

/**
 * Validates a parsed JSON value as one of the operator's CloudEvents (e.g. read back from the Redis
 * Stream or an SSE stream).
 *
 * Errors: throws {@link InvalidCloudEventError} naming every offending attribute.
 */
export function parseCloudEvent(value: unknown): CloudEvent {
  const result = cloudEventSchema.safeParse(value);
  if (!result.success) throw new InvalidCloudEventError('invalid CloudEvent', describeIssues(result.error), { cause: result.error });
  return result.data;
}
