// The Deploy kind: roll a service to a version on one provider, verify its health, roll back on failure.
import { z } from 'zod';
import { fields } from './fields.ts';
import { DEPLOY_NAMES, GROUP_VERSION } from './group-version.ts';
import { AGE_COLUMN, PHASE_COLUMN, READY_COLUMN, type KindDefinition } from './kind-definition.ts';
import { objectMetaSchema } from './object-meta.ts';
import { resourceStatusShape } from './status.ts';
import { withValidationRules } from './validation-rules.ts';

export const DEPLOY_PROVIDERS = ['kubernetes', 'railway', 'webhook'] as const;
export const COMPLIANCE_CATEGORIES = ['finance', 'identity', 'policy', 'none'] as const;
export const DEPLOY_PHASES = ['Pending', 'AwaitingApproval', 'Deploying', 'Verifying', 'RollingBack', 'Succeeded', 'RolledBack', 'Failed', 'Suspended'] as const;
export const ROLLBACK_STATES = ['InProgress', 'Succeeded', 'Failed'] as const;
/** Railway's public GraphQL API. */
export const RAILWAY_DEFAULT_ENDPOINT = 'https://backboard.railway.com/graphql/v2';

const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

const kubernetesProviderSchema = z
  .object({
    deployment: fields.dnsSubdomain("Name of the apps/v1 Deployment, in the Deploy's namespace."),
    container: fields.dnsLabel('Name of the container whose image is set.'),
    image: fields.image('Image the container is set to, e.g. ghcr.io/acme/api:1.42.0.'),
  })
  .describe('Deploy by setting the image of a container of an apps/v1 Deployment and waiting for the rollout.');

const railwayProviderSchema = z
  .object({
    projectId: fields.opaqueId('Railway project id.'),
    environmentId: fields.opaqueId('Railway environment id.'),
    serviceId: fields.opaqueId('Railway service id.'),
    image: fields.image('Image the service instance is pointed at before it is deployed.'),
    tokenSecretRef: fields.secretRef('Secret key holding the Railway API token, sent as a bearer token.'),
    endpoint: fields.httpUrl('URL of the Railway GraphQL API.').default(RAILWAY_DEFAULT_ENDPOINT),
  })
  .describe("Deploy a Railway service instance through Railway's public GraphQL API.");

const webhookProviderSchema = z
  .object({
    url: fields.httpUrl('Deploy hook the operator POSTs the deploy request to, with an Idempotency-Key header.'),
    secretRef: fields.secretRef('Secret key with the HMAC-SHA256 key that signs the request body (X-Signature: sha256=<hex>).'),
  })
  .describe('Deploy through a generic HTTPS deploy hook with an HMAC-signed body.');

const providerSchema = withValidationRules(
  z
    .object({
      kubernetes: kubernetesProviderSchema.optional(),
      railway: railwayProviderSchema.optional(),
      webhook: webhookProviderSchema.optional(),
    })
    .describe('Where the service is deployed: exactly one of kubernetes, railway, webhook.'),
  [
    {
      rule: '(has(self.kubernetes) ? 1 : 0) + (has(self.railway) ? 1 : 0) + (has(self.webhook) ? 1 : 0) == 1',
      message: 'exactly one of kubernetes, railway, webhook must be set',
      holds: (provider) => [provider.kubernetes, provider.railway, provider.webhook].filter((set) => set !== undefined).length === 1,
    },
  ],
);

const healthCheckSchema = withValidationRules(
  z
    .object({
      url: fields.httpUrl('URL probed with HTTP GET.'),
      expectStatus: fields.integer(100, 599, 'HTTP status of a healthy answer.').default(200),
      intervalSeconds: fields.integer(1, 3600, 'Seconds between two probes.').default(10),
      timeoutSeconds: fields.integer(1, 86400, 'Seconds verification may take before it fails, counted from its start or from the last resume of a Deploy suspended meanwhile.').default(300),
      successThreshold: fields.integer(1, 100, 'Consecutive healthy probes that make the Deploy verified.').default(3),
      failureThreshold: fields.integer(1, 100, 'Consecutive unhealthy probes that fail verification.').default(3),
    })
    .describe('Health check run after the provider reports the rollout done; without it, the rollout alone verifies the Deploy.'),
  [
    {
      rule: 'self.intervalSeconds <= self.timeoutSeconds',
      message: 'intervalSeconds must not exceed timeoutSeconds',
      fieldPath: '.intervalSeconds',
      holds: (check) => check.intervalSeconds <= check.timeoutSeconds,
    },
  ],
);

const rollbackSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Roll back to what was running before when verification fails.'),
    onDelete: z
      .boolean()
      .default(false)
      .describe('When the Deploy is deleted while its run has changed the target and not finished, roll back before letting the Deploy go.'),
  })
  .prefault({})
  .describe('Rollback on failed verification.');

const complianceSchema = withValidationRules(
  z
    .object({
      sensitive: z.boolean().default(false).describe('Write an audit record for every step transition.'),
      category: z.enum(COMPLIANCE_CATEGORIES).default('none').describe('Compliance category: finance, identity, policy or none.'),
      requireApproval: z
        .boolean()
        .default(false)
        .describe('Wait before the deploy step until the annotation operator.blackroad.io/approved-by names who approved.'),
    })
    .prefault({})
    .describe('Compliance handling: audit records and the approval gate.'),
  [
    {
      rule: '!self.requireApproval || self.sensitive',
      message: 'requireApproval needs sensitive: true',
      fieldPath: '.requireApproval',
      holds: (compliance) => !compliance.requireApproval || compliance.sensitive,
    },
  ],
);

export const deploySpecSchema = z
  .object({
    service: fields.dnsLabel('Name of the service being deployed.'),
    version: z.string().min(1).max(128).regex(VERSION).describe('Version being rolled out, e.g. 1.42.0; recorded in status, events and audit records.'),
    provider: providerSchema,
    healthCheck: healthCheckSchema.optional(),
    rollback: rollbackSchema,
    compliance: complianceSchema,
    retryPolicy: fields.retryPolicy(),
    suspend: fields.suspend('Stop starting new work for this Deploy; work in flight finishes.'),
  })
  .describe('Desired state of the Deploy.');

const providerRefSchema = z
  .object({
    provider: z.enum(DEPLOY_PROVIDERS).describe('The provider that holds the rollout.'),
    id: z.string().min(1).max(256).describe("The provider's id of the rollout: the Deployment revision, the Railway deployment id, or the id the hook returned."),
    statusUrl: fields.httpUrl('Where the rollout status is polled, when the provider gave one.').optional(),
  })
  .describe("The provider's handle on a rollout.");

const previousSchema = z
  .object({
    version: z.string().max(128).describe('Version that was running before the deploy step changed it.'),
    image: z.string().max(1024).optional().describe('Image that was running.'),
    providerRef: providerRefSchema.optional(),
    recordedAt: fields.timestamp('When it was recorded, before the deploy step changed anything.'),
    podTemplate: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ 'x-kubernetes-preserve-unknown-fields': true })
      .describe('kubernetes provider: the Deployment pod template before the change, restored as is by a rollback.'),
  })
  .describe('What a rollback restores.');

const rollbackStatusSchema = z
  .object({
    state: z.enum(ROLLBACK_STATES).describe('InProgress, Succeeded or Failed.'),
    startedAt: fields.timestamp('When the rollback started.'),
    finishedAt: fields.timestamp('When the rollback finished.').optional(),
    reason: z.string().min(1).max(128).regex(REASON).describe('Why, as a CamelCase reason: HealthCheckFailed, RolloutDeadlineExceeded, ProviderFailed, DeployDeleted.'),
    message: fields.text(1024, 'Why, for humans.'),
    toVersion: z.string().max(128).describe('The version rolled back to.'),
    toImage: z.string().max(1024).optional().describe('The image rolled back to.'),
  })
  .describe('The last rollback: when, why and to what.');

const approvalSchema = z
  .object({
    required: z.boolean().describe('Whether the Deploy waits for an approval.'),
    requestedAt: fields.timestamp('When the Deploy started waiting.').optional(),
    approvedBy: z.string().max(253).optional().describe('Who approved, from the operator.blackroad.io/approved-by annotation.'),
    approvedAt: fields.timestamp('When the approval was seen.').optional(),
  })
  .describe('The approval gate of compliance-sensitive Deploys.');

const probeSchema = z
  .object({
    at: fields.timestamp('When the probe ran.'),
    healthy: z.boolean().describe('Whether the answer was the expected one.'),
    statusCode: fields.integer(0, 999, 'HTTP status received; absent when no answer came.').optional(),
    latencyMs: fields.integer(0, 86_400_000, 'Time to the answer, in milliseconds.').optional(),
    message: fields.text(1024, 'What went wrong, for humans.').optional(),
  })
  .describe('The last health probe.');

const healthStatusSchema = z
  .object({
    consecutiveSuccesses: fields.integer(0, 1_000_000, 'Healthy probes in a row.'),
    consecutiveFailures: fields.integer(0, 1_000_000, 'Unhealthy probes in a row.'),
    lastProbe: probeSchema.optional(),
  })
  .describe('Progress of the health check of the verify step.');

const currentSchema = z
  .object({
    version: z.string().max(128).describe('The version running, as far as the operator knows.'),
    image: z.string().max(1024).optional().describe('The image running, when the provider deploys images.'),
    since: fields.timestamp('When the run that left it running finished.'),
  })
  .describe("What runs now: what the last finished run left in place (its own version, or the one its rollback restored); the next run's previous.version.");

export const deployStatusSchema = z
  .object({
    ...resourceStatusShape(DEPLOY_PHASES),
    revision: fields.integer(0, 2_147_483_647, 'How many rollouts the deploy step has started for this Deploy.').optional(),
    current: currentSchema.optional(),
    providerRef: providerRefSchema.optional(),
    previous: previousSchema.optional(),
    rollback: rollbackStatusSchema.optional(),
    approval: approvalSchema.optional(),
    health: healthStatusSchema.optional(),
  })
  .describe('Observed state of the Deploy, written by the operator.');

export const deploySchema = z.object({
  apiVersion: z.literal(GROUP_VERSION),
  kind: z.literal(DEPLOY_NAMES.kind),
  metadata: objectMetaSchema,
  spec: deploySpecSchema,
  status: deployStatusSchema.optional(),
});

export type DeployProviderName = (typeof DEPLOY_PROVIDERS)[number];
export type DeployPhase = (typeof DEPLOY_PHASES)[number];
export type DeploySpec = z.infer<typeof deploySpecSchema>;
export type DeployStatus = z.infer<typeof deployStatusSchema>;
export type Deploy = z.infer<typeof deploySchema>;
export type ProviderRef = z.infer<typeof providerRefSchema>;

export const DEPLOY_KIND: KindDefinition = {
  names: DEPLOY_NAMES,
  description:
    'A Deploy rolls a service to a version on one provider (a Kubernetes Deployment, Railway or a deploy hook), verifies its health and rolls back when verification fails.',
  specSchema: deploySpecSchema,
  statusSchema: deployStatusSchema,
  objectSchema: deploySchema,
  printerColumns: [
    { name: 'Service', type: 'string', jsonPath: '.spec.service', description: 'The service being deployed.' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'The version being rolled out.' },
    PHASE_COLUMN,
    READY_COLUMN,
    AGE_COLUMN,
  ],
  selectableFields: ['.spec.service'],
  preserveUnknownFieldsAt: ['status.previous.podTemplate'],
};
