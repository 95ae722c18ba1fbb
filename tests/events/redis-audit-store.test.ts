import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, isAuditAppendError, verifyAuditChain, type AuditEntry } from '../../src/events/audit-log.ts';
import { isMalformedAuditRecordError } from '../../src/events/audit-store.ts';
import { GENESIS_HASH } from '../../src/events/audit-record.ts';
import { DomainEvents } from '../../src/events/domain-events.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import { RedisAuditStore } from '../../src/events/redis-audit-store.ts';
import { RedisStreamSink } from '../../src/events/redis-stream-sink.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { SecretMask } from '../../src/observability/redact.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { probeRedis } from '../support/redis.ts';
import { CANARY, captureLogger, deployRef } from './event-fixtures.ts';
import { deleteKeys, uniquePrefix } from './redis-keys.ts';

const probe = await probeRedis('events: Redis audit store');
const prefix = uniquePrefix('events-audit');
const clients: Redis[] = [];

function client(): Redis {
  const redis = new Redis(probe.url, { maxRetriesPerRequest: 1 });
  clients.push(redis);
  return redis;
}

let admin: Redis;
beforeAll(() => {
  if (probe.available) admin = client();
});

afterAll(async () => {
  if (!probe.available) return;
  await deleteKeys(admin, prefix);
  for (const redis of clients) redis.disconnect();
});

/** One operator process: its own Redis connection, bus (with the Redis Stream sink) and audit log. */
function operatorProcess(keyPrefix: string, clock = new ManualClock()) {
  const redis = client();
  const registry = createMetricsRegistry({ processMetrics: false });
  const mask = new SecretMask();
  mask.add(CANARY);
  const logs = captureLogger(mask);
  const bus = new EventBus({ clock, registry, logger: logs.logger, secretMask: mask });
  bus.addSink(new RedisStreamSink({ redis, keyPrefix }));
  const store = new RedisAuditStore({ redis, keyPrefix });
  const audit = new AuditLog({ store, events: new DomainEvents(bus), clock, registry, logger: logs.logger, secretMask: mask });
  return { redis, bus, store, audit, clock, logs };
}

function transition(step: string, outcome: string, extra: Partial<AuditEntry> = {}): AuditEntry {
  return { resource: deployRef(), actor: 'operator/blackroad-0', action: `step.${step}`, step, outcome, generation: 1, correlationId: 'uid-prod-api/1', ...extra };
}

describe.skipIf(!probe.available)('audit chain in Redis (real Redis)', () => {
  it('continues the chain after an operator restart by reading the head back from the stream', async () => {
    const keyPrefix = `${prefix}restart:`;
    const before = operatorProcess(keyPrefix);
    await before.audit.append(transition('validate', 'Succeeded'));
    await before.audit.append(transition('deploy', 'Running'));
    const lastBefore = await before.audit.append(transition('deploy', 'Succeeded'));
    await before.bus.close(60_000);
    before.redis.disconnect();

    const after = operatorProcess(keyPrefix);
    after.clock.advance(60_000);
    const firstAfter = await after.audit.append(transition('verify', 'Running'));
    await after.audit.append(transition('verify', 'Succeeded'));
    expect(firstAfter).toMatchObject({ sequence: 4, previousHash: lastBefore.hash });
    const chain = await after.audit.read(deployRef());
    expect(chain.map((r) => `${r.sequence} ${r.action} ${r.outcome}`)).toEqual(['1 step.validate Succeeded', '2 step.deploy Running', '3 step.deploy Succeeded', '4 step.verify Running', '5 step.verify Succeeded']);
    expect(verifyAuditChain(chain)).toMatchObject({ valid: true, length: 5 });
    expect(await admin.exists(`${keyPrefix}audit:/apis/operator.blackroad.io/v1alpha1/namespaces/prod/deploys/api`)).toBe(1);
  });

  it('lets two replicas append to one chain at once without forking it', async () => {
    const keyPrefix = `${prefix}replicas:`;
    const one = operatorProcess(keyPrefix);
    const two = operatorProcess(keyPrefix);
    const appends = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).audit.append(transition('verify', 'Waiting', { message: `probe ${i}` })));
    const records = await Promise.all(appends);
    expect(new Set(records.map((r) => r.sequence)).size).toBe(20);
    const chain = await one.audit.read(deployRef());
    expect(chain).toHaveLength(20);
    expect(verifyAuditChain(chain)).toMatchObject({ valid: true, length: 20 });
  });

  it('relinks an append that read a head another replica has since moved', async () => {
    const keyPrefix = `${prefix}relink:`;
    const one = operatorProcess(keyPrefix);
    const two = operatorProcess(keyPrefix);
    // Replica two reads the head, then stalls until replica one has appended: its first write is stale.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const realHead = two.store.head.bind(two.store);
    let reads = 0;
    let headRead: () => void = () => undefined;
    const twoHasReadTheHead = new Promise<void>((resolve) => (headRead = resolve));
    two.store.head = async (chain: string) => {
      const head = await realHead(chain);
      reads += 1;
      if (reads === 1) {
        headRead();
        await gate;
      }
      return head;
    };
    const stale = two.audit.append(transition('verify', 'Waiting', { message: 'from two' }));
    await twoHasReadTheHead;
    const first = await one.audit.append(transition('verify', 'Running', { message: 'from one' }));
    openGate();
    const second = await stale;
    expect(first.sequence).toBe(1);
    expect(second).toMatchObject({ sequence: 2, previousHash: first.hash });
    expect(two.logs.records().filter((r) => r['msg'] === 'audit chain head moved, retrying append')).toHaveLength(1);
    expect(verifyAuditChain(await one.audit.read(deployRef()))).toMatchObject({ valid: true, length: 2 });
  });

  it('finds a record deleted from the stream with XDEL', async () => {
    const keyPrefix = `${prefix}xdel:`;
    const { audit, store } = operatorProcess(keyPrefix);
    for (const step of ['validate', 'deploy', 'verify', 'finalize']) await audit.append(transition(step, 'Succeeded'));
    const key = store.key(audit.chainOf(deployRef()));
    const entries = await admin.xrange(key, '-', '+');
    await admin.xdel(key, entries[1]?.[0] ?? '');
    expect(await audit.verify(deployRef())).toMatchObject({ valid: false, index: 1, problem: 'broken-link' });
  });

  it('reports an entry that is not an audit record as malformed, and refuses to append after it', async () => {
    const keyPrefix = `${prefix}malformed:`;
    const { audit, store } = operatorProcess(keyPrefix);
    await audit.append(transition('validate', 'Succeeded'));
    await admin.xadd(store.key(audit.chainOf(deployRef())), '*', 'record', '{"not":"a record"}');
    expect(await audit.verify(deployRef())).toMatchObject({ valid: false, index: -1, problem: 'malformed' });
    const refused = await audit.append(transition('deploy', 'Running')).catch((error: unknown) => error);
    expect(isAuditAppendError(refused)).toBe(true);
    expect(isMalformedAuditRecordError((refused as Error).cause)).toBe(true);
  });

  it('starts a new chain from the genesis hash', async () => {
    const keyPrefix = `${prefix}genesis:`;
    const { audit, store } = operatorProcess(keyPrefix);
    expect(await store.head(audit.chainOf(deployRef()))).toEqual({ sequence: 0, hash: GENESIS_HASH });
    expect(await audit.append(transition('validate', 'Running'))).toMatchObject({ sequence: 1, previousHash: GENESIS_HASH });
  });

  it('never stores the canary secret in the audit stream or the event stream', async () => {
    const keyPrefix = `${prefix}canary:`;
    const { audit, bus, store } = operatorProcess(keyPrefix);
    await audit.append(transition('deploy', 'Failed', { message: `webhook rejected signature made with ${CANARY}`, details: { hmacKey: CANARY, url: `https://hook:${CANARY}@deploy.example/run` } }));
    await bus.close(60_000);
    const auditEntries = await admin.xrange(store.key(audit.chainOf(deployRef())), '-', '+');
    const eventEntries = await admin.xrange(`${keyPrefix}events`, '-', '+');
    expect(auditEntries).toHaveLength(1);
    expect(eventEntries.map(([, fields]) => fields[3])).toEqual(['io.blackroad.operator.audit.recorded']);
    expect(JSON.stringify([auditEntries, eventEntries])).not.toContain(CANARY);
  });
});
