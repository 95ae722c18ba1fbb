import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevCluster } from '../../src/devcluster/dev-cluster.ts';
import { transcript } from './transcripts.ts';

// Anonymous requests are a devcluster setting (a real cluster's anonymous policy is its own), so this suite
// starts devclusters directly and talks to them over HTTP only.
function get(url: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    request(new URL(path, url), { headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
    })
      .on('error', reject)
      .end();
  });
}

describe('anonymous requests', () => {
  let open: DevCluster;
  let guarded: DevCluster;
  beforeAll(async () => {
    open = await DevCluster.start({ tls: false });
    guarded = await DevCluster.start({ tls: false, auth: { rbac: true } });
  });
  afterAll(async () => {
    await open.stop();
    await guarded.stop();
  });

  it('are allowed everything by default (dev mode)', async () => {
    expect((await get(open.url, '/api/v1/namespaces')).status).toBe(200);
  });

  it('are system:anonymous and forbidden with the recorded 403 body when RBAC is on', async () => {
    const res = await get(guarded.url, '/api');
    expect(res.status).toBe(403);
    expect(res.body).toEqual(transcript('90').response.body);
    expect((await get(guarded.url, '/version')).status).toBe(200);
  });
});
