// The Sweep kind: run code-quality checks across many repositories in parallel and aggregate the results.
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { fields } from './fields.ts';
import { GROUP_VERSION, SWEEP_NAMES } from './group-version.ts';
import { AGE_COLUMN, PHASE_COLUMN, type KindDefinition } from './kind-definition.ts';
import { objectMetaSchema } from './object-meta.ts';
import { resourceStatusShape } from './status.ts';
import { withUniqueKey, withValidationRules } from './validation-rules.ts';

export const CHECK_RUNNERS = ['job', 'http'] as const;
export const SWEEP_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Suspended'] as const;
export const UNIT_STATES = ['Pending', 'Running', 'Passed', 'Failed', 'Errored', 'Skipped'] as const;
/** A Sweep runs at most this many units (repositories × checks), which keeps its status well under etcd's object limit. */
export const MAX_SWEEP_UNITS = 1000;
/** Result messages are cut to this length so 1,000 results stay a few hundred kilobytes. */
export const RESULT_MESSAGE_MAX_LENGTH = 256;
/** Past runs kept in `status.history`. */
export const SWEEP_HISTORY_LIMIT = 10;

const REPOSITORY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REPOSITORY_URL = /^(https?|ssh|git):\/\/\S+$/;
// RE2 reads a bare '[' in a class as the start of [:alpha:]; the escape keeps both engines in step.
// eslint-disable-next-line no-useless-escape
const GIT_REF = /^[^\s~^:?*\[\\]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const QUANTITY = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;
/** Five cron fields or a macro; cron-parser then checks ranges and names. Used as the CRD's pattern too. */
const CRON = /^(@(yearly|annually|monthly|weekly|daily|hourly)|[0-9A-Za-z*?/,#-]+( +[0-9A-Za-z*?/,#-]+){4})$/;

const repositorySchema = z
  .object({
    name: z.string().min(1).max(100).regex(REPOSITORY_NAME).describe('Name of the repository, unique in the Sweep; reported in results.'),
    url: z.string().min(1).max(2048).regex(REPOSITORY_URL).describe('Clone URL of the repository (https://, ssh:// or git://).'),
    ref: z.string().min(1).max(255).regex(GIT_REF).optional().describe("Branch, tag or commit to check; the repository's default branch when absent."),
  })
  .describe('A repository the checks run against.');

const envVarSchema = z
  .object({
    name: z.string().min(1).max(256).regex(ENV_NAME).describe('Name of the variable.'),
    value: fields.text(4096, 'Value of the variable. Never a secret: secrets are not accepted in a Sweep spec.'),
  })
  .describe('An environment variable of the check container.');

const quantitiesSchema = z
  .object({
    cpu: z.string().max(64).regex(QUANTITY).optional().describe('CPU, as a Kubernetes quantity (500m, 2).'),
    memory: z.string().max(64).regex(QUANTITY).optional().describe('Memory, as a Kubernetes quantity (512Mi, 2Gi).'),
  })
  .describe('CPU and memory quantities.');

const resourcesSchema = z
  .object({
    requests: quantitiesSchema.optional(),
    limits: quantitiesSchema.optional(),
  })
  .describe('Compute resources of the check container.');

const JOB_ONLY = ['image', 'command', 'args', 'env', 'resources', 'annotations'] as const;
const HTTP_ONLY = ['url', 'secretRef'] as const;

function listed(names: readonly string[]): string {
  return names.length === 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

const checkSchema = withValidationRules(
  z
    .object({
      name: fields.dnsLabel('Name of the check, unique in the Sweep; used in Job labels and results.'),
      runner: z.enum(CHECK_RUNNERS).describe('How the check runs: job (a batch/v1 Job per repository) or http (a POST to a checker service).'),
      image: fields.image('job: image of the check container.').optional(),
      command: z.array(z.string().max(4096)).max(64).optional().describe('job: entrypoint of the check container.'),
      args: z.array(z.string().max(4096)).max(256).optional().describe('job: arguments of the check container.'),
      env: withUniqueKey(z.array(envVarSchema).max(64), 'name')
        .optional()
        .describe('job: environment of the check container; REPOSITORY_URL and REPOSITORY_REF are added by the operator.'),
      resources: resourcesSchema.optional(),
      annotations: fields.stringMap(64, 4096, 'job: annotations put on the Job and its pod.').optional(),
      url: fields.httpUrl('http: URL of the checker service; it receives {repository, ref, check} and answers {status: pass|fail, details}.').optional(),
      secretRef: fields.secretRef('http: Secret key with the HMAC-SHA256 key that signs the request body.').optional(),
      timeoutSeconds: fields.integer(1, 86400, 'Seconds one run of the check may take before it is errored.').default(600),
    })
    .describe('A check run against every repository.'),
  [
    { rule: "self.runner != 'job' || has(self.image)", message: 'image is required when runner is job', fieldPath: '.image', reason: 'FieldValueRequired', holds: (c) => c.runner !== 'job' || c.image !== undefined },
    { rule: "self.runner != 'http' || has(self.url)", message: 'url is required when runner is http', fieldPath: '.url', reason: 'FieldValueRequired', holds: (c) => c.runner !== 'http' || c.url !== undefined },
    {
      rule: "self.runner != 'http' || has(self.secretRef)",
      message: 'secretRef is required when runner is http',
      fieldPath: '.secretRef',
      reason: 'FieldValueRequired',
      holds: (c) => c.runner !== 'http' || c.secretRef !== undefined,
    },
    {
      rule: `self.runner == 'job' || !(${JOB_ONLY.map((field) => `has(self.${field})`).join(' || ')})`,
      message: `${listed(JOB_ONLY)} apply only when runner is job`,
      reason: 'FieldValueForbidden',
      holds: (c) => c.runner === 'job' || JOB_ONLY.every((field) => c[field] === undefined),
    },
    {
      rule: `self.runner == 'http' || !(${HTTP_ONLY.map((field) => `has(self.${field})`).join(' || ')})`,
      message: `${listed(HTTP_ONLY)} apply only when runner is http`,
      reason: 'FieldValueForbidden',
      holds: (c) => c.runner === 'http' || HTTP_ONLY.every((field) => c[field] === undefined),
    },
  ],
);

function parsesAsCron(schedule: string): string | undefined {
  try {
    CronExpressionParser.parse(schedule, { tz: 'UTC' });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const scheduleSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(CRON)
  .superRefine((schedule, ctx) => {
    const problem = parsesAsCron(schedule);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `not a valid cron schedule: ${problem}` });
  })
  .describe('Cron schedule (five fields, UTC, or @hourly, @daily, ...) on which the Sweep runs again.');

export const sweepSpecSchema = withValidationRules(
  z
    .object({
      repositories: withUniqueKey(z.array(repositorySchema).min(1).max(MAX_SWEEP_UNITS), 'name').describe('Repositories to check; names are unique.'),
      checks: withUniqueKey(z.array(checkSchema).min(1).max(100), 'name').describe('Checks to run against every repository; names are unique.'),
      concurrency: fields.integer(1, 100, 'Units (repository × check) running at once at most.').default(5),
      failFast: z.boolean().default(false).describe('Stop starting units after the first failure; the rest are skipped.'),
      retryPolicy: fields.retryPolicy(),
      schedule: scheduleSchema.optional(),
      suspend: fields.suspend('Stop starting new runs and units; units in flight finish.'),
      ttlSecondsAfterFinished: fields.integer(0, 604800, 'Seconds a finished Job is kept before Kubernetes deletes it.').default(3600),
    })
    .describe('Desired state of the Sweep.'),
  [
    {
      rule: `size(self.repositories) * size(self.checks) <= ${MAX_SWEEP_UNITS}`,
      message: `repositories × checks must not exceed ${MAX_SWEEP_UNITS} units`,
      holds: (spec) => spec.repositories.length * spec.checks.length <= MAX_SWEEP_UNITS,
    },
  ],
);

const countsSchema = z
  .object({
    passed: fields.integer(0, MAX_SWEEP_UNITS, 'Units whose check passed.'),
    failed: fields.integer(0, MAX_SWEEP_UNITS, 'Units whose check failed.'),
    errored: fields.integer(0, MAX_SWEEP_UNITS, 'Units that could not give a verdict (timeout, runner error).'),
    skipped: fields.integer(0, MAX_SWEEP_UNITS, 'Units not run (failFast).'),
  })
  .describe('Units per outcome.');

const unitResultSchema = z
  .object({
    repository: z.string().max(100).describe('Name of the repository.'),
    check: z.string().max(63).describe('Name of the check.'),
    state: z.enum(UNIT_STATES).describe('Pending, Running, Passed, Failed, Errored or Skipped.'),
    attempts: fields.integer(0, 1000, 'Runs of the unit in this Sweep run.'),
    durationMs: fields.integer(0, 604_800_000, 'Duration of the last attempt, in milliseconds.').optional(),
    message: fields.text(RESULT_MESSAGE_MAX_LENGTH, `Outcome for humans, cut to ${RESULT_MESSAGE_MAX_LENGTH} characters.`).optional(),
    jobName: fields.dnsSubdomain('job runner: name of the Job that ran the unit.').optional(),
    startedAt: fields.timestamp('When the unit started; kept while it is in progress.').optional(),
    nextAttemptAt: fields.timestamp(
      'When an unfinished unit is looked at next: its Job polled, its check tried again, or, for a unit not started, when it may start (held while the Sweep is suspended, left for the next pass, or waiting for its checker\'s breaker).',
    ).optional(),
  })
  .describe('Outcome of one unit (repository × check).');

const runSummarySchema = z
  .object({
    startedAt: fields.timestamp('When the run started.'),
    finishedAt: fields.timestamp('When the run finished.').optional(),
    phase: z.enum(SWEEP_PHASES).describe('How the run ended.'),
    summary: countsSchema,
  })
  .describe('A past run.');

export const sweepStatusSchema = z
  .object({
    ...resourceStatusShape(SWEEP_PHASES),
    progress: z
      .object({
        total: fields.integer(0, MAX_SWEEP_UNITS, 'Units in this run.'),
        completed: fields.integer(0, MAX_SWEEP_UNITS, 'Units finished (passed, failed, errored or skipped).'),
        text: fields.text(16, 'completed/total, for kubectl get.').optional(),
      })
      .optional()
      .describe('Progress of the current run.'),
    summary: countsSchema.optional(),
    results: z.array(unitResultSchema).max(MAX_SWEEP_UNITS).optional().describe('One entry per unit, ordered by repository then check as in the spec.'),
    lastScheduleTime: fields.timestamp('When the schedule last started a run.').optional(),
    nextScheduleTime: fields.timestamp('When the schedule starts the next run.').optional(),
    history: z.array(runSummarySchema).max(SWEEP_HISTORY_LIMIT).optional().describe(`Summaries of the last ${SWEEP_HISTORY_LIMIT} runs, newest first.`),
  })
  .describe('Observed state of the Sweep, written by the operator.');

export const sweepSchema = z.object({
  apiVersion: z.literal(GROUP_VERSION),
  kind: z.literal(SWEEP_NAMES.kind),
  metadata: objectMetaSchema,
  spec: sweepSpecSchema,
  status: sweepStatusSchema.optional(),
});

export type CheckRunner = (typeof CHECK_RUNNERS)[number];
export type SweepPhase = (typeof SWEEP_PHASES)[number];
export type UnitState = (typeof UNIT_STATES)[number];
export type SweepSpec = z.infer<typeof sweepSpecSchema>;
export type SweepCheck = SweepSpec['checks'][number];
export type SweepRepository = SweepSpec['repositories'][number];
export type SweepStatus = z.infer<typeof sweepStatusSchema>;
export type UnitResult = z.infer<typeof unitResultSchema>;
export type Sweep = z.infer<typeof sweepSchema>;

export const SWEEP_KIND: KindDefinition = {
  names: SWEEP_NAMES,
  description:
    'A Sweep runs code-quality checks across many repositories in parallel, one unit per repository and check, and aggregates the results; it can run again on a cron schedule.',
  specSchema: sweepSpecSchema,
  statusSchema: sweepStatusSchema,
  objectSchema: sweepSchema,
  printerColumns: [
    { name: 'Progress', type: 'string', jsonPath: '.status.progress.text', description: 'Units completed out of the total.' },
    { name: 'Passed', type: 'integer', jsonPath: '.status.summary.passed', description: 'Units whose check passed.' },
    { name: 'Failed', type: 'integer', jsonPath: '.status.summary.failed', description: 'Units whose check failed.' },
    PHASE_COLUMN,
    AGE_COLUMN,
  ],
  selectableFields: [],
  preserveUnknownFieldsAt: [],
};
