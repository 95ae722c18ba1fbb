// Secure metrics: each /metrics request authenticated with a TokenReview and authorized with a SubjectAccessReview.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { KubeClient, KubeObject, ResourceDescriptor } from '../kube/client.ts';
import type { AccessDecision, MetricsAccess } from '../observability/admin-server.ts';
import type { Logger } from '../observability/logger.ts';
import type { TlsMaterial } from '../observability/self-signed-certificate.ts';
import type { Clock } from '../resilience/clock.ts';

const TOKEN_REVIEWS: ResourceDescriptor = { group: 'authentication.k8s.io', version: 'v1', plural: 'tokenreviews', kind: 'TokenReview', namespaced: false };
const SUBJECT_ACCESS_REVIEWS: ResourceDescriptor = { group: 'authorization.k8s.io', version: 'v1', plural: 'subjectaccessreviews', kind: 'SubjectAccessReview', namespaced: false };

interface UserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

type TokenReview = KubeObject & { readonly status?: { readonly authenticated?: boolean; readonly user?: UserInfo; readonly error?: string } };
type SubjectAccessReview = KubeObject & { readonly status?: { readonly allowed?: boolean; readonly reason?: string } };

export interface KubeMetricsAccessOptions {
  readonly client: Pick<KubeClient, 'create'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a verdict on a token is reused. Default 10 s (client-go's delegating authenticator caches 10 s too). */
  readonly cacheTtlMs?: number;
  /** Verdicts remembered at most. Default 1,024. */
  readonly cacheSize?: number;
}

/**
 * The access check of secure metrics, as controller-runtime's `WithAuthenticationAndAuthorization` filter: a
 * bearer token is required (401 without), the API server must authenticate it (TokenReview, 401 otherwise) and
 * allow its user `get` on the non-resource URL (SubjectAccessReview, 403 otherwise).
 *
 * Guarantees: fails closed (a review that cannot be made answers 500, and is not remembered); tokens are kept
 * only as SHA-256 digests; a verdict is reused for `cacheTtlMs`, so a scrape every few seconds costs two
 * reviews per interval, not per scrape.
 */
export function kubeMetricsAccess(options: KubeMetricsAccessOptions): MetricsAccess {
  const ttlMs = options.cacheTtlMs ?? 10_000;
  const size = options.cacheSize ?? 1_024;
  const verdicts = new Map<string, { decision: AccessDecision; expiresAtMs: number }>();
  return async (req: IncomingMessage): Promise<AccessDecision> => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) return { allowed: false, status: 401, reason: 'Unauthorized: a bearer token is required' };
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const key = createHash('sha256').update(`${path}\u0000${token}`).digest('hex');
    const nowMs = options.clock.now();
    const cached = verdicts.get(key);
    if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.decision;
    let decision: AccessDecision;
    try {
      decision = await review(options.client, token, path);
    } catch (error) {
      options.logger.error({ err: error }, 'metrics access could not be reviewed');
      return { allowed: false, status: 500, reason: 'Internal error: the request could not be authenticated' };
    }
    verdicts.delete(key);
    verdicts.set(key, { decision, expiresAtMs: nowMs + ttlMs });
    for (const oldest of verdicts.keys()) {
      if (verdicts.size <= size) break;
      verdicts.delete(oldest);
    }
    return decision;
  };
}

async function review(client: Pick<KubeClient, 'create'>, token: string, path: string): Promise<AccessDecision> {
  const authenticated = await client.create<TokenReview>(TOKEN_REVIEWS, { metadata: {}, spec: { token } } as KubeObject);
  const user = authenticated.status?.user;
  if (authenticated.status?.authenticated !== true || user?.username === undefined) return { allowed: false, status: 401, reason: 'Unauthorized: the token did not pass a TokenReview' };
  const subject = {
    user: user.username,
    ...(user.uid === undefined ? {} : { uid: user.uid }),
    ...(user.groups === undefined ? {} : { groups: user.groups }),
    ...(user.extra === undefined ? {} : { extra: user.extra }),
    nonResourceAttributes: { path, verb: 'get' },
  };
  const authorized = await client.create<SubjectAccessReview>(SUBJECT_ACCESS_REVIEWS, { metadata: {}, spec: subject } as KubeObject);
  if (authorized.status?.allowed === true) return { allowed: true };
  return { allowed: false, status: 403, reason: `Forbidden: ${user.username} may not get ${path}` };
}

/** `tls.crt` and `tls.key` of a folder (a mounted cert-manager Secret, for instance). */
export async function readTlsFolder(folder: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readFile(join(folder, 'tls.crt'), 'utf8'), readFile(join(folder, 'tls.key'), 'utf8')]);
  return { cert, key };
}

/**
 * Re-reads a certificate folder every `intervalMs` and hands a changed certificate to `onChange`, so a rotated
 * certificate (cert-manager renews before expiry) is served without a restart. A failed read keeps the old one.
 */
export class TlsFolderWatcher {
  readonly #folder: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #current: TlsMaterial;
  #timer: ReturnType<Clock['setTimeout']> | undefined;
  #stopped = false;

  constructor(options: { folder: string; current: TlsMaterial; clock: Clock; logger: Logger; intervalMs?: number }) {
    this.#folder = options.folder;
    this.#current = options.current;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 60_000;
  }

  start(onChange: (tls: TlsMaterial) => void): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      void this.check(onChange).finally(() => this.start(onChange));
    }, this.#intervalMs);
  }

  /** Reads the folder once; calls `onChange` when the certificate or key differs from the one served. */
  async check(onChange: (tls: TlsMaterial) => void): Promise<void> {
    try {
      const next = await readTlsFolder(this.#folder);
      if (next.cert === this.#current.cert && next.key === this.#current.key) return;
      onChange(next);
      this.#current = next;
      this.#logger.info({ folder: this.#folder }, 'metrics certificate reloaded');
    } catch (error) {
      this.#logger.warn({ err: error, folder: this.#folder }, 'metrics certificate could not be read; serving the previous one');
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
  }
}
