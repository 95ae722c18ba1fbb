// The fakes refuse what the real services refuse; otherwise a provider test passing against them would prove little.
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeChecker } from './fake-checker.ts';
import { startFakeRailway, type FakeRailway } from './fake-railway.ts';
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
