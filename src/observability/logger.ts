// The pino logger factory: JSON lines, one per event, with every record passed through the redactor.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { redact, redactString, type SecretMask } from './redact.ts';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerSettings {
  readonly level: LogLevel;
  /** Where lines go; standard output by default. */
  readonly destination?: DestinationStream;
  /** Secret values read at run time; scrubbed from every line. */
  readonly secretMask?: SecretMask;
  /** Fields on every line (e.g. the replica's identity). */
  readonly base?: Record<string, unknown>;
}

/** The fields a reconcile's child logger carries; see {@link reconcileLogger}. */
export interface ReconcileLogFields {
  readonly controller: string;
  readonly namespace: string;
  readonly name: string;
  readonly reconcileID: string;
  readonly correlationId?: string;
}

/**
 * Creates the process's one logger. Log messages are constant strings; data goes in fields.
 *
 * Guarantees: every field, message and error (with its `cause` chain) is redacted before it is
 * serialized (see `redact.ts`); an `Error` passed first is logged under `err`.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const mask = settings.secretMask;
  const options: LoggerOptions = {
    level: settings.level,
    base: settings.base ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redact(bindings, mask) as Record<string, unknown>,
      log: (object) => redact(object, mask) as Record<string, unknown>,
    },
    // Errors are already plain, redacted objects (see redact.ts); pino's own serializer would re-shape them.
    serializers: { err: (value: unknown) => value },
    hooks: {
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        if (first instanceof Error) {
          const message = typeof rest[0] === 'string' ? rest[0] : first.message;
          const restArgs = (typeof rest[0] === 'string' ? rest.slice(1) : rest).map((arg) => (typeof arg === 'string' ? redactString(arg, mask) : arg));
          method.apply(this, [{ err: first }, redactString(message, mask), ...restArgs] as never);
          return;
        }
        const scrubbed = (args as unknown[]).map((arg) => (typeof arg === 'string' ? redactString(arg, mask) : arg));
        method.apply(this, scrubbed as never);
      },
    },
  };
  const logger = settings.destination === undefined ? pino(options) : pino(options, settings.destination);
  // pino applies `formatters.bindings` to the root only; children inherit this override and redact theirs.
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings: Record<string, unknown>, childOptions?: unknown) {
    return pinoChild.call(this, redact(bindings, mask) as Record<string, unknown>, childOptions as never);
  } as Logger['child'];
  return logger;
}

/** The child logger of one reconcile: `controller`, `namespace`, `name`, `reconcileID` and the workflow correlation id. */
export function reconcileLogger(parent: Logger, fields: ReconcileLogFields): Logger {
  return parent.child(fields);
}
