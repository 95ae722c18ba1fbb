import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customResourceDefinition } from '../../../src/api/crd.ts';
import { DEPLOY_KIND } from '../../../src/api/deploy.ts';
import { runOperator, type OperatorEndpoints } from '../../../src/cli/operator.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { SecretMask } from '../../../src/observability/redact.ts';
import { selfSignedCertificate } from '../../../src/observability/self-signed-certificate.ts';
import { startCluster, type ClusterHarness } from '../../support/cluster.ts';
import { REPO_ROOT } from '../deploy/deploy-suite.ts';

let cluster: ClusterHarness;
const dir = mkdtempSync(join(tmpdir(), 'secure-metrics-'));
const stops: (() => Promise<void>)[] = [];
let readerRole = '';

beforeAll(async () => {
  cluster = await startCluster({ suite: 'secure-metrics', rbac: true, crds: [customResourceDefinition(DEPLOY_KIND) as unknown as Record<string, unknown>] });
  readerRole = `${cluster.namespace}-metrics-reader`;
  const created = await cluster.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: readerRole }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] },
  });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  for (const stop of stops) await stop();
  await cluster.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${readerRole}`);
  await cluster.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${readerRole}`);
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the operator with secure metrics; resolves once it listens. */
async function startSecureOperator(env: Record<string, string> = {}): Promise<OperatorEndpoints> {
  const config = loadConfig([], {
    WATCH_NAMESPACE: cluster.namespace,
    LEADER_ELECT: 'false',
    METRICS_SECURE: 'true',
    METRICS_BIND_ADDRESS: '127.0.0.1:0',
    HEALTH_PROBE_BIND_ADDRESS: '0',
    AGENT_CATALOG: `${REPO_ROOT}agent-catalog/agents.yaml`,
    ...env,
  });
  const stop = new AbortController();
  let listening: (endpoints: OperatorEndpoints) => void = () => undefined;
  const ready = new Promise<OperatorEndpoints>((resolve) => (listening = resolve));
  const secretMask = new SecretMask();
  const running = runOperator({ config, logger: createLogger({ level: 'silent', secretMask }), secretMask, kubeconfigPath: cluster.kubeconfigPath, onListening: listening }, stop.signal);
  stops.push(async () => {
    stop.abort();
    await running.catch(() => undefined);
  });
  return Promise.race([ready, running.then(() => ({}))]);
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly peerSubject: string;
}

function get(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, ...options }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peerSubject: String(peer.subject?.CN ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('secure metrics (METRICS_SECURE=true)', () => {
  it('serves HTTPS, and only to a bearer token the API server authenticates and allows to get /metrics', async () => {
    const { metrics } = await startSecureOperator();
    expect(metrics).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const url = `${metrics ?? ''}/metrics`;

    const anonymous = await get(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.peerSubject).toBe('blackroad-os-operator');
    expect((await get(url, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);

    const nobody = await cluster.serviceAccountToken('nobody');
    const refused = await get(url, { headers: { authorization: `Bearer ${nobody}` } });
    expect(refused.status).toBe(403);
    expect(refused.body).toContain(`system:serviceaccount:${cluster.namespace}:nobody may not get /metrics`);

    const scraper = await cluster.serviceAccountToken('scraper');
    const bound = await cluster.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: readerRole },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: readerRole },
        subjects: [{ kind: 'ServiceAccount', name: 'scraper', namespace: cluster.namespace }],
      },
    });
    expect(bound.status).toBe(201);
    const allowed = await get(url, { headers: { authorization: `Bearer ${scraper}` } });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toContain('controller_runtime_reconcile_total');
  });

  it('serves the certificate of METRICS_CERT_DIR, and refuses to start on a folder without one', async () => {
    const certDir = join(dir, 'certs');
    const material = selfSignedCertificate(1, 'mounted-certificate');
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'tls.crt'), material.cert);
    writeFileSync(join(certDir, 'tls.key'), material.key);
    const { metrics } = await startSecureOperator({ METRICS_CERT_DIR: certDir });
    const answer = await get(`${metrics ?? ''}/metrics`, { rejectUnauthorized: true, ca: material.cert });
    expect(answer.peerSubject).toBe('mounted-certificate');
    expect(answer.status).toBe(401);

    await expect(startSecureOperator({ METRICS_CERT_DIR: join(dir, 'missing') })).rejects.toThrow(/METRICS_CERT_DIR=.*does not hold a readable tls.crt and tls.key/);
  });
});
