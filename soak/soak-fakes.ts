// The providers the soak's operators call: the fakes of tests/support/fakes, scripted per resource, with outages on demand.
import { startFakeChecker, type FakeChecker } from '../tests/support/fakes/fake-checker.ts';
import type { FakeAnswer, FakeRequest } from '../tests/support/fakes/fake-http-server.ts';
import { startFakeRailway, type FakeRailway } from '../tests/support/fakes/fake-railway.ts';
import { startHealthEndpoint, type HealthEndpoint } from '../tests/support/fakes/health-endpoint.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../tests/support/fakes/webhook-receiver.ts';
import type { ProviderTarget } from './fault-schedule.ts';
import { SeededRandom } from './seeded-random.ts';
import type { DeployGeneration, DeployPlan, Workload } from './workload.ts';

/** The values the soak's Secrets hold; each starts with the canary, so finding the canary anywhere is a leak. */
export interface SoakSecrets {
  /** A random marker, at least 12 characters long, found in no source. */
  readonly canary: string;
  readonly hookKey: string;
  readonly railwayToken: string;
  readonly checkerKey: string;
}

/** The secrets of a run: random per run (never derived from the seed), so nothing else can contain them. */
export function soakSecrets(random: () => string): SoakSecrets {
  const canary = `cnry${random()}`;
  return { canary, hookKey: `${canary}-hook-hmac`, railwayToken: `${canary}-railway-token`, checkerKey: `${canary}-checker-hmac` };
}

/** A side effect as a fake received it (after any outage let it through), with the time it landed. */
export interface LandedCall {
  readonly target: 'webhook' | 'railway' | 'checker';
  /** `deploy` or `rollback` (webhook), the GraphQL operation (railway), `check` (checker). */
  readonly operation: string;
  readonly idempotencyKey: string;
  readonly atMs: number;
  /** The Deploy (webhook, railway) or the unit `repository/check` (checker). */
  readonly subject: string;
}

export interface FakeStats {
  /** Requests answered by a scripted outage or refusal, per target. */
  readonly refused: Readonly<Record<string, number>>;
  /** Error bodies sent that quote a Secret's value. */
  readonly canaryBodies: number;
  readonly probes: number;
}

/** What the fakes' scripts share: outages in force, probe counts, and what they recorded. */
class FakeScript {
  readonly landed: LandedCall[] = [];
  readonly refused: Record<string, number> = { webhook: 0, railway: 0, checker: 0 };
  canaryBodies = 0;
  readonly storms = new Map<ProviderTarget, { untilMs: number; status: number }>();
  healthFlipUntilMs = 0;
  readonly probes = new Map<string, number>();

  /** Counts a scripted refusal; every one quotes a secret. */
  refuse(target: string, answer: FakeAnswer): FakeAnswer {
    this.refused[target] = (this.refused[target] ?? 0) + 1;
    this.canaryBodies++;
    return answer;
  }
}

const HEALTH_PATH_KEYS = { deploy: 'deploy', version: 'version' } as const;

/** Error bodies quote the provider's secret at a varying offset, so some of them straddle the 200 characters a message quotes. */
function leakyBody(random: SeededRandom, what: string, secret: string): string {
  return `${what}; ${'diagnostic '.repeat(random.int(8, 22))}credential in use: ${secret}`;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const header = (request: FakeRequest, name: string): string => {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
};

/**
 * The fakes with the soak's scripts: deploy, rollback and health outcomes per Deploy and version, checker verdicts
 * per unit, refusals (4xx) where a plan says so, outages (`storm`) and health flips on demand. Every call that lands
 * at a fake is recorded with its idempotency key and time.
 */
export class SoakFakes {
  readonly hook: WebhookReceiver;
  readonly railway: FakeRailway;
  readonly health: HealthEndpoint;
  readonly checker: FakeChecker;
  readonly #script: FakeScript;

  private constructor(parts: { hook: WebhookReceiver; railway: FakeRailway; health: HealthEndpoint; checker: FakeChecker }, script: FakeScript) {
    this.hook = parts.hook;
    this.railway = parts.railway;
    this.health = parts.health;
    this.checker = parts.checker;
    this.#script = script;
  }

  get landed(): readonly LandedCall[] {
    return this.#script.landed;
  }

  /** Starts the four fakes, scripted for `workload`; `now()` is the soak's clock in milliseconds. */
  static async start(workload: Workload, secrets: SoakSecrets, seed: string | number, now: () => number): Promise<SoakFakes> {
    const random = new SeededRandom(seed).derive('fake-bodies');
    const byName = new Map(workload.deploys.map((plan) => [plan.name, plan]));
    const byService = new Map(workload.deploys.map((plan) => [serviceIdOf(plan), plan]));
    const generationOf = (plan: DeployPlan | undefined, version: unknown): DeployGeneration | undefined => plan?.generations.find((generation) => generation.version === version);
    const verdicts = new Map<string, 'pass' | 'fail' | 'error'>();
    for (const sweep of workload.sweeps) {
      for (const check of sweep.checks) for (const [repository, verdict] of Object.entries(check.verdicts ?? {})) verdicts.set(`${repository}/${check.name}`, verdict);
    }
    const script = new FakeScript();
    // The interceptor reads the fake it sits in front of, which exists only once started.
    const started: { railway?: FakeRailway } = {};
    const storm = (target: ProviderTarget, secret: string): FakeAnswer | undefined => {
      const active = script.storms.get(target);
      if (active === undefined || active.untilMs <= now()) return undefined;
      return script.refuse(target, { status: active.status, body: leakyBody(random, `${target} unavailable`, secret) });
    };

    const hook = await startWebhookReceiver({
      key: secrets.hookKey,
      outcomeOf: (payload) => {
        const generation = generationOf(byName.get(String(payload['name'])), payload['version']);
        return payload['action'] === 'rollback' ? generation?.rollback : generation?.deploy === 'fail' ? 'fail' : 'succeed';
      },
      intercept: (request) => {
        const stormed = storm('webhook', secrets.hookKey);
        if (stormed !== undefined || request.method !== 'POST') return stormed;
        const payload = parseJson(request.body) ?? {};
        const generation = generationOf(byName.get(String(payload['name'])), payload['version']);
        if (payload['action'] === 'deploy' && generation?.deploy === 'reject') {
          return script.refuse('webhook', { status: 422, body: JSON.stringify({ error: leakyBody(random, 'deploy refused: this service is frozen', secrets.hookKey) }), headers: { 'content-type': 'application/json' } });
        }
        script.landed.push({ target: 'webhook', operation: String(payload['action']), idempotencyKey: header(request, 'idempotency-key'), atMs: now(), subject: String(payload['name']) });
        return undefined;
      },
    });
    hook.pollsToFinish = 2;

    const railway = await startFakeRailway({
      token: secrets.railwayToken,
      outcomeOf: (deployment) => {
        const plan = byService.get(deployment.serviceId);
        const last = plan?.generations[plan.generations.length - 1];
        if (deployment.rollbackOf !== undefined) return last?.rollback === 'fail' ? 'crash' : 'succeed';
        return plan?.generations.find((generation) => generation.image === deployment.image)?.deploy === 'fail' ? 'fail' : 'succeed';
      },
      intercept: (request) => {
        const stormed = storm('railway', secrets.railwayToken);
        if (stormed !== undefined) return stormed;
        const body = parseJson(request.body) ?? {};
        const operation = /^\s*(?:query|mutation)\s+(\w+)/.exec(String(body['query'] ?? ''))?.[1] ?? '';
        const variables = (body['variables'] ?? {}) as Record<string, unknown>;
        const plan = byService.get(String(variables['serviceId'] ?? ''));
        if (operation === 'serviceInstanceDeployV2' && plan !== undefined) {
          const image = started.railway?.serviceImage(serviceIdOf(plan), ENVIRONMENT_ID);
          if (plan.generations.find((generation) => generation.image === image)?.deploy === 'reject') {
            return script.refuse('railway', { status: 200, body: JSON.stringify({ data: null, errors: [{ message: leakyBody(random, 'Not Authorized to deploy this service', secrets.railwayToken) }] }), headers: { 'content-type': 'application/json' } });
          }
        }
        if (operation === 'serviceInstanceDeployV2' || operation === 'deploymentRollback') {
          script.landed.push({ target: 'railway', operation, idempotencyKey: header(request, 'idempotency-key'), atMs: now(), subject: plan?.name ?? String(variables['id'] ?? '') });
        }
        return undefined;
      },
    });
    started.railway = railway;
    railway.pollsToFinish = 2;
    for (const plan of workload.deploys) {
      if (plan.provider === 'railway') railway.addService({ projectId: PROJECT_ID, environmentId: ENVIRONMENT_ID, serviceId: serviceIdOf(plan) }, { image: plan.initialImage, deployed: true });
    }

    const health = await startHealthEndpoint({
      healthOf: (request) => {
        const name = request.query.get(HEALTH_PATH_KEYS.deploy) ?? '';
        const version = request.query.get(HEALTH_PATH_KEYS.version) ?? '';
        const probeKey = `${name}@${version}`;
        const probe = (script.probes.get(probeKey) ?? 0) + 1;
        script.probes.set(probeKey, probe);
        switch (generationOf(byName.get(name), version)?.health) {
          case 'unhealthy':
            return false;
          case 'flaky':
            return probe > 1;
          default:
            return script.healthFlipUntilMs <= now();
        }
      },
    });

    const checker = await startFakeChecker({
      key: secrets.checkerKey,
      delayMs: 150,
      intercept: (request) => {
        const stormed = storm('checker', secrets.checkerKey);
        if (stormed !== undefined || request.method !== 'POST') return stormed;
        const body = parseJson(request.body) ?? {};
        const repository = String((body['repository'] as Record<string, unknown> | undefined)?.['name'] ?? '');
        const unit = `${repository}/${String(body['check'] ?? '')}`;
        if (verdicts.get(unit) === 'error') return script.refuse('checker', { status: 400, body: leakyBody(random, 'unknown check configuration', secrets.checkerKey) });
        script.landed.push({ target: 'checker', operation: 'check', idempotencyKey: header(request, 'idempotency-key'), atMs: now(), subject: unit });
        return undefined;
      },
    });
    for (const [unit, verdict] of verdicts) {
      const [repository = '', check = ''] = unit.split('/');
      if (verdict !== 'error') checker.setVerdict(repository, check, { status: verdict, details: verdict === 'pass' ? 'all good' : 'findings reported' });
    }

    return new SoakFakes({ hook, railway, health, checker }, script);
  }

  /** The provider answers every request with `status` until `untilMs`. */
  storm(target: ProviderTarget, status: number, untilMs: number): void {
    this.#script.storms.set(target, { untilMs, status });
  }

  /** Healthy services answer 503 until `untilMs`. */
  flipHealth(untilMs: number): void {
    this.#script.healthFlipUntilMs = untilMs;
  }

  /** Ends every outage and flip now. */
  calm(): void {
    this.#script.storms.clear();
    this.#script.healthFlipUntilMs = 0;
  }

  stats(): FakeStats {
    return { refused: { ...this.#script.refused }, canaryBodies: this.#script.canaryBodies, probes: this.health.probes };
  }

  async close(): Promise<void> {
    await Promise.all([this.hook.close(), this.railway.close(), this.health.close(), this.checker.close()]);
  }
}

export const PROJECT_ID = 'soak-project';
export const ENVIRONMENT_ID = 'soak-environment';

/** The Railway service of a Deploy. */
export function serviceIdOf(plan: Pick<DeployPlan, 'name'>): string {
  return `svc-${plan.name}`;
}

/** The health check URL of a Deploy's generation: the fake keys its script by the query. */
export function healthUrlOf(base: string, plan: Pick<DeployPlan, 'name'>, generation: Pick<DeployGeneration, 'version'>): string {
  return `${base}?${HEALTH_PATH_KEYS.deploy}=${encodeURIComponent(plan.name)}&${HEALTH_PATH_KEYS.version}=${encodeURIComponent(generation.version)}`;
}
