// What a harness counting writes at the server sees: every request as it arrives, every committed change once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevCluster } from '../../src/devcluster/dev-cluster.ts';
import type { FaultRequest } from '../../src/devcluster/faults.ts';
import type { StoreEvent } from '../../src/devcluster/store.ts';

let cluster: DevCluster;
const requests: FaultRequest[] = [];

beforeAll(async () => {
  cluster = await DevCluster.start({ tls: false, onRequest: (request) => requests.push(request) });
});
afterAll(() => cluster.stop());

async function send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<number> {
  const response = await fetch(`${cluster.url}${path}`, { method, headers: { authorization: `Bearer ${cluster.adminToken}`, 'content-type': contentType }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  await response.arrayBuffer();
  return response.status;
}

describe('observing the devcluster', () => {
  it('a subscriber hears each committed change once, and nothing for a write that changes nothing', async () => {
    const events: StoreEvent[] = [];
    const unsubscribe = cluster.subscribe('/configmaps', (event) => events.push(event));
    const path = '/api/v1/namespaces/default/configmaps';
    expect(await send('POST', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'counted' }, data: { a: '1' } })).toBe(201);
    expect(await send('PATCH', `${path}/counted`, { data: { a: '2' } }, 'application/merge-patch+json')).toBe(200);
    expect(await send('PATCH', `${path}/counted`, { data: { a: '2' } }, 'application/merge-patch+json')).toBe(200);
    unsubscribe();
    expect(await send('DELETE', `${path}/counted`)).toBe(200);

    expect(events.map((event) => [event.type, event.object.name, JSON.parse(event.object.json).data.a])).toEqual([
      ['ADDED', 'counted', '1'],
      ['MODIFIED', 'counted', '2'],
    ]);
    expect(JSON.parse(events[1]?.prev?.json ?? '{}').data.a).toBe('1');
  });

  it('onRequest hears every resource request, those an injected fault fails included', async () => {
    requests.length = 0;
    cluster.faults.failNext({ verb: 'patch', resource: 'configmaps', code: 409 });
    const path = '/api/v1/namespaces/default/configmaps';
    expect(await send('POST', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'heard' } })).toBe(201);
    expect(await send('PATCH', `${path}/heard`, { data: { b: '1' } }, 'application/merge-patch+json')).toBe(409);
    expect(await send('GET', `${path}/heard`)).toBe(200);

    expect(requests.map((request) => `${request.verb} ${request.resource} ${request.name}`)).toEqual(['create configmaps ', 'patch configmaps heard', 'get configmaps heard']);
  });
});
