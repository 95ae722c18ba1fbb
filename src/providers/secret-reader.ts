// Reads a key of a Secret named by a spec's secretRef, and registers the value so nothing the operator emits can carry it.
import { builtinResources, type KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import type { SecretMask } from '../observability/redact.ts';
import { SecretKeyNotFoundError, SecretNotFoundError } from './provider-error.ts';

/** A key of a Secret in the namespace of the resource that names it (`spec...secretRef`). */
export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

interface Secret extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}

export interface SecretReaderOptions {
  readonly kube: Pick<KubeClient, 'get'>;
  /** Every value read is registered here before it is returned. */
  readonly mask: SecretMask;
}

/** Where a provider or runner reads a Secret key: the {@link SecretReader} itself, or {@link SecretReads} of one reconcile. */
export interface SecretSource {
  read(namespace: string, ref: SecretRef, signal?: AbortSignal): Promise<string>;
}

/**
 * Reads Secret values for providers and runners.
 *
 * Guarantees: a value is registered in the `SecretMask` (as read, and without trailing white space) before
 * the caller sees it; a missing Secret is a `SecretNotFoundError` and a missing or empty key a
 * `SecretKeyNotFoundError` listing the keys that exist (never their values), both terminal
 * (`InvalidSpec`); other API errors pass through as their `kube/errors.ts` classes. Nothing is cached, so
 * a rotated Secret is used on the next read.
 */
export class SecretReader implements SecretSource {
  readonly #kube: Pick<KubeClient, 'get'>;
  readonly #mask: SecretMask;
  /** The Secret keys this process has read (and so masks). */
  readonly #known = new Set<string>();

  constructor(options: SecretReaderOptions) {
    this.#kube = options.kube;
    this.#mask = options.mask;
  }

  /** The value of `ref.key` of Secret `ref.name` in `namespace`, decoded from base64 as UTF-8. */
  async read(namespace: string, ref: SecretRef, signal?: AbortSignal): Promise<string> {
    let secret: Secret;
    try {
      secret = await this.#kube.get<Secret>(builtinResources.secrets, ref.name, { namespace, ...(signal === undefined ? {} : { signal }) });
    } catch (error) {
      if (isNotFound(error)) throw new SecretNotFoundError('secrets', `Secret ${namespace}/${ref.name} not found`, { cause: error });
      throw error;
    }
    const data = secret.data ?? {};
    const encoded = data[ref.key];
    const value = encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8');
    if (value !== '') {
      this.#mask.add(value);
      this.#mask.add(value.trimEnd());
      this.#known.add(refId(namespace, ref));
      return value;
    }
    const keys = Object.keys(data).sort();
    const present = keys.length === 0 ? 'it has no keys' : `its keys are ${keys.map((key) => `"${key}"`).join(', ')}`;
    const problem = encoded === undefined ? 'has no key' : 'has an empty value under';
    throw new SecretKeyNotFoundError('secrets', `Secret ${namespace}/${ref.name} ${problem} "${ref.key}" (${present})`);
  }

  /**
   * Makes sure the mask knows `ref`'s value before anything is emitted about a resource that names it: a process
   * that takes over a run after the step that read the Secret (a new leader resuming a Deploy at `verify`) would
   * otherwise not recognise the value in a provider's answer. Reads each key once per process (a rotated value is
   * learnt by the next step that uses it). Best effort: a Secret that cannot be read now is tried again next time,
   * and the steps that need it report why.
   */
  async learn(namespace: string, ref: SecretRef, signal?: AbortSignal): Promise<void> {
    if (this.#known.has(refId(namespace, ref))) return;
    await this.read(namespace, ref, signal).catch(() => undefined);
  }
}

function refId(namespace: string, ref: SecretRef): string {
  return JSON.stringify([namespace, ref.name, ref.key]);
}

/**
 * The Secrets one reconcile reads: each key of each Secret is asked of the {@link SecretReader} once, however
 * many units use it, and the next reconcile reads afresh (a rotated Secret is used from then on). A failed read
 * is not kept: the next caller asks again. The shared read runs under the reconcile's signal, when given, not
 * the first caller's: one unit's attempt ending must not fail the others waiting on the same read.
 */
export class SecretReads implements SecretSource {
  readonly #reader: SecretSource;
  readonly #signal: AbortSignal | undefined;
  readonly #reads = new Map<string, Promise<string>>();

  constructor(reader: SecretSource, signal?: AbortSignal) {
    this.#reader = reader;
    this.#signal = signal;
  }

  read(namespace: string, ref: SecretRef, callerSignal?: AbortSignal): Promise<string> {
    const signal = this.#signal ?? callerSignal;
    const id = refId(namespace, ref);
    const known = this.#reads.get(id);
    if (known !== undefined) return known;
    const reading = this.#reader.read(namespace, ref, signal);
    this.#reads.set(id, reading);
    reading.catch(() => this.#reads.delete(id));
    return reading;
  }
}
