// fast-check generators of Deploy and Sweep manifests: mostly valid, each field now and then broken, absent or of another type.
import fc, { type Arbitrary } from 'fast-check';
import { GROUP_VERSION } from '../../src/api/group-version.ts';

/** The value of a field: valid most of the time, else one of the ways it can be wrong. */
function field<T>(valid: Arbitrary<T>, invalid: Arbitrary<unknown>, invalidWeight = 1): Arbitrary<unknown> {
  return fc.oneof({ weight: 40, arbitrary: valid }, { weight: invalidWeight, arbitrary: invalid });
}

/** Values of the wrong JSON type for any field, null included (JSON null is what `kubectl apply` sends for `~`). */
const wrongType = fc.constantFrom<unknown>(42, 1.5, true, 'text', null, [], {}, ['x']);

/**
 * An object of `model`'s fields where required ones are sometimes left out and optional ones often, and now
 * and then a field the schema does not know is added (kube-apiserver prunes it; strict validation rejects it).
 */
function object(required: Record<string, Arbitrary<unknown>>, optional: Record<string, Arbitrary<unknown>> = {}): Arbitrary<Record<string, unknown>> {
  const present = (arbitrary: Arbitrary<unknown>, presentWeight: number) => fc.oneof({ weight: presentWeight, arbitrary: arbitrary.map((value) => ({ value })) }, { weight: 1, arbitrary: fc.constant(undefined) });
  const entries = [...Object.entries(required).map(([key, arbitrary]) => [key, present(arbitrary, 60)] as const), ...Object.entries(optional).map(([key, arbitrary]) => [key, present(arbitrary, 1)] as const)];
  const unknown = fc.oneof({ weight: 60, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('bogus', 'Spec', 'imagePullPolicy') });
  return fc.tuple(fc.tuple(...entries.map(([, arbitrary]) => arbitrary)), unknown).map(([values, extra]) => {
    const out: Record<string, unknown> = {};
    entries.forEach(([key], index) => {
      const entry = values[index];
      if (entry !== undefined) out[key] = entry.value;
    });
    if (extra !== undefined) out[extra] = 'surprise';
    return out;
  });
}

const dnsLabel = fc.oneof(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,12}[a-z0-9])?$/), fc.constantFrom('a', 'api', 'x'.repeat(63)));
const badDnsLabel = fc.constantFrom('', 'Api', '-api', 'api-', 'a_b', 'a.b', 'x'.repeat(64), 'ä');
const dnsSubdomain = fc.oneof(dnsLabel, fc.constantFrom('api.prod', 'a.b-c.d'));
const badDnsSubdomain = fc.constantFrom('', 'Api', 'a..b', '.a', 'a.', 'x'.repeat(254));
const httpUrl = fc.oneof(fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true }), fc.constantFrom('http://api.prod.svc/healthz', 'https://hooks.example/deploy'));
const badHttpUrl = fc.constantFrom('', 'ftp://hooks.example', 'http://', 'https:// x', 'hooks.example/deploy', `https://a/${'x'.repeat(2048)}`);
const image = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,30}$/), fc.constantFrom('ghcr.io/acme/api:1.42.0', 'node:24'));
const badImage = fc.constantFrom('', ' node', 'node 24', ':latest', 'x'.repeat(1025));
const opaqueId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/);
const badOpaqueId = fc.constantFrom('', '-p', 'a b', 'x'.repeat(129));
const secretRef = object({ name: field(dnsSubdomain, fc.oneof(badDnsSubdomain, wrongType)), key: field(fc.stringMatching(/^[-._a-zA-Z0-9]{1,20}$/), fc.oneof(fc.constantFrom('', 'a b', 'a/b'), wrongType)) });

/** An integer of [min, max], often at a bound; broken: just outside, a fraction, a string, another type. */
function integer(min: number, max: number): Arbitrary<unknown> {
  return field(fc.oneof({ weight: 6, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min, max) }), fc.oneof(fc.constantFrom(min - 1, max + 1, min + 0.5, String(min)), wrongType), 2);
}

const boolean = field(fc.boolean(), fc.oneof(fc.constantFrom('true', 'yes', 0), wrongType));
const retryPolicy = field(fc.constantFrom('default', 'critical'), fc.oneof(fc.constantFrom('fast', 'Default', ''), wrongType));

const kubernetesProvider = object({ deployment: field(dnsSubdomain, badDnsSubdomain), container: field(dnsLabel, badDnsLabel), image: field(image, badImage) });
const railwayProvider = object(
  { projectId: field(opaqueId, badOpaqueId), environmentId: field(opaqueId, badOpaqueId), serviceId: field(opaqueId, badOpaqueId), image: field(image, badImage), tokenSecretRef: secretRef },
  { endpoint: field(httpUrl, badHttpUrl) },
);
const webhookProvider = object({ url: field(httpUrl, badHttpUrl), secretRef });

/** Exactly one provider most of the time; none, two or three now and then. */
const provider = fc.oneof(
  { weight: 40, arbitrary: fc.oneof(kubernetesProvider.map((kubernetes) => ({ kubernetes })), railwayProvider.map((railway) => ({ railway })), webhookProvider.map((webhook) => ({ webhook }))) },
  { weight: 1, arbitrary: fc.record({ kubernetes: kubernetesProvider, railway: railwayProvider, webhook: webhookProvider }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: wrongType },
);

const healthCheck = object(
  { url: field(httpUrl, badHttpUrl) },
  {
    expectStatus: integer(100, 599),
    intervalSeconds: integer(1, 3600),
    timeoutSeconds: integer(1, 86400),
    successThreshold: integer(1, 100),
    failureThreshold: integer(1, 100),
  },
);

const compliance = object(
  {},
  {
    sensitive: boolean,
    category: field(fc.constantFrom('finance', 'identity', 'policy', 'none'), fc.oneof(fc.constantFrom('health', 'Finance'), wrongType)),
    requireApproval: boolean,
  },
);

/** Deploy specs: valid and broken in every field, provider combinations and cross-field rules included. */
export const deploySpecs: Arbitrary<unknown> = field(
  object(
    {
      service: field(dnsLabel, badDnsLabel),
      version: field(fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,20}$/), fc.constant('x'.repeat(128))), fc.oneof(fc.constantFrom('', '-1', 'v 1', 'x'.repeat(129)), wrongType)),
      provider,
    },
    {
      healthCheck: field(healthCheck, wrongType),
      rollback: field(object({}, { enabled: boolean, onDelete: boolean }), wrongType),
      compliance: field(compliance, wrongType),
      retryPolicy,
      suspend: boolean,
    },
  ),
  wrongType,
);

const repository = object({ name: field(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/), fc.oneof(fc.constantFrom('', '-r', 'a b', 'x'.repeat(101)), wrongType)), url: field(fc.constantFrom('https://github.com/acme/api', 'ssh://git@github.com/acme/web', 'git://example.org/x'), fc.constantFrom('', 'file:///etc', 'github.com/acme/api', 'https://a b')) }, { ref: field(fc.constantFrom('main', 'v1.2.3', 'feature/x', 'a1b2c3d'), fc.constantFrom('', 'a b', 'a~1', 'HEAD^', 'a:b', 'a[0]', 'x'.repeat(256))) });

const quantity = field(fc.constantFrom('500m', '2', '512Mi', '1.5', '2Gi', '1e3', '+1', '.5'), fc.constantFrom('lots', '1 Gi', '', 'Mi', 'x'.repeat(65)));
const resources = object({}, { requests: object({}, { cpu: quantity, memory: quantity }), limits: object({}, { cpu: quantity, memory: quantity }) });
const envVar = object({ name: field(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), fc.constantFrom('', '1A', 'A-B', 'A B')), value: field(fc.string({ maxLength: 20 }), fc.oneof(fc.constant('x'.repeat(4097)), wrongType)) });
const annotationKey = fc.oneof({ weight: 10, arbitrary: fc.constantFrom('example.com/team', 'owner', 'devcluster.blackroad.io/outcome', 'a.b/c_d') }, { weight: 1, arbitrary: fc.constantFrom('not a key', '/x', 'a/', '-x') });
const annotations = field(fc.dictionary(annotationKey, fc.string({ maxLength: 10 }), { maxKeys: 3 }), fc.oneof(fc.constant(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))), wrongType));

/** A check whose fields match its runner most of the time; the other runner's fields now and then. */
const check = fc
  .tuple(
    fc.constantFrom('job', 'http'),
    object(
      { name: field(dnsLabel, badDnsLabel) },
      {
        image: field(image, badImage),
        command: field(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.oneof(fc.constant(Array.from({ length: 65 }, () => 'x')), wrongType)),
        args: field(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), wrongType),
        env: field(fc.array(envVar, { maxLength: 3 }), wrongType),
        resources: field(resources, wrongType),
        annotations,
        url: field(httpUrl, badHttpUrl),
        secretRef,
        timeoutSeconds: integer(1, 86400),
      },
    ),
    fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  )
  .map(([runner, fields, tidy]) => {
    const jobFields = ['image', 'command', 'args', 'env', 'resources', 'annotations'];
    const httpFields = ['url', 'secretRef'];
    const out: Record<string, unknown> = { runner, ...fields };
    // Usually only the runner's own fields, with the required ones present; else whatever was drawn.
    if (tidy) {
      for (const key of runner === 'job' ? httpFields : jobFields) delete out[key];
      if (runner === 'job' && out['image'] === undefined) out['image'] = 'node:24';
      if (runner === 'http') {
        out['url'] ??= 'https://checker.example/run';
        out['secretRef'] ??= { name: 'checker', key: 'hmac' };
      }
    }
    return out;
  });
const runnerOrBroken = fc.oneof({ weight: 40, arbitrary: check }, { weight: 1, arbitrary: check.map((c) => ({ ...c, runner: 'lambda' })) });

/** Five-field crons, macros, shapes the CRD's pattern refuses, and values out of range that only cron-parser refuses. */
const schedule = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom('0 3 * * *', '*/5 * * * *', '0 0 1 1 *', '@daily', '@hourly', '15 14 1 * 1-5') },
  { weight: 2, arbitrary: fc.constantFrom('every day', '* * * *', '@often', '', '0 3 * * * * *') },
  { weight: 1, arbitrary: fc.constantFrom('61 * * * *', '0 25 * * *', '0 0 32 * *') },
);

/** Sweep specs: small fan-outs broken in every field, and now and then one at or over the 1,000-unit cap. */
export const sweepSpecs: Arbitrary<unknown> = field(
  fc.oneof(
    {
      weight: 12,
      arbitrary: object(
        { repositories: field(fc.array(repository, { minLength: 1, maxLength: 4 }), fc.oneof(fc.constant([]), wrongType)), checks: field(fc.array(runnerOrBroken, { minLength: 1, maxLength: 3 }), fc.oneof(fc.constant([]), wrongType)) },
        { concurrency: integer(1, 100), failFast: boolean, retryPolicy, schedule: field(schedule, wrongType), suspend: boolean, ttlSecondsAfterFinished: integer(0, 604800) },
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom([500, 2], [1000, 1], [334, 3], [251, 4], [501, 2], [1001, 1], [34, 30]).map(([repositoryCount = 0, checkCount = 0]) => ({
        repositories: Array.from({ length: repositoryCount }, (_, index) => ({ name: `r${index}`, url: `https://git.example/r${index}` })),
        checks: Array.from({ length: checkCount }, (_, index) => ({ name: `c${index}`, runner: 'job', image: 'node:24' })),
      })),
    },
  ),
  wrongType,
);

/** Object names: DNS subdomains mostly, and names kube-apiserver refuses. */
const objectName = field(dnsSubdomain, badDnsSubdomain);

/** A whole manifest of `kind` around a generated spec. */
export function manifests(kind: 'Deploy' | 'Sweep'): Arbitrary<Record<string, unknown>> {
  return fc.tuple(objectName, kind === 'Deploy' ? deploySpecs : sweepSpecs).map(([name, spec]) => ({ apiVersion: GROUP_VERSION, kind, metadata: { name, namespace: 'default' }, spec }));
}
