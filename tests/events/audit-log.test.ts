import { describe, expect, it } from 'vitest';
import { AuditLog, isAuditAppendError, isInvalidAuditEntryError, verifyAuditChain, type AuditEntry } from '../../src/events/audit-log.ts';
import { auditRecordHash, GENESIS_HASH, type AuditRecord } from '../../src/events/audit-record.ts';
import { MemoryAuditStore, type AuditStore } from '../../src/events/audit-store.ts';
import { DomainEvents } from '../../src/events/domain-events.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { REDACTED, SecretMask } from '../../src/observability/redact.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { CANARY, captureLogger, deployRef, metricValue } from './event-fixtures.ts';

const STEPS = ['validate', 'approve', 'deploy', 'verify', 'finalize'];

function setup(store: AuditStore = new MemoryAuditStore()) {
  const clock = new ManualClock();
  const registry = createMetricsRegistry({ processMetrics: false });
  const mask = new SecretMask();
  mask.add(CANARY);
  const logs = captureLogger(mask);
  const bus = new EventBus({ clock, registry, logger: logs.logger, secretMask: mask });
  const audit = new AuditLog({ store, events: new DomainEvents(bus), clock, registry, logger: logs.logger, secretMask: mask });
  return { clock, registry, bus, audit, store, logs };
}

function transition(step: string, outcome = 'Succeeded', extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    resource: deployRef(),
    actor: 'system:serviceaccount:blackroad-system:blackroad-operator',
    action: `step.${step}`,
    step,
    outcome,
    generation: 3,
    correlationId: 'uid-prod-api/3',
    details: { version: '1.42.0', provider: 'kubernetes' },
    ...extra,
  };
}

async function writeChain(audit: AuditLog, clock: ManualClock): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for (const step of STEPS) {
    clock.advance(1_000);
    records.push(await audit.append(transition(step)));
  }
  return records;
}

/** A copy of `record` with `changes`, as someone with write access to the storage would leave it. */
function edited(record: AuditRecord | undefined, changes: Partial<AuditRecord>): AuditRecord {
  if (record === undefined) throw new Error('no such record');
  return { ...record, ...changes };
}

describe('audit log: the chain', () => {
  it('links each record to the hash of the previous record of the same Deploy, starting from the genesis hash', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    expect(records.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]?.previousHash).toBe(GENESIS_HASH);
    for (let i = 1; i < records.length; i += 1) expect(records[i]?.previousHash).toBe(records[i - 1]?.hash);
    for (const record of records) expect(record.hash).toBe(auditRecordHash(record));
    expect(records[2]).toMatchObject({
      chain: '/apis/operator.blackroad.io/v1alpha1/namespaces/prod/deploys/api',
      time: new Date(clock.now() - 2_000).toISOString(),
      actor: 'system:serviceaccount:blackroad-system:blackroad-operator',
      action: 'step.deploy',
      outcome: 'Succeeded',
      resource: { kind: 'Deploy', namespace: 'prod', name: 'api', uid: 'uid-prod-api' },
      generation: 3,
    });
    expect(await audit.read(deployRef())).toEqual(records);
    expect(verifyAuditChain(records)).toEqual({ valid: true, length: 5, head: { sequence: 5, hash: records[4]?.hash } });
  });

  it('keeps one chain per Deploy', async () => {
    const { audit } = setup();
    await audit.append(transition('validate'));
    const other = await audit.append({ ...transition('validate'), resource: deployRef('web') });
    await audit.append(transition('deploy'));
    expect(other).toMatchObject({ sequence: 1, previousHash: GENESIS_HASH, chain: '/apis/operator.blackroad.io/v1alpha1/namespaces/prod/deploys/web' });
    expect((await audit.read(deployRef())).map((r) => r.sequence)).toEqual([1, 2]);
  });

  it('serializes concurrent appends to one chain into one unforked sequence', async () => {
    const { audit } = setup();
    const appended = await Promise.all(Array.from({ length: 25 }, (_, i) => audit.append(transition('verify', 'Waiting', { message: `probe ${i}` }))));
    expect(appended.map((r) => r.sequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await audit.verify(deployRef())).toMatchObject({ valid: true, length: 25 });
  });

  it('re-reads the head and retries when another writer appended first', async () => {
    const store = new MemoryAuditStore();
    const first = setup(store);
    const second = setup(store);
    const interleaved = [];
    for (let i = 0; i < 6; i += 1) interleaved.push((i % 2 === 0 ? first : second).audit.append(transition('verify', 'Waiting')));
    await Promise.all(interleaved);
    expect(await first.audit.verify(deployRef())).toMatchObject({ valid: true, length: 6 });
    const retries = [...first.logs.records(), ...second.logs.records()].filter((r) => r['msg'] === 'audit chain head moved, retrying append');
    expect(retries.length).toBeGreaterThan(0);
  });

  it('gives up with AuditAppendError when it keeps losing the race, and when the store fails', async () => {
    const store = new MemoryAuditStore();
    const losing: AuditStore = { head: (chain) => store.head(chain), read: (chain) => store.read(chain), append: () => Promise.resolve({ stored: false as const, head: { sequence: 9, hash: GENESIS_HASH } }) };
    const { audit } = setup(losing);
    const lost = await audit.append(transition('deploy')).catch((error: unknown) => error);
    expect(isAuditAppendError(lost)).toBe(true);
    const broken: AuditStore = { ...losing, head: () => Promise.reject(new Error('READONLY You can’t write against a read only replica')) };
    const failed = await setup(broken).audit.append(transition('deploy')).catch((error: unknown) => error);
    expect(isAuditAppendError(failed)).toBe(true);
    expect((failed as Error).cause).toBeInstanceOf(Error);
  });

  it('rejects an invalid entry without storing anything', async () => {
    const { audit } = setup();
    const error = await audit.append({ ...transition('deploy'), actor: '' }).catch((e: unknown) => e);
    expect(isInvalidAuditEntryError(error)).toBe(true);
    expect((error as Error).message).toMatch(/actor/);
    expect(await audit.read(deployRef())).toEqual([]);
  });

  it('emits each stored record as an audit.recorded CloudEvent on the bus and counts it', async () => {
    const { audit, bus, registry } = setup();
    const record = await audit.append(transition('deploy'));
    const event = bus.newest()?.cloudEvent;
    expect(event).toMatchObject({ type: 'io.blackroad.operator.audit.recorded', source: record.chain, subject: 'deploy', correlationid: 'uid-prod-api/3', data: record });
    expect(await metricValue(registry, 'blackroad_audit_records_total', { action: 'step.deploy' })).toBe(1);
  });
});

describe('audit log: tamper detection', () => {
  it('finds an edited record by its hash', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    records[2] = edited(records[2], { outcome: 'Failed' });
    expect(verifyAuditChain(records)).toMatchObject({ valid: false, index: 2, problem: 'hash-mismatch' });
  });

  it('finds an edited record whose hash was recomputed by the next record’s link', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    const forged = edited(records[1], { actor: 'mallory' });
    records[1] = { ...forged, hash: auditRecordHash(forged) };
    expect(verifyAuditChain(records)).toMatchObject({ valid: false, index: 2, problem: 'broken-link' });
  });

  it('finds a deleted record, first or in the middle', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    expect(verifyAuditChain(records.filter((_, i) => i !== 2))).toMatchObject({ valid: false, index: 2, problem: 'broken-link' });
    expect(verifyAuditChain(records.slice(1))).toMatchObject({ valid: false, index: 0, problem: 'broken-link' });
  });

  it('finds two records swapped', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    const swapped = [records[0], records[2], records[1], records[3], records[4]] as AuditRecord[];
    expect(verifyAuditChain(swapped)).toMatchObject({ valid: false, index: 1, problem: 'broken-link' });
  });

  it('finds a record of another Deploy slipped into the chain', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    const stranger = await audit.append({ ...transition('deploy'), resource: deployRef('web') });
    expect(verifyAuditChain([...records, stranger])).toMatchObject({ valid: false, index: 5, problem: 'foreign-record' });
  });

  it('finds a renumbered record', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    const renumbered = edited(records[0], { sequence: 7 });
    records[0] = { ...renumbered, hash: auditRecordHash(renumbered) };
    const relinked = edited(records[1], { previousHash: records[0].hash });
    records[1] = { ...relinked, hash: auditRecordHash(relinked) };
    expect(verifyAuditChain(records.slice(0, 2))).toMatchObject({ valid: false, index: 0, problem: 'out-of-sequence' });
  });

  it('finds records dropped from the end, or a rewritten tail, only with an anchor of the head', async () => {
    const { audit, clock } = setup();
    const records = await writeChain(audit, clock);
    const anchor = { sequence: 5, hash: records[4]?.hash ?? '' };
    expect(verifyAuditChain(records.slice(0, 3))).toMatchObject({ valid: true, length: 3 });
    expect(verifyAuditChain(records.slice(0, 3), anchor)).toMatchObject({ valid: false, index: 3, problem: 'truncated' });
    const forged = edited(records[4], { outcome: 'Succeeded', message: 'nothing to see' });
    const rewritten = [...records.slice(0, 4), { ...forged, hash: auditRecordHash(forged) }];
    expect(verifyAuditChain(rewritten)).toMatchObject({ valid: true });
    expect(verifyAuditChain(rewritten, anchor)).toMatchObject({ valid: false, index: 4, problem: 'anchor-mismatch' });
    expect(verifyAuditChain(records, anchor)).toMatchObject({ valid: true, length: 5 });
  });
});

describe('audit log: no secret values', () => {
  it('never keeps, emits or logs the canary secret, wherever it appears in an entry', async () => {
    const { audit, bus, logs } = setup();
    await audit.append(
      transition('deploy', 'Failed', {
        message: `railway answered 401 for token ${CANARY} at https://deployer:${CANARY}@backboard.railway.app`,
        details: { token: 'a-token-value', note: `Authorization: Bearer ${CANARY}`, image: 'ghcr.io/acme/api:1.42.0' },
      }),
    );
    logs.logger.info({ record: (await audit.read(deployRef()))[0] }, 'audit record written');
    const [record] = await audit.read(deployRef());
    expect(record?.details).toEqual({ token: REDACTED, note: `Authorization: Bearer ${REDACTED}`, image: 'ghcr.io/acme/api:1.42.0' });
    expect(JSON.stringify(record)).not.toContain(CANARY);
    expect(JSON.stringify(bus.since(0))).not.toContain(CANARY);
    expect(logs.text()).not.toContain(CANARY);
    expect(verifyAuditChain(record === undefined ? [] : [record])).toMatchObject({ valid: true });
  });
});
