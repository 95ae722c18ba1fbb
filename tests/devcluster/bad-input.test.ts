import { connect as connectPlain } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';

let cluster: ClusterHarness;
let configmaps: string;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'conformance-bad-input' });
  configmaps = `/api/v1/namespaces/${cluster.namespace}/configmaps`;
});
afterAll(() => cluster.stop());

async function stillServes(): Promise<void> {
  const res = await cluster.request('GET', configmaps);
  expect(res.status).toBe(200);
}

describe('bad input', () => {
  it('answers 400 to malformed JSON and to malformed YAML, and keeps serving', async () => {
    const json = await cluster.request('POST', configmaps, { body: '{"apiVersion": "v1", "kind": ', contentType: 'application/json' });
    expect(json.status).toBe(400);
    expect(json.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    const yaml = await cluster.request('POST', configmaps, { body: 'apiVersion: v1\nkind: [ConfigMap\n  : :', contentType: 'application/yaml' });
    expect(yaml.status).toBe(400);
    await stillServes();
  });

  it('answers 400 to a path with a malformed escape, and keeps serving', async () => {
    const res = await cluster.request('GET', `${configmaps}/%E0%A4%A`);
    expect(res.status).toBe(400);
    await stillServes();
  });

  it('drops unknown fields of a built-in kind with a Warning, or refuses them with fieldValidation=Strict', async () => {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typo', lables: { a: 'b' } }, dta: { a: 'b' } };
    const strict = await cluster.request('POST', `${configmaps}?fieldValidation=Strict`, { body });
    expect(strict.status).toBe(400);
    expect(strict.json()).toMatchObject({ reason: 'BadRequest', message: 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta", unknown field "metadata.lables"' });
    const warned = await cluster.request('POST', configmaps, { body });
    expect(warned.status).toBe(201);
    expect(warned.headers['warning']).toBe('299 - "unknown field \\"dta\\"", 299 - "unknown field \\"metadata.lables\\""');
    const stored = warned.json<Record<string, unknown> & { metadata: Record<string, unknown> }>();
    expect(stored['dta']).toBeUndefined();
    expect(stored.metadata['lables']).toBeUndefined();
  });

  it('accepts a YAML body', async () => {
    const res = await cluster.request('POST', configmaps, { body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n', contentType: 'application/yaml' });
    expect(res.status).toBe(201);
  });

  it('answers 413 to a body over 3 MiB, and keeps serving', async () => {
    const big = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { blob: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    const res = await cluster.request('POST', configmaps, { body: big });
    expect(res.status).toBe(413);
    expect(res.json()).toMatchObject({ kind: 'Status', code: 413 });
    await stillServes();
  });

  it('answers 404 to an unknown group and an unknown resource, and keeps serving', async () => {
    expect((await cluster.request('POST', `/apis/nope.example.com/v1/namespaces/${cluster.namespace}/things`, { body: {} })).status).toBe(404);
    expect((await cluster.request('GET', `/api/v1/namespaces/${cluster.namespace}/things`)).status).toBe(404);
    await stillServes();
  });

  it('answers 422 naming each invalid field, and keeps serving', async () => {
    const res = await cluster.request('POST', configmaps, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name', labels: { 'bad key!': 'v' } } } });
    expect(res.status).toBe(422);
    const fields = res.json<{ details: { causes: { field: string }[] } }>().details.causes.map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'metadata.labels']));
    await stillServes();
  });

  it('answers 400 to a body that is not an object and to a missing kind', async () => {
    expect((await cluster.request('POST', configmaps, { body: '[1,2]' })).status).toBe(400);
    expect((await cluster.request('POST', configmaps, { body: { apiVersion: 'v1', metadata: { name: 'nokind' } } })).status).toBe(400);
    await stillServes();
  });

  it('survives clients that drop the connection mid-request or send garbage', async () => {
    const url = new URL(cluster.server);
    const connect = (port: number, host: string, onConnect: () => void) => (url.protocol === 'https:' ? connectTls({ port, host, rejectUnauthorized: false }, onConnect) : connectPlain(port, host, onConnect));
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(`POST ${configmaps} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"apiVersion":`);
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write('THIS IS NOT HTTP\r\n\r\n');
        socket.on('data', () => socket.destroy());
        socket.on('close', () => resolve());
        setTimeout(() => socket.destroy(), 500);
      });
    });
    const watch = await cluster.stream(`${configmaps}?watch=1&timeoutSeconds=30`);
    watch.close();
    await stillServes();
  });
});
