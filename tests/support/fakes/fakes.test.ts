// The fakes refuse what the real services refuse; otherwise a provider test passing against them would prove little.
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeChecker } from './fake-checker.ts';
import { startFakeRailway, type FakeRailway } from './fake-railway.ts';
import { startHealthEndpoint } from './health-endpoint.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';

const IDS = { projectId: 'p', environmentId: 'e', serviceId: 's' };

async function graphql(railway: FakeRailway, query: string, variables: Record<string, unknown>, token = 'token-1'): Promise<{ data?: unknown; errors?: { message: string }[] }> {
  const response = await fetch(railway.url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: unknown; errors?: { message: string }[] };
}

describe('fake Railway', () => {
  let railway: FakeRailway;
  afterEach(async () => {
    await railway.close();
  });

  it.each([
    ['an unknown operation', 'mutation deploy($id: String!) { serviceDeploy(id: $id) }', { id: 'x' }, 'Cannot query field "serviceDeploy" on type "Mutation".'],
    ['a query sent as a mutation', 'mutation deployment($id: String!) { deployment(id: $id) { id } }', { id: 'x' }, 'Cannot query field "deployment" on type "Mutation".'],
    ['a missing required variable', 'mutation serviceInstanceDeployV2($serviceId: String!, $environmentId: String!) { serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId) }', { serviceId: 's' }, 'Variable "$environmentId" of required type "String!" was not provided.'],
    ['an unknown argument', 'mutation deploymentRollback($id: String!) { deploymentRollback(deploymentId: $id) }', { id: 'x' }, 'Unknown argument "deploymentId" on field "Mutation.deploymentRollback".'],
    ['a selection on a Boolean mutation', 'mutation deploymentRollback($id: String!) { deploymentRollback(id: $id) { id status } }', { id: 'x' }, 'Field "deploymentRollback" must not have a selection since type "Boolean!" has no subfields.'],
    ['an object field without a selection', 'query deployment($id: String!) { deployment(id: $id) }', { id: 'x' }, 'Field "deployment" of type "Deployment!" must have a selection of subfields.'],
  ])('refuses %s, as Railway does, without executing it', async (_case, query, variables, message) => {
    railway = await startFakeRailway({ token: 'token-1' });
    railway.addService(IDS);

    const answer = await graphql(railway, query, variables);

    expect(answer.errors?.[0]?.message).toBe(message);
    expect(railway.calls()).toBe(0);
    expect(railway.rejections).toEqual([message]);
  });

  it('refuses a request without the right bearer token', async () => {
    railway = await startFakeRailway({ token: 'token-1' });

    const answer = await graphql(railway, 'query deployment($id: String!) { deployment(id: $id) { id } }', { id: 'x' }, 'token-2');

    expect(answer.errors?.[0]?.message).toBe('Not Authorized');
    expect(railway.calls()).toBe(0);
  });
});

describe('webhook receiver and fake checker', () => {
  it('refuse a body whose signature does not match, and count only signed deliveries', async () => {
    const hook = await startWebhookReceiver({ key: 'hook-key' });
    const checker = await startFakeChecker({ key: 'checker-key' });
    try {
      const body = JSON.stringify({ action: 'deploy', idempotencyKey: 'k' });
      const headers = { 'content-type': 'application/json', 'idempotency-key': 'k', 'x-signature': 'sha256=00' };
      const hookAnswer = await fetch(hook.url, { method: 'POST', headers, body });
      const checkerAnswer = await fetch(checker.url, { method: 'POST', headers, body });

      expect(hookAnswer.status).toBe(401);
      expect(checkerAnswer.status).toBe(401);
      expect(hook.rejectedSignatures).toBe(1);
      expect(checker.rejectedSignatures).toBe(1);
      expect(hook.deliveries('k')).toBe(0);
      expect(checker.calls('k')).toBe(0);
    } finally {
      await hook.close();
      await checker.close();
    }
  });
});

/** A delivery signed as the operator signs it. */
function signedDelivery(key: string, payload: Record<string, unknown>): RequestInit {
  const body = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
  return { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': String(payload['idempotencyKey']), 'x-signature': signature }, body };
}

describe('scripting the fakes per request', () => {
  it('an interceptor answers instead of the fake, which then records nothing', async () => {
    let outage = true;
    const hook = await startWebhookReceiver({ key: 'k', intercept: () => (outage ? { status: 503, body: 'down for maintenance' } : undefined) });
    try {
      const refused = await fetch(hook.url, signedDelivery('k', { action: 'deploy', idempotencyKey: 'key-1' }));
      expect([refused.status, await refused.text()]).toEqual([503, 'down for maintenance']);
      expect(hook.deliveries('key-1')).toBe(0);
      expect(hook.operations).toHaveLength(0);

      outage = false;
      const accepted = await fetch(hook.url, signedDelivery('k', { action: 'deploy', idempotencyKey: 'key-1' }));
      expect(accepted.status).toBe(202);
      expect(hook.deliveries('key-1')).toBe(1);
    } finally {
      await hook.close();
    }
  });

  it('the hook, Railway and the health endpoint decide each outcome from the request when told how', async () => {
    const hook = await startWebhookReceiver({ key: 'k', outcomeOf: (payload) => (payload['name'] === 'bad' ? 'fail' : undefined) });
    const railway = await startFakeRailway({ token: 'token-1', outcomeOf: (deployment) => (deployment.image === 'img:bad' ? 'crash' : undefined) });
    const health = await startHealthEndpoint({ healthOf: (request) => (request.query.get('deploy') === 'sick' ? false : undefined) });
    try {
      hook.pollsToFinish = 1;
      hook.scriptOutcomes('fail');
      const states: string[] = [];
      for (const name of ['bad', 'good']) {
        const answer = (await (await fetch(hook.url, signedDelivery('k', { action: 'deploy', name, idempotencyKey: name }))).json()) as { statusUrl: string };
        states.push(((await (await fetch(answer.statusUrl)).json()) as { state: string }).state);
      }
      // The scripted queue still serves operations the function leaves undecided.
      expect(states).toEqual(['failed', 'failed']);

      railway.pollsToFinish = 1;
      railway.addService(IDS, { image: 'img:bad' });
      await graphql(railway, 'mutation serviceInstanceDeployV2($serviceId: String!, $environmentId: String!) { serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId) }', { serviceId: 's', environmentId: 'e' });
      const id = railway.deployments()[0]?.id ?? '';
      const polled = await graphql(railway, 'query deployment($id: String!) { deployment(id: $id) { id status } }', { id });
      expect(polled.data).toEqual({ deployment: { id, status: 'CRASHED' } });

      expect([(await fetch(`${health.url}?deploy=sick`)).status, (await fetch(`${health.url}?deploy=fine`)).status]).toEqual([503, 200]);
    } finally {
      await Promise.all([hook.close(), railway.close(), health.close()]);
    }
  });
});
