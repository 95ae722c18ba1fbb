import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS_AVAILABLE, skipReason, startCluster, type ClusterHarness } from '../support/cluster.ts';
import { masked, replayer, transcript } from './transcripts.ts';

const crd = transcript('07').request.body as Record<string, unknown>;
const GIZMOS = '/apis/demo.transcripts.dev/v1';

let cluster: ClusterHarness;
let gizmos: string;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'conformance-cr', crds: [crd] });
  gizmos = `${GIZMOS}/namespaces/${cluster.namespace}/gizmos`;
});
afterAll(() => cluster.stop());

const { replay, expectLike } = replayer(() => cluster);

describe('custom resources served from a CRD', () => {
  it('serves a created CRD Established with its accepted names', async () => {
    const res = await cluster.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.demo.transcripts.dev');
    expect(res.status).toBe(200);
    const body = res.json<{ status: { conditions: { type: string; status: string; reason: string; message: string }[]; acceptedNames: unknown } }>();
    expect(body.status.conditions.map((c) => [c.type, c.status, c.reason, c.message])).toEqual(
      expect.arrayContaining([
        ['NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'],
        ['Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted'],
      ]),
    );
    expect(body.status.acceptedNames).toEqual(masked(transcript('09').response.body as object) && (transcript('09').response.body as { status: { acceptedNames: unknown } }).status.acceptedNames);
  });

  it('creates an object with schema defaults, generation 1 and no status (201)', async () => {
    const res = await replay('16');
    expect(res.status).toBe(201);
    expectLike(res.json(), '16');
    const got = await replay('17');
    expect(got.status).toBe(200);
    expectLike(got.json(), '17');
  });

  it('generates a name from generateName: the prefix and 5 characters', async () => {
    const res = await replay('18');
    expect(res.status).toBe(201);
    await cluster.request('POST', gizmos, { body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'gizmo-b', labels: { tier: 'backend' } }, spec: { size: 5, color: 'blue' } } });
    const created = res.json<{ metadata: { name: string } }>();
    expect(created.metadata.name).toMatch(/^gizmo-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const recorded = transcript('18').response.body as { metadata: { name: string } };
    expect(masked({ ...created, metadata: { ...created.metadata, name: 'generated' } }, cluster.namespace)).toEqual(masked({ ...recorded, metadata: { ...recorded.metadata, name: 'generated' } }));
  });

  it('lists items sorted by name with the list resourceVersion and an empty continue', async () => {
    const res = await replay('19');
    const list = res.json<{ kind: string; items: { metadata: { name: string } }[]; metadata: { continue: string; resourceVersion: string } }>();
    expect(list.kind).toBe('GizmoList');
    const names = list.items.map((item) => item.metadata.name);
    expect(names).toHaveLength(3);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['gizmo-a', 'gizmo-b']));
    expect(list.metadata.continue).toBe('');
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('pages with limit and continue at the first page resourceVersion, counting the remaining items', async () => {
    type Page = { items: { metadata: { name: string } }[]; metadata: { continue: string; remainingItemCount?: number; resourceVersion: string } };
    const all = (await cluster.request('GET', gizmos)).json<Page>().items.map((item) => item.metadata.name);
    const first = (await replay('20')).json<Page>();
    expect(first.items).toHaveLength(1);
    expect(first.metadata.remainingItemCount).toBe(all.length - 1);
    const token = JSON.parse(Buffer.from(first.metadata.continue, 'base64url').toString('utf8')) as { v: string; rv: number; start: string };
    expect(token).toEqual({ v: 'meta.k8s.io/v1', rv: Number(first.metadata.resourceVersion), start: `${first.items[0]?.metadata.name}\u0000` });
    // A change after the first page must not show up in later pages (snapshot read).
    await cluster.request('POST', gizmos, { body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'gizmo-zz' }, spec: { size: 1 } } });
    const seen = first.items.map((item) => item.metadata.name);
    let next = first.metadata.continue;
    while (next !== '') {
      const page = (await cluster.request('GET', `${gizmos}?limit=1&continue=${next}`)).json<Page>();
      expect(page.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
      seen.push(...page.items.map((item) => item.metadata.name));
      next = page.metadata.continue;
    }
    expect(seen).toEqual(all);
    await cluster.request('DELETE', `${gizmos}/gizmo-zz`);
  });

  it('lists as of an exact resourceVersion, and refuses one from the future with 504', async () => {
    type List = { items: { metadata: { name: string } }[]; metadata: { resourceVersion: string } };
    const before = (await cluster.request('GET', gizmos)).json<List>();
    await cluster.request('POST', gizmos, { body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'gizmo-later' }, spec: { size: 1 } } });
    const exact = (await cluster.request('GET', `${gizmos}?resourceVersion=${before.metadata.resourceVersion}&resourceVersionMatch=Exact`)).json<List>();
    expect(exact.items.map((item) => item.metadata.name)).toEqual(before.items.map((item) => item.metadata.name));
    expect(exact.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const now = (await cluster.request('GET', gizmos)).json<List>();
    expect(now.items.map((item) => item.metadata.name)).toContain('gizmo-later');
    const future = await cluster.request('GET', `${gizmos}?resourceVersion=${Number(now.metadata.resourceVersion) + 1000000}`);
    expect(future.status).toBe(504);
    expect(future.json()).toMatchObject({ kind: 'Status', reason: 'Timeout', code: 504, details: { causes: [{ reason: 'ResourceVersionTooLarge' }] } });
    await cluster.request('DELETE', `${gizmos}/gizmo-later`);
  });

  it.skipIf(!FAULTS_AVAILABLE)('answers 410 Expired to a continue token older than the history', async () => {
    skipReason('expired continue token');
    const first = (await cluster.request('GET', `${gizmos}?limit=1`)).json<{ metadata: { continue: string } }>();
    await cluster.request('POST', gizmos, { body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'gizmo-compacted' }, spec: { size: 1 } } });
    cluster.faults?.compactHistory();
    const expired = await cluster.request('GET', `${gizmos}?limit=1&continue=${first.metadata.continue}`);
    expect(expired.status).toBe(410);
    expect(expired.json()).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
    expect(expired.json<{ message: string }>().message).toMatch(/^The provided continue parameter is too old to display a consistent list result/);
    await cluster.request('DELETE', `${gizmos}/gizmo-compacted`);
  });

  it('filters by equality and set-based label selectors', async () => {
    const names = async (query: string) => (await cluster.request('GET', `${gizmos}?${query}`)).json<{ items: { metadata: { name: string } }[] }>().items.map((i) => i.metadata.name.replace(/^gizmo-[a-z0-9]{5}$/, 'gizmo-<generated>'));
    expect(await names('labelSelector=tier%3Dfrontend')).toEqual(['gizmo-a']);
    expect((await names('labelSelector=tier%20in%20%28backend%29%2C%21missing')).sort()).toEqual(['gizmo-<generated>', 'gizmo-b']);
    expect(await names('labelSelector=tier%21%3Dbackend')).toEqual(['gizmo-a']);
    expect(await names('labelSelector=tier%20notin%20%28backend%29')).toEqual(['gizmo-a']);
    expect(await names('labelSelector=tier')).toHaveLength(3);
    expect(await names('labelSelector=%21tier')).toHaveLength(0);
  });

  it('filters by metadata.name and by a CRD selectable field, and rejects other field labels (400)', async () => {
    expectLike((await replay('24')).json(), '24');
    expectLike((await replay('25')).json(), '25');
    const res = await replay('26');
    expect(res.status).toBe(400);
    expect(res.json()).toEqual(transcript('26').response.body);
  });

  it('answers a Table with the printer columns when kubectl asks for one', async () => {
    const res = await replay('27');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const table = res.json<{ kind: string; columnDefinitions: unknown[]; rows: { cells: unknown[]; object: { kind: string } }[] }>();
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions).toEqual((transcript('27').response.body as { columnDefinitions: unknown[] }).columnDefinitions);
    const gizmoA = table.rows.find((row) => row.cells[0] === 'gizmo-a');
    expect(gizmoA?.cells.slice(0, 5)).toEqual(['gizmo-a', 3, 'red', null, 'nginx:1.27']);
    expect(gizmoA?.cells[5]).toMatch(/^\d+s$/);
    expect(gizmoA?.object.kind).toBe('PartialObjectMetadata');
  });

  it('answers 409 AlreadyExists, 404 NotFound and 404 for a missing namespace with kube Status bodies', async () => {
    for (const number of ['28', '29']) {
      const res = await replay(number);
      expect(res.status).toBe(transcript(number).response.status);
      expect(res.json()).toEqual(transcript(number).response.body);
    }
    const res = await replay('30');
    expect(res.status).toBe(404);
    expect(res.json()).toEqual(transcript('30').response.body);
  });

  it('bumps generation on a spec change and refuses a stale resourceVersion with 409 Conflict', async () => {
    const current = (await cluster.request('GET', `${gizmos}/gizmo-b`)).json<{ metadata: Record<string, unknown>; spec: Record<string, unknown> }>();
    const put = await cluster.request('PUT', `${gizmos}/gizmo-b`, { body: { ...current, spec: { ...current.spec, size: 6 } } });
    expect(put.status).toBe(200);
    expect(put.json<{ metadata: { generation: number } }>().metadata.generation).toBe(2);
    const stale = await cluster.request('PUT', `${gizmos}/gizmo-b`, { body: { ...current, spec: { ...current.spec, size: 7 } } });
    expect(stale.status).toBe(409);
    expect(stale.json()).toEqual(transcript('32').response.body);
  });

  it('reports schema violations as 422 with one cause per field, skipping CEL when one blocks', async () => {
    const res = await replay('33');
    expect(res.status).toBe(422);
    const body = res.json<{ details: { causes: unknown[] } }>();
    const recorded = transcript('33').response.body as { details: { causes: unknown[] } };
    expect(body.details.causes).toHaveLength(recorded.details.causes.length);
    expect(body.details.causes).toEqual(expect.arrayContaining(recorded.details.causes));
    expect({ ...body, message: undefined, details: { ...body.details, causes: undefined } }).toEqual({ ...recorded, message: undefined, details: { ...recorded.details, causes: undefined } });
  });

  it('evaluates CEL rules (message, messageExpression, fieldPath) when no error blocks', async () => {
    const res = await replay('34');
    expect(res.status).toBe(422);
    expect(res.json()).toEqual(transcript('34').response.body);
  });

  it('evaluates transition rules against the old object on update', async () => {
    const res = await replay('35');
    expect(res.status).toBe(422);
    expect(res.json()).toEqual(transcript('35').response.body);
  });

  it('treats null like an absent field: defaulted when the schema has a default, dropped when not, Required when required', async () => {
    const created = await cluster.request('POST', gizmos, { body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'gizmo-nulls' }, spec: { size: 2, color: null, image: null } } });
    expect(created.status).toBe(201);
    expect(created.json<{ spec: unknown }>().spec).toEqual({ size: 2, color: 'green', minReplicas: 1, maxReplicas: 3 });
    const required = await cluster.request('POST', gizmos, { body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'gizmo-null-size' }, spec: { size: null } } });
    expect(required.status).toBe(422);
    expect(required.json<{ details: { causes: { reason: string; field: string }[] } }>().details.causes).toContainEqual(expect.objectContaining({ reason: 'FieldValueRequired', field: 'spec.size' }));
  });

  it('prunes unknown fields with one Warning header each, or refuses them with fieldValidation=Strict', async () => {
    const res = await replay('36');
    expect(res.status).toBe(201);
    // Node joins repeated headers with ', '; kube sends one Warning header per unknown field.
    expect(res.headers['warning']).toBe((transcript('36').response.headers['Warning'] as string[]).join(', '));
    expectLike(res.json(), '36');
    expectLike((await replay('37')).json(), '37');
    const strict = await replay('38');
    expect(strict.status).toBe(400);
    expect(strict.json()).toEqual(transcript('38').response.body);
  });

  it('answers a dry-run create without storing it', async () => {
    const res = await replay('39');
    expect(res.status).toBe(201);
    expectLike(res.json(), '39');
    expect((res.json<{ metadata: Record<string, unknown> }>().metadata)['resourceVersion']).toBeUndefined();
    expect((await cluster.request('GET', `${gizmos}/gizmo-dry`)).status).toBe(404);
  });

  it('writes status only through /status and ignores status on the main endpoint', async () => {
    const before = (await cluster.request('GET', `${gizmos}/gizmo-a`)).json<{ metadata: { generation: number; resourceVersion: string } }>();
    const patched = await replay('40');
    expect(patched.status).toBe(200);
    expectLike(patched.json(), '40');
    const withSpec = await replay('41');
    expectLike(withSpec.json(), '41');
    const ignored = await replay('42');
    expectLike(ignored.json(), '42');
    const after = ignored.json<{ metadata: { generation: number; resourceVersion: string } }>();
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.metadata.resourceVersion).toBe(withSpec.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion);
  });

  it('applies merge patches and JSON patches, answering 422 when a test op fails', async () => {
    expectLike((await replay('43')).json(), '43');
    const failed = await replay('44');
    expect(failed.status).toBe(422);
    expect(failed.json()).toEqual(transcript('44').response.body);
    const ok = await replay('45');
    expect(ok.status).toBe(200);
    expectLike(ok.json(), '45');
  });

  it('refuses strategic merge patch on a custom resource with 415', async () => {
    const res = await replay('46');
    expect(res.status).toBe(415);
    expect(res.json()).toEqual(transcript('46').response.body);
  });

  it('answers 400 to a malformed JSON body and to a malformed patch', async () => {
    const post = await replay('52');
    expect(post.status).toBe(400);
    expect(post.json()).toEqual(transcript('52').response.body);
    const patch = await replay('53');
    expect(patch.status).toBe(400);
    expect(patch.json()).toEqual(transcript('53').response.body);
  });

  it('keeps an object with a finalizer until the finalizer is removed, then deletes it', async () => {
    await cluster.request('POST', gizmos, { body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'gizmo-fin', finalizers: ['demo.transcripts.dev/cleanup'] }, spec: { size: 1 } } });
    const deleted = await replay('54');
    expect(deleted.status).toBe(200);
    expectLike(deleted.json(), '54');
    expectLike((await replay('55')).json(), '55');
    const adding = await replay('56');
    expect(adding.status).toBe(422);
    expect(adding.json()).toEqual(transcript('56').response.body);
    const removed = await replay('57');
    expect(removed.status).toBe(200);
    expectLike(removed.json(), '57');
    const gone = await replay('58');
    expect(gone.status).toBe(404);
    expect(gone.json()).toEqual(transcript('58').response.body);
  });

  it('answers a plain delete with a Success Status and a foreground delete with the object', async () => {
    const plain = await replay('59');
    expect(plain.status).toBe(200);
    expect(masked(plain.json())).toEqual(masked(transcript('59').response.body));
    const foreground = await replay('60');
    expect(foreground.status).toBe(200);
    expect(foreground.json<{ metadata: { finalizers: string[]; deletionTimestamp: string } }>().metadata.finalizers).toEqual(['foregroundDeletion']);
    // Without dependents the garbage collector removes the object (a real cluster may take up to a minute).
    const deadline = Date.now() + 60_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      status = (await cluster.request('GET', `${gizmos}/gizmo-c`)).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(404);
    const missing = await replay('62');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual(transcript('62').response.body);
  });
});
