// One chaos soak: the API server, Redis, two operator replicas and the fakes; the workload and the fault schedule; the verdicts.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { GROUP_VERSION } from '../src/api/group-version.ts';
import { RedisAuditStore } from '../src/events/redis-audit-store.ts';
import type { AuditRecord } from '../src/events/audit-record.ts';
import { builtinResources, KubeClient, type KubeObject, type ResourceDescriptor } from '../src/kube/client.ts';
import { isAlreadyExists, isNotFound } from '../src/kube/errors.ts';
import { PrivateRedis, redisServerAvailable } from '../tests/support/private-redis.ts';
import { canaryNeedles, scanFiles, scanText } from './canary-scan.ts';
import type { DevclusterReady, DevclusterReport } from './devcluster-process.ts';
import { EventStreamTap } from './event-stream-tap.ts';
import { describeFault, faultSchedule, type Fault } from './fault-schedule.ts';
import { checkAll, mib, type CanaryFinding, type Disruption, type FinalObject, type InvariantResult, type MemoryFigure } from './invariants.ts';
import { OperatorFleet, type OperatorIncarnation, type Slot } from './operator-fleet.ts';
import { RssSampler } from './rss-sampler.ts';
import { ENVIRONMENT_ID, healthUrlOf, PROJECT_ID, serviceIdOf, SoakFakes, soakSecrets, type SoakSecrets } from './soak-fakes.ts';
import { HEALTH_CHECK, planWorkload, type DeployGeneration, type DeployPlan, type SweepPlan, type Workload, type WorkloadSize } from './workload.ts';
import type { WriteReport } from './write-ledger.ts';

export interface SoakOptions {
  readonly seed: string;
  readonly minutes: number;
  readonly settleMinutes: number;
  readonly size: WorkloadSize;
  readonly logLevel: string;
  readonly runDir: string;
  readonly repoRoot: string;
  /** Seconds after settling during which no finished resource may be written. */
  readonly quietSeconds: number;
  readonly print: (line: string) => void;
}

export interface SoakOutcome {
  readonly results: readonly InvariantResult[];
  readonly figures: SoakFigures;
}

/** What the report and docs/RELIABILITY.md quote. */
export interface SoakFigures {
  readonly seed: string;
  readonly minutes: number;
  readonly deploys: number;
  readonly sweeps: number;
  readonly units: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly faultPhaseMs: number;
  readonly settleMs: number;
  readonly totalMs: number;
  readonly leaderChanges: number;
  readonly writes: WriteReport['kinds'];
  readonly rss: readonly { readonly label: string; readonly peakMiB: number; readonly boundMiB: number }[];
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
}

const DEPLOYS: ResourceDescriptor = { group: 'operator.blackroad.io', version: 'v1alpha1', plural: 'deploys', kind: 'Deploy', namespaced: true };
const SWEEPS: ResourceDescriptor = { group: 'operator.blackroad.io', version: 'v1alpha1', plural: 'sweeps', kind: 'Sweep', namespaced: true };
const LEASE_NAME = 'blackroad-os-operator';
/** Changes the devcluster keeps for watch resumes (its default). */
const HISTORY_SIZE = 10_000;
const APPROVED_BY = 'operator.blackroad.io/approved-by';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Retries a call of the soak's own against the API server through the faults it injects itself. */
async function persist<T>(call: () => Promise<T>, deadlineMs = 120_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (isAlreadyExists(error) || isNotFound(error) || Date.now() > deadline) throw error;
      await sleep(Math.min(2_000, 100 * attempt));
    }
  }
}

/** Whether a resource has reached a final state for its current generation. */
export function isFinal(object: FinalObject, kind: 'Deploy' | 'Sweep'): boolean {
  const status = object.status;
  if (status?.observedGeneration !== object.metadata.generation || status.workflow?.finishedAt === undefined) return false;
  if (!status.workflow.id.startsWith(`${object.metadata.uid}/${object.metadata.generation}`)) return false;
  return kind === 'Deploy' ? ['Succeeded', 'RolledBack', 'Failed'].includes(status.phase ?? '') : ['Succeeded', 'Failed'].includes(status.phase ?? '');
}

/** The images whose rollouts the simulator fails for a kubernetes plan (fail-images annotation). */
function failingImages(plan: DeployPlan): string[] {
  const images = plan.generations.filter((generation) => generation.deploy === 'fail').map((generation) => generation.image);
  const last = plan.generations[plan.generations.length - 1];
  // The rollback of the last generation restores whatever ran before it: make every earlier image fail then.
  if (last?.rollback === 'fail') images.push(plan.initialImage, ...plan.generations.slice(0, -1).map((generation) => generation.image));
  return [...new Set(images)];
}

export class SoakRun {
  readonly #options: SoakOptions;
  readonly #startedAt = Date.now();
  #faultPhaseStart = 0;
  readonly #disruptions: Disruption[] = [];
  readonly #faultCounts = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #taps: EventStreamTap[] = [];
  readonly #notes: string[] = [];
  #leaderChanges = 0;
  #leader: string | undefined;

  constructor(options: SoakOptions) {
    this.#options = options;
  }

  /** Milliseconds since the soak started: the one clock of every record. */
  #now = (): number => Date.now() - this.#startedAt;

  #print(line: string): void {
    this.#options.print(`[${(this.#now() / 1000).toFixed(1).padStart(6)}s] ${line}`);
  }

  #track<T>(promise: Promise<T>): void {
    const tracked = promise.catch((error: unknown) => this.#notes.push(`background task failed: ${error instanceof Error ? error.message : String(error)}`));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  async run(): Promise<SoakOutcome> {
    const options = this.#options;
    const loadStart = (await import('node:os')).loadavg();
    const faultPhaseMs = options.minutes * 60_000;
    const workload = planWorkload(options.seed, options.size, Math.round(faultPhaseMs * 0.8));
    const privateRedis = await redisServerAvailable();
    const schedule = faultSchedule(options.seed, faultPhaseMs, { redisRestarts: privateRedis });
    const units = workload.sweeps.reduce((sum, plan) => sum + plan.expected.results.length, 0);
    options.print(`soak: seed ${options.seed}, ${options.minutes} min of faults then at most ${options.settleMinutes} min to settle; ${workload.deploys.length} Deploys, ${workload.sweeps.length} Sweeps (${units} units); run folder ${options.runDir}`);
    options.print(`fault schedule (${schedule.length} faults, from seed ${options.seed}):`);
    for (const fault of schedule) options.print(`  ${describeFault(fault)}`);

    const secrets = soakSecrets(() => randomBytes(12).toString('hex'));
    const redis = privateRedis ? await PrivateRedis.start() : undefined;
    const redisUrl = redis?.url ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    if (redis === undefined) this.#notes.push(`no redis-server binary: the operators share ${redisUrl} under a key prefix of their own, and no Redis restart is injected`);
    const prefix = `blackroad-soak:${options.seed}:${randomBytes(4).toString('hex')}:`.slice(0, 64);
    const rss = new RssSampler(this.#now);
    rss.track('soak driver (fakes)', process.pid);
    const devcluster = await this.#startDevcluster(rss);
    const client = KubeClient.fromFile(devcluster.ready.kubeconfigPath, { userAgent: 'blackroad-soak/0.1.0' });
    const namespace = `soak-${options.seed.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${randomBytes(2).toString('hex')}`;
    const fakes = await SoakFakes.start(workload, secrets, options.seed, this.#now);
    const fleet = new OperatorFleet({ repoRoot: options.repoRoot, runDir: options.runDir, kubeconfigPath: devcluster.ready.kubeconfigPath, namespace, redisUrl, redisKeyPrefix: prefix, logLevel: options.logLevel, now: this.#now });
    const redisClient = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
    redisClient.on('error', () => undefined);
    let outcome: SoakOutcome | undefined;
    const leasePoll = { stop: false };
    try {
      await this.#prepareCluster(client, namespace, workload, secrets);
      if (redis !== undefined) rss.track('redis-server#1', await this.#redisPid(redisUrl));
      for (const slot of ['a', 'b'] as const) this.#watchOperator(await fleet.start(slot, `soak-${slot}`), rss);
      await this.#waitForLeader(client, namespace, fleet);
      const leases = this.#pollLease(client, namespace, leasePoll);
      // Idle memory, once start-up (module loading, the first lists) has settled.
      await sleep(3_000);
      rss.sample();
      const idle = new Map(rss.series.map((series) => [series.label, series.lastBytes]));

      // Fault phase: resources are created and changed on their schedule while faults strike on theirs.
      this.#faultPhaseStart = this.#now();
      this.#print(`fault phase: ${options.minutes} min`);
      const actions = [...this.#workloadActions(workload, client, namespace, fakes), ...schedule.map((fault) => ({ atMs: fault.atMs, run: () => this.#inject(fault, { devcluster, fakes, fleet, client, namespace, redis, rss }) }))].sort((a, b) => a.atMs - b.atMs);
      let next = 0;
      let progressAt = 30_000;
      while (this.#now() - this.#faultPhaseStart < faultPhaseMs) {
        const elapsed = this.#now() - this.#faultPhaseStart;
        while (next < actions.length && (actions[next]?.atMs ?? Infinity) <= elapsed) this.#track((actions[next++] as { run: () => Promise<void> }).run());
        if (elapsed >= progressAt) {
          progressAt += 30_000;
          this.#track(this.#progress(client, namespace, workload, fleet));
        }
        await sleep(Math.min(100, (actions[next]?.atMs ?? Infinity) - elapsed));
      }
      while (next < actions.length) this.#track((actions[next++] as { run: () => Promise<void> }).run());

      // Settle: faults off, every replica and Redis back, then wait for every resource to be final.
      this.#print('faults off; settling');
      await Promise.all([...this.#pending]);
      await this.#calm(devcluster, fakes);
      for (const slot of ['a', 'b'] as const) if (fleet.live(slot) === undefined) this.#watchOperator(await fleet.start(slot, `soak-${slot}-${fleet.incarnations.length + 1}`), rss);
      const settleStart = this.#now();
      const settled = await this.#settle(client, namespace, workload, settleStart + options.settleMinutes * 60_000);
      const settleMs = this.#now() - settleStart;

      // Quiet window: a finished resource is never written again.
      const before = (await devcluster.report()).writes.statusCommitsByObject;
      await sleep(options.quietSeconds * 1000);
      const report = await devcluster.report();
      const quietCommits = Object.fromEntries(Object.entries(report.writes.statusCommitsByObject).map(([object, count]) => [object, count - (before[object] ?? 0)]));

      // Collect everything, then stop the operators (their shutdown is part of what is checked).
      const deploys = (await persist(() => client.listAll(DEPLOYS, { namespace }))).items as unknown as FinalObject[];
      const sweeps = (await persist(() => client.listAll(SWEEPS, { namespace }))).items as unknown as FinalObject[];
      const jobs = (await persist(() => client.listAll(builtinResources.jobs, { namespace }))).items;
      const events = (await persist(() => client.listAll(builtinResources.events, { namespace }))).items;
      await redisClient.connect().catch(() => undefined);
      const stream = await redisClient.xrange(`${prefix}events`, '-', '+');
      const audit = await this.#auditChains(redisClient, prefix);
      leasePoll.stop = true;
      await leases;
      await fleet.stopAll();
      for (const tap of this.#taps) tap.stop();
      await Promise.all(this.#taps.map((tap) => tap.done));
      rss.stop();

      const needles = canaryNeedles(secrets.canary);
      const canary: CanaryFinding[] = [
        await scanFiles('operator logs', fleet.incarnations.map((entry) => entry.logPath), needles),
        await scanFiles('SSE /events', this.#taps.map((_, i) => join(options.runDir, `sse-${i}.log`)), needles),
        await scanFiles('API server and simulator log', [join(options.runDir, 'devcluster.log')], needles),
        scanText('Kubernetes Events', JSON.stringify(events), needles),
        scanText('Deploy and Sweep status', JSON.stringify([...deploys, ...sweeps]), needles),
        scanText('Job manifests', JSON.stringify(jobs), needles),
        scanText('CloudEvents (Redis stream)', JSON.stringify(stream), needles),
        scanText('audit records', JSON.stringify([...audit.values()]), needles),
      ];
      const deployments = (await persist(() => client.listAll(builtinResources.deployments, { namespace }))).items;
      const operatorCacheBytes = Buffer.byteLength(JSON.stringify([...deploys, ...sweeps, ...jobs]));
      const changing = [...deploys, ...sweeps, ...jobs, ...deployments];
      const meanObjectBytes = Buffer.byteLength(JSON.stringify(changing)) / Math.max(1, changing.length);
      const memory = this.#memoryFigures(rss, idle, { operatorCacheBytes, serverStoredBytes: Buffer.byteLength(JSON.stringify([...changing, ...events])), serverHistoryBytes: HISTORY_SIZE * 2 * meanObjectBytes });
      const problems = [
        ...fleet.unexpectedExits().map((entry) => `operator ${entry.identity} (pid ${entry.pid}) exited on its own with ${String(entry.exitCode ?? entry.exitSignal)}`),
        ...fleet.incarnations.filter((entry) => entry.ended === 'stopped' && entry.exitCode !== 0).map((entry) => `operator ${entry.identity} exited with ${String(entry.exitCode ?? entry.exitSignal)} on SIGTERM`),
        ...(report.serverErrors > 0 ? [`the API server failed ${report.serverErrors} requests unexpectedly (devcluster.log)`] : []),
      ];
      const results = checkAll(
        {
          workload,
          deploys,
          sweeps,
          landed: fakes.landed,
          hookDeliveries: (key) => fakes.hook.deliveries(key),
          writes: report.writes,
          quietCommits,
          disruptions: this.#disruptions,
          audit,
          canary,
          canaryBodies: fakes.stats().canaryBodies,
          memory,
          processProblems: problems,
          settled,
        },
        (name) => `/apis/${GROUP_VERSION}/namespaces/${namespace}/deploys/${name}`,
      );
      const figures: SoakFigures = {
        seed: options.seed,
        minutes: options.minutes,
        deploys: workload.deploys.length,
        sweeps: workload.sweeps.length,
        units,
        faults: Object.fromEntries(this.#faultCounts),
        faultPhaseMs,
        settleMs,
        totalMs: this.#now(),
        leaderChanges: this.#leaderChanges,
        writes: report.writes.kinds,
        rss: memory.map((figure) => ({ label: figure.label, peakMiB: Math.round(figure.peakBytes / 1048576), boundMiB: Math.round(figure.boundBytes / 1048576) })),
        loadAverage: { start: loadStart.map((value) => Math.round(value * 100) / 100), end: (await import('node:os')).loadavg().map((value) => Math.round(value * 100) / 100) },
      };
      writeFileSync(join(options.runDir, 'report.json'), JSON.stringify({ figures, results, notes: this.#notes, disruptions: this.#disruptions, requests: report.writes.requests, fakes: fakes.stats() }, null, 2));
      for (const note of this.#notes) options.print(`note: ${note}`);
      outcome = { results, figures };
      return outcome;
    } finally {
      leasePoll.stop = true;
      rss.stop();
      for (const tap of this.#taps) tap.stop();
      await fleet.stopAll(5_000);
      client.close();
      await devcluster.stop();
      await fakes.close();
      redisClient.disconnect();
      if (redis !== undefined) await redis.stop();
      else await this.#deletePrefix(redisUrl, prefix);
    }
  }

  async #startDevcluster(rss: RssSampler): Promise<{ ready: DevclusterReady; report: () => Promise<DevclusterReport>; stop: () => Promise<void> }> {
    const child: ChildProcess = fork(new URL('./devcluster-process.ts', import.meta.url).pathname, [this.#options.runDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<DevclusterReady>((resolve, reject) => {
      child.once('message', (message) => resolve(message as DevclusterReady));
      child.once('exit', (code) => reject(new Error(`the devcluster process exited with ${String(code)} before it was ready`)));
    });
    rss.track('API server (devcluster + simulator)', child.pid ?? -1);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      ready,
      report: () =>
        new Promise((resolve) => {
          const onMessage = (message: unknown): void => {
            if ((message as { kind?: string }).kind !== 'report') return;
            child.off('message', onMessage);
            resolve(message as DevclusterReport);
          };
          child.on('message', onMessage);
          child.send('report');
        }),
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.send('stop');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  async #redisPid(url: string): Promise<number> {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1] ?? -1);
    } finally {
      probe.disconnect();
    }
  }

  /** The namespace, the Secrets (each holding the canary) and the kubernetes plans' Deployments. */
  async #prepareCluster(client: KubeClient, namespace: string, workload: Workload, secrets: SoakSecrets): Promise<void> {
    await persist(() => client.create(builtinResources.namespaces, { metadata: { name: namespace } } as KubeObject));
    const secret = (name: string, data: Record<string, string>): KubeObject => ({ metadata: { name, namespace }, type: 'Opaque', data: Object.fromEntries(Object.entries({ ...data, note: `rotate with care: ${secrets.canary}` }).map(([key, value]) => [key, Buffer.from(value).toString('base64')])) }) as unknown as KubeObject;
    for (const [name, data] of [
      ['soak-hook', { hmac: secrets.hookKey }],
      ['soak-railway', { token: secrets.railwayToken }],
      ['soak-checker', { hmac: secrets.checkerKey }],
    ] as const) {
      await persist(() => client.create(builtinResources.secrets, secret(name, data), {}));
    }
    const kubernetes = workload.deploys.filter((plan) => plan.provider === 'kubernetes' && plan.invalid === undefined);
    await runConcurrently(kubernetes, 16, (plan, i) =>
      persist(() =>
        client.create(builtinResources.deployments, {
          metadata: { name: plan.name, namespace, annotations: { 'devcluster.blackroad.io/delay-ms': String(300 + ((i * 137) % 1200)), 'devcluster.blackroad.io/fail-images': failingImages(plan).join(',') } },
          spec: { replicas: 1, progressDeadlineSeconds: 60, selector: { matchLabels: { app: plan.name } }, template: { metadata: { labels: { app: plan.name } }, spec: { containers: [{ name: 'app', image: plan.initialImage }] } } },
        } as unknown as KubeObject),
      ),
    );
  }

  #watchOperator(incarnation: OperatorIncarnation, rss: RssSampler): void {
    rss.track(`operator ${incarnation.identity}#${incarnation.incarnation}`, incarnation.pid);
    this.#taps.push(new EventStreamTap(incarnation.probeUrl, join(this.#options.runDir, `sse-${this.#taps.length}.log`), () => incarnation.exitedAtMs === undefined));
  }

  async #waitForLeader(client: KubeClient, namespace: string, fleet: OperatorFleet): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const holder = await this.#holder(client, namespace);
      if (holder !== undefined && fleet.slotOf(holder) !== undefined) {
        this.#leader = holder;
        this.#print(`leader: ${holder}`);
        return;
      }
      if (Date.now() > deadline) throw new Error('no operator took the Lease within 60 s');
      if (fleet.unexpectedExits().length > 0) throw new Error(`an operator exited at start; see ${fleet.unexpectedExits()[0]?.logPath}`);
      await sleep(250);
    }
  }

  async #holder(client: KubeClient, namespace: string): Promise<string | undefined> {
    try {
      const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(builtinResources.leases, LEASE_NAME, { namespace });
      const holder = lease.spec?.holderIdentity;
      return holder === undefined || holder === '' ? undefined : holder;
    } catch {
      return undefined;
    }
  }

  /** Follows the Lease every half second: each change of holder is a disruption (a hand-over may repeat a call). */
  async #pollLease(client: KubeClient, namespace: string, control: { stop: boolean }): Promise<void> {
    while (!control.stop) {
      const holder = await this.#holder(client, namespace);
      if (holder !== undefined && holder !== this.#leader) {
        this.#disruptions.push({ atMs: this.#now(), what: `leader changed from ${String(this.#leader)} to ${holder}` });
        this.#leaderChanges++;
        this.#print(`leader: ${holder} (was ${String(this.#leader)})`);
        this.#leader = holder;
      }
      await sleep(500);
    }
  }

  /** Creation, spec change and approval of each resource, at its time in the fault phase. */
  #workloadActions(workload: Workload, client: KubeClient, namespace: string, fakes: SoakFakes): { atMs: number; run: () => Promise<void> }[] {
    const urls = { hook: fakes.hook.url, railway: fakes.railway.url, health: fakes.health.url, checker: fakes.checker.url };
    const actions: { atMs: number; run: () => Promise<void> }[] = [];
    for (const plan of workload.deploys) {
      const [first, second] = plan.generations;
      if (first === undefined) continue;
      actions.push({ atMs: plan.createAtMs, run: () => persist(() => client.create(DEPLOYS, { apiVersion: GROUP_VERSION, kind: 'Deploy', metadata: { name: plan.name, namespace }, spec: deploySpec(plan, first, urls) } as KubeObject)).then(() => undefined) });
      if (second !== undefined && plan.updateAtMs !== undefined) {
        actions.push({ atMs: plan.updateAtMs, run: () => persist(() => client.patch(DEPLOYS, plan.name, { spec: deploySpec(plan, second, urls) }, { namespace, type: 'merge' })).then(() => undefined) });
      }
      if (plan.approveAtMs !== undefined) {
        actions.push({ atMs: plan.approveAtMs, run: () => persist(() => client.patch(DEPLOYS, plan.name, { metadata: { annotations: { [APPROVED_BY]: 'soak-approver@example.com' } } }, { namespace, type: 'merge' })).then(() => undefined) });
      }
    }
    for (const plan of workload.sweeps) {
      actions.push({ atMs: plan.createAtMs, run: () => persist(() => client.create(SWEEPS, { apiVersion: GROUP_VERSION, kind: 'Sweep', metadata: { name: plan.name, namespace }, spec: sweepSpec(plan, urls.checker) } as KubeObject)).then(() => undefined) });
    }
    return actions;
  }

  async #inject(fault: Fault, parts: { devcluster: { ready: DevclusterReady }; fakes: SoakFakes; fleet: OperatorFleet; client: KubeClient; namespace: string; redis: PrivateRedis | undefined; rss: RssSampler }): Promise<void> {
    const admin = async (path: string, body: unknown = {}): Promise<void> => {
      const response = await fetch(`${parts.devcluster.ready.adminUrl}/devcluster/faults/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`fault ${path}: HTTP ${response.status} ${await response.text()}`);
    };
    const count = (): void => {
      this.#faultCounts.set(fault.kind, (this.#faultCounts.get(fault.kind) ?? 0) + 1);
    };
    switch (fault.kind) {
      case 'watch-drop':
        await admin('close-watches');
        return count();
      case 'compact':
        await admin('compact');
        await admin('close-watches');
        return count();
      case 'api-burst':
        await admin('fail', { verb: fault.verb, resource: fault.resource, code: fault.code, count: fault.count, ...(fault.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fault.retryAfterSeconds }) });
        return count();
      case 'latency':
        await admin('latency', { latencyMs: fault.latencyMs });
        count();
        await sleep(fault.durationMs);
        await admin('latency', { latencyMs: 0 });
        return;
      case 'provider-storm':
        parts.fakes.storm(fault.target, fault.status, this.#now() + fault.durationMs);
        return count();
      case 'health-flip':
        parts.fakes.flipHealth(this.#now() + fault.durationMs);
        return count();
      case 'redis-restart': {
        if (parts.redis === undefined) return;
        this.#disruptions.push({ atMs: this.#now(), what: 'Redis killed' });
        await parts.redis.kill();
        count();
        await sleep(fault.downMs);
        await parts.redis.restart();
        parts.rss.track(`redis-server#${(this.#faultCounts.get('redis-restart') ?? 0) + 1}`, await this.#redisPid(parts.redis.url));
        return;
      }
      case 'kill-leader': {
        const holder = this.#leader;
        const slot: Slot | undefined = holder === undefined ? undefined : parts.fleet.slotOf(holder);
        if (slot === undefined) {
          this.#notes.push(`kill-leader at t+${(fault.atMs / 1000).toFixed(1)}s skipped: no running leader (Lease held by ${String(holder)})`);
          return;
        }
        this.#disruptions.push({ atMs: this.#now(), what: `SIGKILL to leader ${String(holder)}` });
        const killed = await parts.fleet.kill(slot);
        count();
        this.#print(`killed leader ${String(holder)} (pid ${String(killed?.pid)}); back in ${(fault.downMs / 1000).toFixed(1)}s as ${fault.sameIdentity ? 'the same pod' : 'a new pod'}`);
        await sleep(fault.downMs);
        const identity = fault.sameIdentity && holder !== undefined ? holder : `soak-${slot}-${parts.fleet.incarnations.length + 1}`;
        this.#watchOperator(await parts.fleet.start(slot, identity), parts.rss);
        return;
      }
    }
  }

  async #calm(devcluster: { ready: DevclusterReady }, fakes: SoakFakes): Promise<void> {
    const response = await fetch(`${devcluster.ready.adminUrl}/devcluster/faults/reset`, { method: 'POST', body: '{}' });
    if (!response.ok) throw new Error(`resetting the faults: HTTP ${response.status}`);
    fakes.calm();
  }

  async #listFinal(client: KubeClient, namespace: string): Promise<{ deploys: FinalObject[]; sweeps: FinalObject[] }> {
    const deploys = (await persist(() => client.listAll(DEPLOYS, { namespace }))).items as unknown as FinalObject[];
    const sweeps = (await persist(() => client.listAll(SWEEPS, { namespace }))).items as unknown as FinalObject[];
    return { deploys, sweeps };
  }

  async #progress(client: KubeClient, namespace: string, workload: Workload, fleet: OperatorFleet): Promise<void> {
    const { deploys, sweeps } = await this.#listFinal(client, namespace);
    const finalDeploys = deploys.filter((object) => isFinal(object, 'Deploy')).length;
    const finalSweeps = sweeps.filter((object) => isFinal(object, 'Sweep')).length;
    const faults = [...this.#faultCounts.values()].reduce((sum, value) => sum + value, 0);
    this.#print(`Deploys ${deploys.length}/${workload.deploys.length} created, ${finalDeploys} final; Sweeps ${sweeps.length}/${workload.sweeps.length}, ${finalSweeps} final; ${faults} faults so far; leader ${String(this.#leader)}; ${fleet.incarnations.length} operator processes so far`);
  }

  /** Waits until every planned resource is final, or the deadline. */
  async #settle(client: KubeClient, namespace: string, workload: Workload, deadlineMs: number): Promise<boolean> {
    let reportAt = this.#now() + 15_000;
    for (;;) {
      const { deploys, sweeps } = await this.#listFinal(client, namespace);
      const waiting = [
        ...workload.deploys.filter((plan) => {
          const object = deploys.find((candidate) => candidate.metadata.name === plan.name);
          return object === undefined || object.metadata.generation !== plan.generations.length || !isFinal(object, 'Deploy');
        }).map((plan) => `${plan.name} (${String(deploys.find((candidate) => candidate.metadata.name === plan.name)?.status?.phase)})`),
        ...workload.sweeps.filter((plan) => {
          const object = sweeps.find((candidate) => candidate.metadata.name === plan.name);
          return object === undefined || !isFinal(object, 'Sweep');
        }).map((plan) => `${plan.name} (${String(sweeps.find((candidate) => candidate.metadata.name === plan.name)?.status?.phase)})`),
      ];
      if (waiting.length === 0) {
        this.#print('every resource is final');
        return true;
      }
      if (this.#now() >= deadlineMs) {
        this.#print(`settle deadline: ${waiting.length} resources not final: ${waiting.slice(0, 10).join(', ')}`);
        return false;
      }
      if (this.#now() >= reportAt) {
        reportAt += 15_000;
        this.#print(`settling: ${waiting.length} resources not final yet: ${waiting.slice(0, 6).join(', ')}${waiting.length > 6 ? ', ...' : ''}`);
      }
      await sleep(2_000);
    }
  }

  async #auditChains(redis: Redis, prefix: string): Promise<Map<string, AuditRecord[]>> {
    const store = new RedisAuditStore({ redis, keyPrefix: prefix });
    const chains = new Map<string, AuditRecord[]>();
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}audit:*`, 'COUNT', 500);
      cursor = nextCursor;
      for (const key of keys) {
        const chain = key.slice(`${prefix}audit:`.length);
        chains.set(chain, await store.read(chain));
      }
    } while (cursor !== '0');
    return chains;
  }

  async #deletePrefix(url: string, prefix: string): Promise<void> {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    try {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = nextCursor;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  /**
   * Each process's peak against its bound: what it held idle (measured in this run, before the workload) plus
   * what the workload justifies.
   * - Operators (run with the image's V8 flags): every cached Deploy, Sweep and Job at 4 times its JSON (ADR 012
   *   measured 3.3: 3,195 bytes of RSS per 973-byte object), plus 64 MiB for work in flight (a relist after a
   *   410 peaks at 1.14 times the steady size, ADR 012; the event buffer of 1,000 CloudEvents; HTTP and JSON
   *   buffers of up to 8 reconciles at once).
   * - The API server keeps every object and a history of 10,000 changes, each holding the object before and
   *   after: 3 times that JSON (ADR 003 and ADR 012: 1.8 to 2.2 times stored JSON), plus 64 MiB of buffers.
   * - Redis: idempotency records of this run, a CloudEvents stream capped at about 10,000 entries and the audit
   *   chains: well under 128 MiB. The soak driver: its fakes' records, under 256 MiB more than idle.
   */
  #memoryFigures(rss: RssSampler, idle: ReadonlyMap<string, number>, sizes: { readonly operatorCacheBytes: number; readonly serverStoredBytes: number; readonly serverHistoryBytes: number }): MemoryFigure[] {
    const MiB = 1024 * 1024;
    const idleOf = (prefix: string): number => Math.max(...[...idle].filter(([label]) => label.startsWith(prefix)).map(([, bytes]) => bytes), 0);
    const operatorIdle = idleOf('operator');
    const serverIdle = idleOf('API server');
    return rss.series.map((series): MemoryFigure => {
      if (series.label.startsWith('operator')) {
        return { label: series.label, peakBytes: series.peakBytes, boundBytes: operatorIdle + 4 * sizes.operatorCacheBytes + 64 * MiB, why: `idle ${mib(operatorIdle)} + 4 x ${mib(sizes.operatorCacheBytes)} of cached JSON + 64 MiB in flight` };
      }
      if (series.label.startsWith('API server')) {
        const held = sizes.serverStoredBytes + sizes.serverHistoryBytes;
        return { label: series.label, peakBytes: series.peakBytes, boundBytes: serverIdle + 3 * held + 64 * MiB, why: `idle ${mib(serverIdle)} + 3 x ${mib(held)} of stored objects and change history + 64 MiB` };
      }
      if (series.label.startsWith('redis')) return { label: series.label, peakBytes: series.peakBytes, boundBytes: 128 * MiB, why: 'records of one run, capped streams' };
      const base = idle.get(series.label) ?? series.firstBytes;
      return { label: series.label, peakBytes: series.peakBytes, boundBytes: base + 256 * MiB, why: `idle ${mib(base)} + 256 MiB of fake records` };
    });
  }
}

/** The Deploy spec of a plan's generation. */
export function deploySpec(plan: DeployPlan, generation: DeployGeneration, urls: { hook: string; railway: string; health: string }): Record<string, unknown> {
  const secret = (name: string): string => (plan.invalid === 'missing-secret' ? 'soak-missing' : name);
  const provider =
    plan.provider === 'webhook'
      ? { webhook: { url: urls.hook, secretRef: { name: secret('soak-hook'), key: 'hmac' } } }
      : plan.provider === 'railway'
        ? { railway: { projectId: PROJECT_ID, environmentId: ENVIRONMENT_ID, serviceId: serviceIdOf(plan), image: generation.image, tokenSecretRef: { name: secret('soak-railway'), key: 'token' }, endpoint: urls.railway } }
        : { kubernetes: { deployment: plan.invalid === 'missing-deployment' ? `${plan.name}-missing` : plan.name, container: 'app', image: generation.image } };
  return {
    service: plan.name,
    version: generation.version,
    provider,
    ...(generation.health === 'none' ? {} : { healthCheck: { url: healthUrlOf(urls.health, plan, generation), expectStatus: 200, ...HEALTH_CHECK } }),
    rollback: { enabled: plan.rollbackEnabled },
    compliance: { sensitive: plan.sensitive, category: plan.sensitive ? 'finance' : 'none', requireApproval: plan.requireApproval },
    retryPolicy: plan.retryPolicy,
  };
}

/** The Sweep spec of a plan: job checks finish as their annotations say; http checks go to the checker. */
export function sweepSpec(plan: SweepPlan, checkerUrl: string): Record<string, unknown> {
  return {
    repositories: plan.repositories.map((name) => ({ name, url: `https://git.soak.invalid/${name}` })),
    checks: plan.checks.map((check) =>
      check.runner === 'job'
        ? { name: check.name, runner: 'job', image: 'busybox:1.36', command: ['sh', '-c', check.jobOutcome === 'fail' ? 'exit 1' : 'exit 0'], annotations: { 'devcluster.blackroad.io/outcome': check.jobOutcome === 'fail' ? 'fail' : 'succeed', 'devcluster.blackroad.io/delay-ms': String(check.jobDelayMs ?? 500) } }
        : { name: check.name, runner: 'http', url: checkerUrl, secretRef: { name: 'soak-checker', key: 'hmac' }, timeoutSeconds: 10 },
    ),
    concurrency: plan.concurrency,
    failFast: plan.failFast,
  };
}

async function runConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
}
