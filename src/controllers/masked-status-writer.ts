// Status writes scrubbed of secret values: step and unit messages quote provider answers, which may carry them.
import { redact, type SecretMask } from '../observability/redact.ts';
import { StatusWriter, type StatusMutation, type StatusUpdateOptions, type StatusWriterOptions, type WithStatus } from '../runtime/status-writer.ts';

/**
 * The runtime's status writer with every string of the new status passed through the process's
 * {@link SecretMask} (and the redactor's patterns) before it is compared and written.
 *
 * Guarantees: no value read from a Secret reaches `status`, whole or cut short by a message limit; a status
 * that was already masked compares equal to its masked recomputation, so masking causes no extra write.
 */
export class MaskedStatusWriter<S> extends StatusWriter<S> {
  readonly #mask: SecretMask;

  constructor(options: StatusWriterOptions & { readonly secretMask: SecretMask }) {
    super(options);
    this.#mask = options.secretMask;
  }

  override update<T extends WithStatus<S>>(object: T, mutate: StatusMutation<S>, options: StatusUpdateOptions = {}): Promise<T> {
    return super.update(object, (current) => redact(mutate(current), this.#mask) as S, options);
  }
}
