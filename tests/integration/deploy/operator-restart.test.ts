import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { deleteKeys } from '../../events/redis-keys.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/fakes/webhook-receiver.ts';
import { probeRedis, type RedisProbe } from '../../support/redis.ts';
import { deployKey, REPO_ROOT, startDeploySuite, stepOf, type DeploySuite } from './deploy-suite.ts';

const HOOK_KEY = 'restart-hook-key-5f0e9c3a';
// REDIS_KEY_PREFIX allows 64 characters: short and unique per run.
const prefix = `blackroad-test:restart:${randomBytes(6).toString('hex')}:`;

let probe: RedisProbe;
let suite: DeploySuite;
let hook: WebhookReceiver;
let redis: Redis | undefined;
const children: ChildProcess[] = [];
const outputs: (() => string)[] = [];
/** The operators' output, to explain a failure. */
const debugOutput = (): string => `; operator output:\n${outputs.map((output) => output()).join('\n---\n').slice(-4000)}`;

beforeAll(async () => {
  probe = await probeRedis('deploy operator restart');
  if (!probe.available) return;
  redis = new Redis(probe.url, { maxRetriesPerRequest: 1 });
  [suite, hook] = await Promise.all([startDeploySuite('deploy-restart'), startWebhookReceiver({ key: HOOK_KEY })]);
  await suite.createSecret('deploy-hook', { hmac: HOOK_KEY });
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await suite?.stop();
  await hook?.close();
  if (redis !== undefined) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

/** `blackroad-operator run` as its own process, against the suite's cluster and the shared Redis. */
function startOperatorProcess(): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'run', '--kubeconfig', suite.cluster.kubeconfigPath], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      REDIS_URL: probe.url,
      REDIS_KEY_PREFIX: prefix,
      WATCH_NAMESPACE: suite.namespace,
      LEADER_ELECT: 'false',
      METRICS_BIND_ADDRESS: '0',
      HEALTH_PROBE_BIND_ADDRESS: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_SECONDS: '5',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  outputs.push(() => output);
  return { child, exited, output: () => output };
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (children.some((child) => child.exitCode !== null)) throw new Error(`an operator exited while waiting for ${what}${debugOutput()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${debugOutput()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the operator killed in the middle of a Deploy', () => {
  it('is restarted and finishes the Deploy with exactly one deploy call for the key at the provider', async (context) => {
    if (!probe.available) context.skip(probe.reason);
    hook.pollsToFinish = 1_000;
    const first = startOperatorProcess();
    const created = await suite.applyDeploy('crashy', { service: 'crashy', version: '4.2.0', provider: { webhook: { url: hook.url, secretRef: { name: 'deploy-hook', key: 'hmac' } } } });
    const key = deployKey(created);

    // Killed as soon as the hook's answer is recorded in Redis. Whether the status already says Succeeded
    // depends on a few milliseconds (both happen, run after run); in either case the restarted operator must
    // not call the hook again: from a step found Running it claims the key, finds it completed and replays.
    await until('the deploy call to be recorded', async () => {
      const stored = await redis?.get(`${prefix}idempotency:${key}`);
      return stored !== null && stored !== undefined && (JSON.parse(stored) as { s: string }).s === 'completed' ? true : undefined;
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    expect(hook.deliveries(key)).toBe(1);
    const atKill = await suite.getDeploy('crashy');
    expect(stepOf(atKill as never, 'deploy')?.state).toMatch(/Running|Succeeded/);

    hook.pollsToFinish = 1;
    const second = startOperatorProcess();
    const done = await suite.waitForDeploy('crashy', (deploy) => deploy.status?.phase === 'Succeeded', 30_000);
    expect(hook.deliveries(key)).toBe(1);
    expect(hook.operations.filter((operation) => operation.payload['name'] === 'crashy')).toHaveLength(1);
    expect(stepOf(done, 'deploy')?.state).toBe('Succeeded');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('"msg":"operator stopped"');
    // The Redis Stream sink got the agents' goodbyes: the bus drained before the process exited.
    const entries = (await redis?.xrange(`${prefix}events`, '-', '+')) ?? [];
    const types = entries.map(([, fields]) => fields[fields.indexOf('type') + 1]);
    expect(types).toContain('io.blackroad.operator.agent.deregistered');
    expect(types).toContain('io.blackroad.operator.deploy.succeeded');
  }, 60_000);
});
