// Local stand-ins for the services the examples call (a deploy hook, Railway's GraphQL API, health endpoints, a code-quality checker), run by `blackroad-operator dev`.
//
// One node:http server on 127.0.0.1 (port 6480 unless `--demo-port` says otherwise):
//
//   GET  /                          what is served here, as JSON
//   POST /hooks/<service>           deploy hook (ADR 009): HMAC-verified, one operation per Idempotency-Key,
//                                   answers 202 {id, statusUrl}
//   GET  /hooks/operations/<id>     {state: pending | succeeded | failed, message}
//   POST /railway/graphql/v2        the Railway GraphQL operations the railway provider sends, bearer token checked
//   GET  /health/<service>          200 "ok"
//   POST /checks/<check>            checker for http check units: HMAC-verified, answers {status: pass | fail, details}
//
// Every endpoint takes `?outcome=fail` in its URL (as written in a spec): the hook's operations and Railway's
// deployments then fail, the health endpoint answers 503 and the checker fails every repository; the checker also
// takes `?fail=<repository>,...` to fail some repositories only. A deploy (hook operation or Railway deployment)
// takes `rolloutMs` of the injected clock. The demo key and token below are published values, not secrets:
// the examples' Secrets hold them so that `kubectl apply -f examples/` works against `npm run dev`.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/logger.ts';
import { hmacSignature } from '../providers/hmac-signature.ts';
import type { Clock } from '../resilience/clock.ts';

/** Where `blackroad-operator dev` serves the demo services unless told otherwise; the examples name it. */
export const DEMO_SERVICES_PORT = 6480;
/** The HMAC key the demo hook and checker verify signatures with. A demo value, published on purpose: not a secret. */
export const DEMO_HMAC_KEY = 'demo-hmac-key-not-a-secret';
/** The bearer token the demo Railway API accepts. A demo value, published on purpose: not a secret. */
export const DEMO_RAILWAY_TOKEN = 'demo-railway-token-not-a-secret';

export interface DemoServicesOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Listen host; 127.0.0.1 by default. */
  readonly host?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a deploy takes, from the request to its final state. Default 1,000 ms. */
  readonly rolloutMs?: number;
}

/** The demo services could not start (the port is taken, most often). */
export class DemoServicesError extends Error {
  override name = 'DemoServicesError';
}

/** Whether `error` is a {@link DemoServicesError}. */
export function isDemoServicesError(error: unknown): error is DemoServicesError {
  return error instanceof DemoServicesError;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Request {
  readonly method: string;
  readonly url: URL;
  readonly header: (name: string) => string | undefined;
  readonly body: string;
}

interface HookOperation {
  readonly id: string;
  readonly action: string;
  readonly service: string;
  readonly version: string;
  readonly startedMs: number;
  readonly fails: boolean;
}

interface RailwayDeployment {
  readonly id: string;
  readonly sequence: number;
  readonly instance: string;
  readonly image: string | undefined;
  readonly startedMs: number;
  readonly fails: boolean;
}

/** Operations and deployments kept; older ones are forgotten, so a long `dev` session stays small. */
const MAX_KEPT = 1_000;
const MAX_BODY_BYTES = 1024 * 1024;
/** Railway's statuses while a deployment runs, each for an equal share of the rollout. */
const RAILWAY_PROGRESS = ['QUEUED', 'BUILDING', 'DEPLOYING'];

const json = (status: number, body: unknown, headers?: Record<string, string>): Answer => ({ status, body, ...(headers === undefined ? {} : { headers }) });
const graphQLError = (message: string): Answer => json(200, { data: null, errors: [{ message }] });
const failsBy = (url: URL): boolean => url.searchParams.get('outcome') === 'fail';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Keeps the newest `MAX_KEPT` entries of a map that is filled in insertion order. */
function trim<K, V>(map: Map<K, V>): void {
  for (const key of map.keys()) {
    if (map.size <= MAX_KEPT) return;
    map.delete(key);
  }
}

/**
 * The demo services: what the examples' deploy hook, Railway endpoint, health checks and checker point at, so
 * that every example reaches Ready on the embedded cluster with nothing else to start.
 *
 * Guarantees: the hook and the checker answer 401 to a request whose `X-Signature` is not the HMAC of its body
 * under {@link DEMO_HMAC_KEY}, Railway answers 401 without `Authorization: Bearer` {@link DEMO_RAILWAY_TOKEN};
 * repeats of a hook delivery with the same `Idempotency-Key` get the same operation. Nothing is persisted.
 */
export class DemoServices {
  readonly #server: Server;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #rolloutMs: number;
  readonly #operations = new Map<string, HookOperation>();
  readonly #images = new Map<string, string>();
  readonly #deployments = new Map<string, RailwayDeployment>();
  #sequence = 0;
  #url = '';

  private constructor(options: DemoServicesOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#rolloutMs = options.rolloutMs ?? 1_000;
    this.#server = createServer((req, res) => void this.#serve(req, res));
  }

  /**
   * Starts listening. Errors: a {@link DemoServicesError} naming the address when it cannot listen there.
   */
  static async start(options: DemoServicesOptions): Promise<DemoServices> {
    const services = new DemoServices(options);
    const host = options.host ?? '127.0.0.1';
    try {
      await new Promise<void>((resolve, reject) => {
        services.#server.once('error', reject);
        services.#server.listen(options.port, host, () => {
          services.#server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the address is in use' : error instanceof Error ? error.message : String(error);
      throw new DemoServicesError(`demo services cannot listen on ${host}:${options.port}: ${reason}`, { cause: error });
    }
    services.#url = `http://${host}:${(services.#server.address() as AddressInfo).port}`;
    return services;
  }

  /** `http://127.0.0.1:<port>`, no trailing slash. */
  get url(): string {
    return this.#url;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'body too large' }));
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const request: Request = {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', this.#url),
      header: (name) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      body: Buffer.concat(chunks).toString('utf8'),
    };
    const answer = this.#route(request);
    this.#logger.debug({ method: request.method, path: request.url.pathname, status: answer.status }, 'demo service answered');
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json', ...answer.headers }).end(text);
  }

  #route(request: Request): Answer {
    const { method, url } = request;
    const path = url.pathname;
    if (method === 'GET' && path === '/') return json(200, this.#index());
    if (method === 'GET' && path.startsWith('/health/')) return failsBy(url) ? { status: 503, body: 'unhealthy (demo: outcome=fail)' } : { status: 200, body: 'ok' };
    if (method === 'POST' && /^\/hooks\/[\w.-]+$/.test(path)) return this.#signed(request, () => this.#hook(request));
    const operation = /^\/hooks\/operations\/([\w-]+)$/.exec(path);
    if (method === 'GET' && operation !== null) return this.#hookStatus(operation[1] ?? '');
    if (method === 'POST' && path === '/railway/graphql/v2') return this.#railway(request);
    const check = /^\/checks\/([\w.-]+)$/.exec(path);
    if (method === 'POST' && check !== null) return this.#signed(request, () => this.#check(request, check[1] ?? ''));
    return json(404, { error: `no demo service at ${method} ${path}; GET / lists them` });
  }

  #index(): Record<string, string> {
    return {
      'POST /hooks/<service>': 'deploy hook (X-Signature over the body with the demo HMAC key, Idempotency-Key), answers 202 {id, statusUrl}',
      'GET /hooks/operations/<id>': 'status of a hook operation: {state: pending|succeeded|failed, message}',
      'POST /railway/graphql/v2': "Railway's GraphQL API, as much of it as the railway provider uses (Authorization: Bearer <demo token>)",
      'GET /health/<service>': 'a healthy service: 200 ok',
      'POST /checks/<check>': 'checker for http check units (X-Signature), answers {status: pass|fail, details}; ?fail=<repository>,... fails some',
      '?outcome=fail': 'on any of the above URLs: deploys fail, health answers 503, every check fails',
    };
  }

  /** Runs `handle` when the request carries the HMAC of its body under the demo key; 401 otherwise. */
  #signed(request: Request, handle: () => Answer): Answer {
    const given = Buffer.from(request.header('x-signature') ?? '');
    const expected = Buffer.from(hmacSignature(DEMO_HMAC_KEY, request.body));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.#logger.warn({ path: request.url.pathname }, 'demo service refused a request whose signature does not match');
      return json(401, { error: 'X-Signature is not sha256=<HMAC-SHA256 of the body> under the demo key' });
    }
    return handle();
  }

  #hook(request: Request): Answer {
    const key = request.header('idempotency-key');
    const payload = parseJson(request.body);
    if (key === undefined || key === '' || !isRecord(payload)) return json(400, { error: 'a JSON body and an Idempotency-Key header are required' });
    let operation = this.#operations.get(key);
    if (operation === undefined) {
      this.#sequence += 1;
      operation = {
        id: `op-${this.#sequence}`,
        action: typeof payload['action'] === 'string' ? payload['action'] : 'deploy',
        service: typeof payload['service'] === 'string' ? payload['service'] : request.url.pathname.slice('/hooks/'.length),
        version: String(payload['action'] === 'rollback' ? payload['toVersion'] : payload['version']),
        startedMs: this.#clock.now(),
        fails: failsBy(request.url),
      };
      this.#operations.set(key, operation);
      trim(this.#operations);
    }
    return json(202, { id: operation.id, statusUrl: `${this.#url}/hooks/operations/${operation.id}` });
  }

  #hookStatus(id: string): Answer {
    const operation = [...this.#operations.values()].find((candidate) => candidate.id === id);
    if (operation === undefined) return json(404, { error: `no operation ${id}` });
    const what = `${operation.action} of ${operation.service} ${operation.version}`;
    if (this.#clock.now() - operation.startedMs < this.#rolloutMs) return json(200, { state: 'pending', message: `${what} in progress` });
    return operation.fails ? json(200, { state: 'failed', message: `${what} failed (demo: outcome=fail)` }) : json(200, { state: 'succeeded', message: `${what} done` });
  }

  #check(request: Request, check: string): Answer {
    const body = parseJson(request.body);
    const repository = isRecord(body) && isRecord(body['repository']) && typeof body['repository']['name'] === 'string' ? body['repository']['name'] : undefined;
    if (repository === undefined) return json(400, { error: 'the body must be {repository: {name, url}, ref?, check}' });
    const ref = isRecord(body) && typeof body['ref'] === 'string' ? `@${body['ref']}` : '';
    const failing = (request.url.searchParams.get('fail') ?? '').split(',');
    const fails = failsBy(request.url) || failing.includes(repository);
    return json(200, { status: fails ? 'fail' : 'pass', details: `demo checker: ${check} ${fails ? 'failed' : 'passed'} for ${repository}${ref}` });
  }

  #railway(request: Request): Answer {
    if (request.header('authorization') !== `Bearer ${DEMO_RAILWAY_TOKEN}`) return json(401, { errors: [{ message: 'Not Authorized' }] });
    const body = parseJson(request.body);
    if (!isRecord(body) || typeof body['query'] !== 'string') return json(400, { errors: [{ message: 'a GraphQL request is {query, variables}' }] });
    // The root field is the first name inside the operation's selection; its arguments come in `variables`.
    const field = /\{\s*(\w+)/.exec(body['query'])?.[1] ?? '';
    const variables = isRecord(body['variables']) ? body['variables'] : {};
    const text = (name: string): string => (typeof variables[name] === 'string' ? variables[name] : '');
    const instance = `${text('serviceId')}/${text('environmentId')}`;
    switch (field) {
      case 'serviceInstanceUpdate': {
        const input = variables['input'];
        const image = isRecord(input) && isRecord(input['source']) ? input['source']['image'] : undefined;
        if (typeof image === 'string') this.#images.set(instance, image);
        return json(200, { data: { serviceInstanceUpdate: true } });
      }
      case 'serviceInstanceDeployV2':
        return json(200, { data: { serviceInstanceDeployV2: this.#deploy(instance, this.#images.get(instance), failsBy(request.url)).id } });
      case 'deployment': {
        const deployment = this.#deployments.get(text('id'));
        return deployment === undefined ? graphQLError('Deployment not found') : json(200, { data: { deployment: this.#node(deployment) } });
      }
      case 'deployments':
        return json(200, { data: { deployments: { edges: this.#list(variables).map((node) => ({ node })) } } });
      case 'deploymentRollback': {
        const target = this.#deployments.get(text('id'));
        if (target === undefined) return graphQLError('Deployment not found');
        if (target.image !== undefined) this.#images.set(target.instance, target.image);
        this.#deploy(target.instance, target.image, false);
        return json(200, { data: { deploymentRollback: true } });
      }
      default:
        return graphQLError(`Cannot query field "${field}": the demo Railway API serves serviceInstanceUpdate, serviceInstanceDeployV2, deployment, deployments and deploymentRollback`);
    }
  }

  #deploy(instance: string, image: string | undefined, fails: boolean): RailwayDeployment {
    this.#sequence += 1;
    const deployment: RailwayDeployment = { id: `demo-deployment-${this.#sequence}`, sequence: this.#sequence, instance, image, startedMs: this.#clock.now(), fails };
    this.#deployments.set(deployment.id, deployment);
    trim(this.#deployments);
    return deployment;
  }

  /** The status a deployment has now: progressing with time, then final; a successful one is REMOVED once a newer one succeeds, as on Railway. */
  #status(deployment: RailwayDeployment): string {
    const elapsedMs = this.#clock.now() - deployment.startedMs;
    if (elapsedMs < this.#rolloutMs) return RAILWAY_PROGRESS[Math.floor((elapsedMs / this.#rolloutMs) * RAILWAY_PROGRESS.length)] ?? 'DEPLOYING';
    if (deployment.fails) return 'FAILED';
    const superseded = [...this.#deployments.values()].some(
      (other) => other.instance === deployment.instance && other.sequence > deployment.sequence && !other.fails && this.#clock.now() - other.startedMs >= this.#rolloutMs,
    );
    return superseded ? 'REMOVED' : 'SUCCESS';
  }

  #node(deployment: RailwayDeployment): Record<string, unknown> {
    return {
      id: deployment.id,
      status: this.#status(deployment),
      createdAt: new Date(deployment.startedMs).toISOString(),
      meta: deployment.image === undefined ? {} : { image: deployment.image },
    };
  }

  /** `deployments(input: {serviceId, environmentId, status: {successfulOnly}}, first)`, newest first. */
  #list(variables: Record<string, unknown>): Record<string, unknown>[] {
    const input = isRecord(variables['input']) ? variables['input'] : {};
    const instance = `${String(input['serviceId'])}/${String(input['environmentId'])}`;
    const successfulOnly = isRecord(input['status']) && input['status']['successfulOnly'] === true;
    const first = typeof variables['first'] === 'number' ? variables['first'] : 10;
    return [...this.#deployments.values()]
      .filter((deployment) => deployment.instance === instance)
      .reverse()
      .map((deployment) => this.#node(deployment))
      .filter((node) => !successfulOnly || node['status'] === 'SUCCESS')
      .slice(0, first);
  }
}
