import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys } from '../../events/redis-keys.ts';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { operatorEnvironment } from '../../support/in-process-operator.ts';
import { probeRedis, type RedisProbe } from '../../support/redis.ts';
import { REPO_ROOT } from './sweep-operator.ts';
import { createSweep, finished, jobCheck, JobWatch, readSweep, startSweepCluster, waitForSweep } from './sweep-suite.ts';

const HMAC_KEY = 'sweep-restart-suite-77b2';

let redis: RedisProbe;
let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;
let checker: FakeChecker;

beforeAll(async () => {
  redis = await probeRedis('sweep restart');
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-restart'));
  const secret = await cluster.request('POST', `/api/v1/namespaces/${cluster.namespace}/secrets`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'checker' }, stringData: { hmac: HMAC_KEY } } });
  if (secret.status !== 201) throw new Error(`creating the Secret: ${secret.status} ${secret.text}`);
  checker = await startFakeChecker({ key: HMAC_KEY, delayMs: 150 });
});
let keyPrefix = '';

afterAll(async () => {
  await checker.close();
  await stopCluster();
  if (redis.available && keyPrefix !== '') {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  }
});

/** `blackroad-operator run` in a process of its own (idempotency keys in Redis under `keyPrefix`), once it has started. */
async function startProcess(keyPrefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'run', '--kubeconfig', cluster.kubeconfigPath], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...operatorEnvironment(cluster.namespace, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix, METRICS_BIND_ADDRESS: '0', LOG_LEVEL: 'info' }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('"operator started"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the operator process exited with ${code} before it started: ${output.slice(-2000)}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const repositories = (prefix: string) => Array.from({ length: 40 }, (_, i) => ({ name: `${prefix}-${i}`, url: `https://github.com/acme/${prefix}-${i}` }));

describe('an operator killed in the middle of a Sweep', () => {
  it('restarted, it finishes the run without a second Job or a second check for any unit', async (context) => {
    if (!redis.available) {
      context.skip(redis.reason);
      return;
    }
    keyPrefix = `blackroad-test:sweep-restart:${randomBytes(4).toString('hex')}:`;
    const watch = await JobWatch.start(cluster);
    let operator = await startProcess(keyPrefix);
    try {
      await createSweep(cluster, 'jobs', {
        repositories: repositories('job'),
        checks: [jobCheck('lint', 'succeed', 300)],
        concurrency: 5,
      });
      await createSweep(cluster, 'checks', {
        repositories: repositories('http'),
        checks: [{ name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 1 }],
        concurrency: 5,
      });
      // Half-way through both, the process dies: no shutdown, no last status write.
      await waitForSweep(cluster, 'jobs', (status) => (status?.progress?.completed ?? 0) >= 10);
      await waitForSweep(cluster, 'checks', (status) => (status?.progress?.completed ?? 0) >= 10);
      await kill(operator);
      const killedAt = { jobs: (await readSweep(cluster, 'jobs')).status?.progress?.completed ?? 0, checks: (await readSweep(cluster, 'checks')).status?.progress?.completed ?? 0 };
      expect(killedAt.jobs).toBeLessThan(40);
      expect(killedAt.checks).toBeLessThan(40);
      const callsBeforeRestart = checker.totalCalls;

      operator = await startProcess(keyPrefix);
      const jobs = await waitForSweep(cluster, 'jobs', finished, 60_000);
      const checks = await waitForSweep(cluster, 'checks', finished, 60_000);

      // Jobs: one per unit, none created twice, every unit passed.
      expect(watch.created).toHaveLength(40);
      expect(new Set(watch.created).size).toBe(40);
      expect(jobs.status?.summary).toEqual({ passed: 40, failed: 0, errored: 0, skipped: 0 });
      // A unit interrupted in the middle of an attempt counts one more; it never starts a second Job.
      expect(jobs.status?.results?.every((r) => r.attempts >= 1 && r.attempts <= 2)).toBe(true);

      // Checks: each unit asked under one key only. A request the checker had received when the process died
      // is asked once more with the same key (the window ADR 005 leaves to the checker's de-duplication).
      expect(checks.status?.summary).toEqual({ passed: 40, failed: 0, errored: 0, skipped: 0 });
      const keysOf = new Map<string, Set<string>>();
      for (const { idempotencyKey, body } of checker.keyed) keysOf.set(body.repository.name, (keysOf.get(body.repository.name) ?? new Set()).add(idempotencyKey));
      expect(keysOf.size).toBe(40);
      expect([...keysOf.values()].every((keys) => keys.size === 1)).toBe(true);
      const repeated = [...keysOf.values()].map((keys) => checker.calls([...keys][0] ?? '')).filter((calls) => calls > 1);
      expect(repeated.every((calls) => calls === 2)).toBe(true);
      expect(repeated.length).toBeLessThanOrEqual(5);
      expect(checker.totalCalls).toBe(40 + repeated.length);
      expect(checker.totalCalls - callsBeforeRestart).toBeGreaterThanOrEqual(40 - killedAt.checks - 5);
    } finally {
      await watch.stop();
      await kill(operator).catch(() => undefined);
    }
  }, 120_000);
});
