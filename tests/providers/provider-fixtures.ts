// What the provider tests share: Secrets served over HTTP to a real KubeClient, a captured logger, the workload simulator, waiting.
import { Writable } from 'node:stream';
import { WorkloadSimulator } from '../../src/devcluster/simulator.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { SecretMask } from '../../src/observability/redact.ts';
import { SecretReader } from '../../src/providers/secret-reader.ts';
import { systemClock } from '../../src/resilience/clock.ts';
import { json, startTestServer, tokenKubeConfig } from '../kube/http-test-server.ts';
import type { ClusterHarness } from '../support/cluster.ts';

export interface SecretsApi {
  readonly kube: KubeClient;
  readonly mask: SecretMask;
  readonly secrets: SecretReader;
  /** Stores Secret `namespace/name` with these string values (served base64-encoded, as the API server does). */
  put(namespace: string, name: string, values: Record<string, string>): void;
  remove(namespace: string, name: string): void;
  /** Answers every read with this status from now on (e.g. 403). */
  failWith(status: number | undefined): void;
  readonly reads: number;
  close(): Promise<void>;
}

/**
 * An HTTP server answering `GET /api/v1/namespaces/<ns>/secrets/<name>` like kube-apiserver (the Secret, or a
 * 404 `Status`), and a real `KubeClient` and `SecretReader` pointed at it.
 */
export async function startSecretsApi(): Promise<SecretsApi> {
  const stored = new Map<string, Record<string, string>>();
  let failure: number | undefined;
  let reads = 0;
  const server = await startTestServer((request, response) => {
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(request.path);
    if (request.method !== 'GET' || match === null) {
      json(response, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
      return;
    }
    reads += 1;
    const [, namespace = '', name = ''] = match;
    if (failure !== undefined) {
      json(response, failure, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: failure === 403 ? 'Forbidden' : 'InternalError', code: failure, message: `secrets "${name}" is not readable` });
      return;
    }
    const values = stored.get(`${namespace}/${name}`);
    if (values === undefined) {
      json(response, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `secrets "${name}" not found`, reason: 'NotFound', details: { name, kind: 'secrets' }, code: 404 });
      return;
    }
    const data = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
    json(response, 200, { kind: 'Secret', apiVersion: 'v1', metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '1' }, type: 'Opaque', data });
  });
  const kube = KubeClient.fromKubeConfig(tokenKubeConfig(server.url), { maxRetries: 0 });
  const mask = new SecretMask();
  return {
    kube,
    mask,
    secrets: new SecretReader({ kube, mask }),
    put: (namespace, name, values) => {
      stored.set(`${namespace}/${name}`, values);
    },
    remove: (namespace, name) => {
      stored.delete(`${namespace}/${name}`);
    },
    failWith: (status) => {
      failure = status;
    },
    get reads() {
      return reads;
    },
    close: async () => {
      kube.close();
      await server.close();
    },
  };
}

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: readonly string[];
  text(): string;
}

/** A trace-level logger writing to memory, redacting with `mask` as the process's logger does. */
export function captureLogger(mask: SecretMask): CapturedLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  return { logger: createLogger({ level: 'trace', destination, secretMask: mask }), lines, text: () => lines.join('\n') };
}

/** Resolves once `condition` holds, checking on every turn of the event loop; fails after `timeoutMs` of real time. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The rejection of `promise`, which must reject. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, and it resolved');
}

/** The global fetch, as the composition root hands it to providers. */
export const realFetch = (url: string, init: RequestInit): Promise<Response> => fetch(url, init);

/**
 * Runs the workload simulator against the cluster (it plays the Deployment and Job controllers over HTTP, so it
 * drives a real API server too) until the returned function is called.
 */
export function runSimulator(kubeConfig: ClusterHarness['kubeConfig']): () => Promise<void> {
  const client = KubeClient.fromKubeConfig(kubeConfig);
  const controller = new AbortController();
  const simulator = new WorkloadSimulator({ client, clock: systemClock, logger: createLogger({ level: 'silent' }), retryDelayMs: 100 });
  const running = simulator.run(controller.signal);
  return async () => {
    controller.abort();
    await running;
    client.close();
  };
}

/** Calls `look` every 25 ms until `done` holds for its result; fails after `timeoutMs`. */
export async function eventually<T>(look: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await look();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still not there after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
