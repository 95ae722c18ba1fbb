import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { isKubeConfigError } from '../../src/kube/errors.ts';
import { inClusterConfig, readKubeConfig } from '../../src/kube/kubeconfig.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { json, startTestServer, type TestServer } from './http-test-server.ts';

let dir: string;
let server: TestServer | undefined;
let client: KubeClient | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
});
afterEach(async () => {
  client?.close();
  await server?.close();
  server = undefined;
  client = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(body: string): string {
  const path = join(dir, 'config');
  writeFileSync(path, body);
  return path;
}

const pods = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true } as const;

describe('readKubeConfig', () => {
  it('resolves the current context, its namespace, and file paths relative to the kubeconfig', () => {
    const path = kubeconfig(`
apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: local, user: admin, namespace: team-a}
- name: other
  context: {cluster: local, user: robot}
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:6443/", certificate-authority: certs/ca.crt, tls-server-name: api.local}
users:
- name: admin
  user: {client-certificate: certs/admin.crt, client-key: /abs/admin.key, as: auditor}
- name: robot
  user: {tokenFile: robot.token}
`);
    const context = readKubeConfig(path);
    expect(context.namespace).toBe('team-a');
    expect(context.cluster).toEqual({ name: 'local', server: 'https://127.0.0.1:6443', skipTLSVerify: false, caFile: join(dir, 'certs/ca.crt'), tlsServerName: 'api.local' });
    expect(context.user).toEqual({ name: 'admin', certFile: join(dir, 'certs/admin.crt'), keyFile: '/abs/admin.key', impersonateUser: 'auditor' });
    expect(readKubeConfig(path, 'other').user).toEqual({ name: 'robot', tokenFile: join(dir, 'robot.token') });
  });

  it('names the file and the problem when the kubeconfig cannot be used', () => {
    const noContext = kubeconfig('apiVersion: v1\nkind: Config\nclusters: []\n');
    expect(() => readKubeConfig(noContext)).toThrow(/no current-context/);
    expect(() => readKubeConfig(join(dir, 'missing'))).toThrow(/cannot read the kubeconfig/);
    const dangling = kubeconfig('current-context: x\ncontexts: [{name: x, context: {cluster: nope, user: u}}]\nclusters: []\nusers: []\n');
    let error: unknown;
    try {
      readKubeConfig(dangling);
    } catch (caught) {
      error = caught;
    }
    expect(isKubeConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('no cluster named "nope"');
  });

  it('reads the in-cluster service account: server, CA, token file and namespace', () => {
    writeFileSync(join(dir, 'namespace'), 'operators\n');
    const context = inClusterConfig({ host: 'fd00::1', port: 443, root: dir });
    expect(context.cluster.server).toBe('https://[fd00::1]:443');
    expect(context.cluster.caFile).toBe(join(dir, 'ca.crt'));
    expect(context.user.tokenFile).toBe(join(dir, 'token'));
    expect(context.namespace).toBe('operators');
  });
});

describe('KubeClient credentials from kubeconfig files', () => {
  it('sends a static token, and the impersonation header', async () => {
    server = await startTestServer((_req, res) => json(res, 200, { metadata: { name: 'p' } }));
    const path = kubeconfig(`current-context: c\ncontexts: [{name: c, context: {cluster: s, user: u, namespace: ns1}}]\nclusters: [{name: s, cluster: {server: "${server.url}"}}]\nusers: [{name: u, user: {token: abc, as: auditor}}]\n`);
    client = KubeClient.fromFile(path);
    expect(client.namespace).toBe('ns1');
    await client.get(pods, 'p', { namespace: 'ns1' });
    expect(server.requests[0]?.headers['authorization']).toBe('Bearer abc');
    expect(server.requests[0]?.headers['impersonate-user']).toBe('auditor');
  });

  it('re-reads a rotating token file after the credential TTL, and at once after a 401', async () => {
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, 'first\n');
    server = await startTestServer((req, res) => (req.headers['authorization'] === 'Bearer stale' ? json(res, 401, { kind: 'Status', code: 401, reason: 'Unauthorized' }) : json(res, 200, { metadata: {} })));
    const clock = new ManualClock();
    const path = kubeconfig(`current-context: c\ncontexts: [{name: c, context: {cluster: s, user: u}}]\nclusters: [{name: s, cluster: {server: "${server.url}"}}]\nusers: [{name: u, user: {tokenFile: token}}]\n`);
    client = KubeClient.fromFile(path, { clock, credentialTtlMs: 60_000 });
    await client.get(pods, 'p', { namespace: 'n' });
    writeFileSync(tokenPath, 'second\n');
    await client.get(pods, 'p', { namespace: 'n' });
    clock.advance(60_000);
    await client.get(pods, 'p', { namespace: 'n' });
    writeFileSync(tokenPath, 'stale');
    clock.advance(60_000);
    await expect(client.get(pods, 'p', { namespace: 'n' })).rejects.toMatchObject({ code: 401 });
    writeFileSync(tokenPath, 'third');
    await client.get(pods, 'p', { namespace: 'n' });
    // After the 401 the refreshed (still stale) token is cached: the next call tries it once more, gets a 401, re-reads.
    expect(server.requests.map((r) => r.headers['authorization'])).toEqual(['Bearer first', 'Bearer first', 'Bearer second', 'Bearer stale', 'Bearer stale', 'Bearer stale', 'Bearer third']);
  });

  it('runs an exec credential plugin named in the kubeconfig', async () => {
    const plugin = join(dir, 'plugin.mjs');
    writeFileSync(plugin, `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-' + process.env.PLUGIN_FLAVOUR } }));`);
    server = await startTestServer((_req, res) => json(res, 200, { metadata: {} }));
    const path = kubeconfig(`current-context: c
contexts: [{name: c, context: {cluster: s, user: u}}]
clusters: [{name: s, cluster: {server: "${server.url}"}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${JSON.stringify(process.execPath)}
      args: [${JSON.stringify(plugin)}]
      env: [{name: PLUGIN_FLAVOUR, value: exec}]
      interactiveMode: Never
`);
    client = KubeClient.fromFile(path);
    await client.get(pods, 'p', { namespace: 'n' });
    expect(server.requests[0]?.headers['authorization']).toBe('Bearer from-exec');
  });

  it('refuses a proxy-url it cannot honour instead of ignoring it', () => {
    const path = kubeconfig(`current-context: c\ncontexts: [{name: c, context: {cluster: s, user: u}}]\nclusters: [{name: s, cluster: {server: "https://k", proxy-url: "http://proxy:3128"}}]\nusers: [{name: u, user: {}}]\n`);
    expect(() => KubeClient.fromFile(path)).toThrow(/proxy-url is not supported/);
  });

  it('a client for the in-cluster service account reads the mounted token', async () => {
    server = await startTestServer((_req, res) => json(res, 200, { metadata: {} }));
    writeFileSync(join(dir, 'token'), 'sa-token');
    const url = new URL(server.url);
    client = KubeClient.fromContext({ ...inClusterConfig({ host: url.hostname, port: url.port, root: dir }), cluster: { name: 'in-cluster', server: server.url, skipTLSVerify: false } });
    await client.get(pods, 'p', { namespace: 'n' });
    expect(server.requests[0]?.headers['authorization']).toBe('Bearer sa-token');
  });
});
