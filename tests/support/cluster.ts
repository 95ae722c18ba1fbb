// The cluster every integration suite runs against: an embedded devcluster, or the cluster TEST_KUBECONFIG names.
//
// Usage (one cluster per test file):
//
//     import { startCluster, type ClusterHarness } from '../support/cluster.ts';
//     let cluster: ClusterHarness;
//     beforeAll(async () => { cluster = await startCluster({ suite: 'deploy-controller', crds: [deployCrd] }); });
//     afterAll(() => cluster.stop());
//
// What a suite gets:
// - `kubeconfigPath` and `kubeConfig` (a @kubernetes/client-node KubeConfig) for clients and child processes;
// - `namespace`: a fresh namespace of its own (deleted by `stop()`);
// - `request(method, path, {body, contentType, headers, token})`: raw authenticated HTTP, answering
//   `{status, headers, text, json}`; `stream(path)` opens a watch and reads it event by event;
// - `faults`: the devcluster's fault injector, or `null` against a real cluster. Tests that need it use
//   `it.skipIf(!FAULTS_AVAILABLE)` and `skipReason()` prints why;
// - `serviceAccountToken(name)`: creates a ServiceAccount in the namespace and returns a bearer token for
//   it (TokenRequest), to act under RBAC; `kubeconfigForToken(token)` writes a kubeconfig for that identity
//   (for an operator process run under its ClusterRole).
//
// Without TEST_KUBECONFIG a devcluster starts on an ephemeral port (with `rbac: true`, RBAC is evaluated and
// the suite's own identity is a cluster admin). With TEST_KUBECONFIG the suite uses that cluster, installs
// the CRDs it asks for (create or update, then waits until Established) and never deletes them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions as NodeRequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { DevCluster } from '../../src/devcluster/dev-cluster.ts';
import type { FaultInjector } from '../../src/devcluster/faults.ts';

const TEST_KUBECONFIG = process.env['TEST_KUBECONFIG'];

/** Whether fault injection is available (only with the embedded devcluster). */
export const FAULTS_AVAILABLE = TEST_KUBECONFIG === undefined || TEST_KUBECONFIG === '';

/** Prints why a fault-injection test is skipped and returns the reason. */
export function skipReason(test: string): string {
  const reason = `${test}: needs the devcluster's fault injection, which a real cluster (TEST_KUBECONFIG) does not have`;
  if (!FAULTS_AVAILABLE) console.warn(`SKIPPED ${reason}`);
  return reason;
}

export interface ClusterOptions {
  /** Names the namespace (`<suite>-<random>`); letters, digits and dashes. */
  readonly suite: string;
  /** CustomResourceDefinitions the suite needs, as objects. */
  readonly crds?: readonly Record<string, unknown>[];
  /** Evaluate RBAC on the embedded devcluster (a real cluster always does). */
  readonly rbac?: boolean;
}

export interface RawRequestOptions {
  /** An object is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Acts as another identity (a ServiceAccount token) instead of the kubeconfig's user. */
  readonly token?: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (throws when it is not). */
  json<T = Record<string, unknown>>(): T;
}

/** An open streaming response (a watch). */
export interface RawStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The next event line parsed, or undefined once the stream has ended; rejects after `timeoutMs`. */
  next<T = Record<string, unknown>>(timeoutMs?: number): Promise<T | undefined>;
  close(): void;
}

export interface ClusterHarness {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** Base URL of the API server. */
  readonly server: string;
  readonly faults: FaultInjector | null;
  /** The embedded devcluster itself, or null against a real cluster. */
  readonly devcluster: DevCluster | null;
  request(method: string, path: string, options?: RawRequestOptions): Promise<RawResponse>;
  stream(path: string, options?: RawRequestOptions): Promise<RawStream>;
  serviceAccountToken(name: string): Promise<string>;
  /** Writes a kubeconfig for the same server with `token` as its user; returns its path (removed by `stop()`). */
  kubeconfigForToken(token: string): string;
  stop(): Promise<void>;
}

function namespaceFor(suite: string): string {
  const base = suite
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${base || 'suite'}-${randomBytes(3).toString('hex')}`;
}

async function send(kubeConfig: KubeConfig, method: string, path: string, options: RawRequestOptions): Promise<IncomingMessage> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, server);
  const opts: NodeRequestOptions & { headers: Record<string, string> } = { method, headers: {} };
  await kubeConfig.applyToHTTPSOptions(opts as never);
  const headers: Record<string, string> = { accept: 'application/json', ...(opts.headers as Record<string, string>), ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    payload = Buffer.isBuffer(options.body) ? options.body : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    headers['content-type'] = options.contentType ?? 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const https = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, { ...opts, method, headers }, resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

function createHarness(kubeconfigPath: string, kubeConfig: KubeConfig, namespace: string, devcluster: DevCluster | null, cleanup: () => Promise<void>): ClusterHarness {
  const scratch = mkdtempSync(join(tmpdir(), 'cluster-identities-'));
  let identities = 0;
  const request = async (method: string, path: string, options: RawRequestOptions = {}): Promise<RawResponse> => {
    const res = await send(kubeConfig, method, path, options);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return {
      status: res.statusCode ?? 0,
      headers: res.headers,
      text,
      json: <T>() => JSON.parse(text) as T,
    };
  };
  const stream = async (path: string, options: RawRequestOptions = {}): Promise<RawStream> => {
    const res = await send(kubeConfig, 'GET', path, options);
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    let buffered = '';
    let ended = false;
    const wake = (): void => {
      for (const waiter of waiters.splice(0)) waiter();
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffered += chunk;
      let index: number;
      while ((index = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, index).trim();
        buffered = buffered.slice(index + 1);
        if (line !== '') lines.push(line);
      }
      wake();
    });
    const finish = (): void => {
      if (buffered.trim() !== '') lines.push(buffered.trim());
      buffered = '';
      ended = true;
      wake();
    };
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
    return {
      status: res.statusCode ?? 0,
      headers: res.headers,
      async next<T>(timeoutMs = 10_000): Promise<T | undefined> {
        const deadline = Date.now() + timeoutMs;
        while (lines.length === 0 && !ended) {
          const remaining = deadline - Date.now();
          if (remaining <= 0) throw new Error(`no watch event within ${timeoutMs} ms on ${path}`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, remaining);
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        const line = lines.shift();
        return line === undefined ? undefined : (JSON.parse(line) as T);
      },
      close() {
        res.destroy();
      },
    };
  };
  return {
    kubeconfigPath,
    kubeConfig,
    namespace,
    server: kubeConfig.getCurrentCluster()?.server ?? '',
    faults: devcluster?.faults ?? null,
    devcluster,
    request,
    stream,
    async serviceAccountToken(name: string): Promise<string> {
      const created = await request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } });
      if (created.status !== 201 && created.status !== 409) throw new Error(`creating ServiceAccount ${name}: ${created.status} ${created.text}`);
      const issued = await request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } });
      if (issued.status !== 201) throw new Error(`requesting a token for ${name}: ${issued.status} ${issued.text}`);
      return issued.json<{ status: { token: string } }>().status.token;
    },
    kubeconfigForToken(token: string): string {
      const copy = new KubeConfig();
      copy.loadFromString(kubeConfig.exportConfig());
      const context = copy.getContextObject(copy.getCurrentContext());
      const userName = `token-${++identities}`;
      copy.addUser({ name: userName, token });
      copy.addContext({ name: userName, cluster: context?.cluster ?? '', user: userName, namespace });
      copy.setCurrentContext(userName);
      const path = join(scratch, `${userName}.kubeconfig`);
      writeFileSync(path, copy.exportConfig(), { mode: 0o600 });
      return path;
    },
    async stop() {
      await cleanup();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

async function waitEstablished(harness: ClusterHarness, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await harness.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const conditions = res.status === 200 ? (res.json<{ status?: { conditions?: { type: string; status: string }[] | null } }>().status?.conditions ?? []) : [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`CRD ${name} was not Established within 30 s`);
}

/** Installs CRDs (create, or update when they exist) and waits until each is Established. */
export async function installCrds(harness: ClusterHarness, crds: readonly Record<string, unknown>[]): Promise<void> {
  for (const crd of crds) {
    const name = (crd['metadata'] as { name: string }).name;
    const created = await harness.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
    if (created.status === 409) {
      const current = await harness.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const resourceVersion = current.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
      const updated = await harness.request('PUT', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, { body: { ...crd, metadata: { ...(crd['metadata'] as object), resourceVersion } } });
      if (updated.status !== 200) throw new Error(`updating CRD ${name}: ${updated.status} ${updated.text}`);
    } else if (created.status !== 201) {
      throw new Error(`creating CRD ${name}: ${created.status} ${created.text}`);
    }
    await waitEstablished(harness, name);
  }
}

/** Starts (or connects to) the suite's cluster, creates its namespace and installs its CRDs. */
export async function startCluster(options: ClusterOptions): Promise<ClusterHarness> {
  const namespace = namespaceFor(options.suite);
  let harness: ClusterHarness;
  if (!FAULTS_AVAILABLE && TEST_KUBECONFIG !== undefined) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(TEST_KUBECONFIG);
    harness = createHarness(TEST_KUBECONFIG, kubeConfig, namespace, null, async () => {
      await harness.request('DELETE', `/api/v1/namespaces/${namespace}`);
    });
  } else {
    const devcluster = await DevCluster.start({
      bookmarkIntervalMs: 1000,
      ...(options.rbac === true ? { auth: { rbac: true } } : {}),
      onError: (error) => console.error('devcluster internal error', error),
    });
    const dir = mkdtempSync(join(tmpdir(), 'devcluster-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    devcluster.writeKubeconfig(kubeconfigPath);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    harness = createHarness(kubeconfigPath, kubeConfig, namespace, devcluster, async () => {
      await devcluster.stop();
      rmSync(dir, { recursive: true, force: true });
    });
  }
  const created = await harness.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } });
  if (created.status !== 201) throw new Error(`creating namespace ${namespace}: ${created.status} ${created.text}`);
  await installCrds(harness, options.crds ?? []);
  return harness;
}
