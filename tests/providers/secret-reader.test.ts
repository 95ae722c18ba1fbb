import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { builtinResources, KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { isForbidden } from '../../src/kube/errors.ts';
import { REDACTED, redactString, SecretMask } from '../../src/observability/redact.ts';
import { isInvalidSpec, isSecretKeyNotFound, isSecretNotFound, type ProviderError } from '../../src/providers/provider-error.ts';
import { SecretReader, SecretReads } from '../../src/providers/secret-reader.ts';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';
import { rejectionOf, startSecretsApi, type SecretsApi } from './provider-fixtures.ts';

const CANARY = 'canary-secret-4b1f9e2a7c';

describe('SecretReads (the Secrets of one reconcile)', () => {
  let api: SecretsApi;
  beforeEach(async () => {
    api = await startSecretsApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('asks the API server once per Secret key, even for callers at the same time; a new one reads afresh', async () => {
    api.put('prod', 'hook', { hmac: 'first-key-value' });
    const reads = new SecretReads(api.secrets);
    const values = await Promise.all([1, 2, 3].map(() => reads.read('prod', { name: 'hook', key: 'hmac' })));
    expect(values).toEqual(['first-key-value', 'first-key-value', 'first-key-value']);
    expect(api.reads).toBe(1);
    api.put('prod', 'hook', { hmac: 'rotated-key-value' });
    await expect(new SecretReads(api.secrets).read('prod', { name: 'hook', key: 'hmac' })).resolves.toBe('rotated-key-value');
    expect(api.reads).toBe(2);
  });

  it('does not keep a failed read: the next caller asks again', async () => {
    const reads = new SecretReads(api.secrets);
    expect(isSecretNotFound(await rejectionOf(reads.read('prod', { name: 'hook', key: 'hmac' })))).toBe(true);
    api.put('prod', 'hook', { hmac: 'created-since' });
    await expect(reads.read('prod', { name: 'hook', key: 'hmac' })).resolves.toBe('created-since');
    expect(api.reads).toBe(2);
  });

  it('reads under the reconcile’s signal, so one caller’s attempt ending does not fail the others sharing the read', async () => {
    api.put('prod', 'hook', { hmac: 'shared-key-value' });
    const reconcile = new AbortController();
    const first = new AbortController();
    first.abort(new Error('attempt 1 of unit a ended'));
    const reads = new SecretReads(api.secrets, reconcile.signal);
    // The first caller's signal is already aborted: with it the shared read would fail for every caller.
    const values = await Promise.all([reads.read('prod', { name: 'hook', key: 'hmac' }, first.signal), reads.read('prod', { name: 'hook', key: 'hmac' })]);
    expect(values).toEqual(['shared-key-value', 'shared-key-value']);
    expect(api.reads).toBe(1);
  });
});

describe('SecretReader', () => {
  let api: SecretsApi;
  beforeEach(async () => {
    api = await startSecretsApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('returns the base64-decoded value of the key, in the namespace given', async () => {
    api.put('prod', 'railway', { token: CANARY, other: 'unrelated' });
    api.put('staging', 'railway', { token: 'staging-token' });

    await expect(api.secrets.read('prod', { name: 'railway', key: 'token' })).resolves.toBe(CANARY);
    await expect(api.secrets.read('staging', { name: 'railway', key: 'token' })).resolves.toBe('staging-token');
  });

  it('registers every value it reads in the SecretMask before returning it', async () => {
    api.put('prod', 'hook', { hmac: `${CANARY}\n` });
    expect(redactString(`sent ${CANARY}`, api.mask)).toBe(`sent ${CANARY}`);

    await api.secrets.read('prod', { name: 'hook', key: 'hmac' });

    expect(redactString(`sent ${CANARY} and ${CANARY}\n`, api.mask)).toBe(`sent ${REDACTED} and ${REDACTED}`);
  });

  it('learns a value for the mask once per process, and tries again after a read that failed', async () => {
    api.put('prod', 'hook', { hmac: `${CANARY}-learnt` });
    api.failWith(500);
    await api.secrets.learn('prod', { name: 'hook', key: 'hmac' });
    expect(redactString(`sent ${CANARY}-learnt`, api.mask)).toBe(`sent ${CANARY}-learnt`);
    api.failWith(undefined);
    await api.secrets.learn('prod', { name: 'hook', key: 'hmac' });
    await api.secrets.learn('prod', { name: 'hook', key: 'hmac' });
    expect(redactString(`sent ${CANARY}-learnt`, api.mask)).toBe(`sent ${REDACTED}`);
    expect(api.reads).toBe(2);
    // A missing Secret is no error here: the step that needs it says so.
    await expect(api.secrets.learn('prod', { name: 'absent', key: 'hmac' })).resolves.toBeUndefined();
  });

  it('reads the Secret again on every call, so a rotated value is used at once', async () => {
    api.put('prod', 'hook', { hmac: 'first-key-value' });
    await api.secrets.read('prod', { name: 'hook', key: 'hmac' });
    api.put('prod', 'hook', { hmac: 'second-key-value' });

    await expect(api.secrets.read('prod', { name: 'hook', key: 'hmac' })).resolves.toBe('second-key-value');
    expect(api.reads).toBe(2);
  });

  it('names the missing Secret in a terminal InvalidSpec error', async () => {
    const error = (await rejectionOf(api.secrets.read('prod', { name: 'railway', key: 'token' }))) as ProviderError;

    expect(isSecretNotFound(error)).toBe(true);
    expect(isInvalidSpec(error)).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.code).toBe('InvalidSpec');
    expect(error.message).toBe('Secret prod/railway not found');
  });

  it('lists the keys that exist, never their values, when the key is missing', async () => {
    api.put('prod', 'railway', { apiToken: CANARY, note: 'hello' });

    const error = (await rejectionOf(api.secrets.read('prod', { name: 'railway', key: 'token' }))) as ProviderError;

    expect(isSecretKeyNotFound(error)).toBe(true);
    expect(isInvalidSpec(error)).toBe(true);
    expect(error.message).toBe('Secret prod/railway has no key "token" (its keys are "apiToken", "note")');
    expect(error.message).not.toContain(CANARY);
  });

  it('treats an empty value as a missing key', async () => {
    api.put('prod', 'railway', { token: '' });

    const error = (await rejectionOf(api.secrets.read('prod', { name: 'railway', key: 'token' }))) as ProviderError;

    expect(isSecretKeyNotFound(error)).toBe(true);
    expect(error.message).toContain('has an empty value under "token"');
  });

  it('lets other API errors through with their own class', async () => {
    api.failWith(403);

    const error = await rejectionOf(api.secrets.read('prod', { name: 'railway', key: 'token' }));

    expect(isForbidden(error)).toBe(true);
    expect(isInvalidSpec(error)).toBe(false);
  });
});

describe('SecretReader against a real API server', () => {
  let cluster: ClusterHarness;
  let kube: KubeClient;
  beforeAll(async () => {
    cluster = await startCluster({ suite: 'secret-reader' });
    kube = KubeClient.fromKubeConfig(cluster.kubeConfig);
  });
  afterAll(async () => {
    kube.close();
    await cluster.stop();
  });

  it('reads a Secret written with stringData, and stalls on one that does not exist', async () => {
    const mask = new SecretMask();
    const reader = new SecretReader({ kube, mask });
    await kube.create(builtinResources.secrets, { metadata: { name: 'railway', namespace: cluster.namespace }, stringData: { token: CANARY } } as KubeObject);

    await expect(reader.read(cluster.namespace, { name: 'railway', key: 'token' })).resolves.toBe(CANARY);
    expect(redactString(CANARY, mask)).toBe(REDACTED);
    expect(isSecretNotFound(await rejectionOf(reader.read(cluster.namespace, { name: 'absent', key: 'token' })))).toBe(true);
  });
});
