// The batch/v1 Job of a `job` check unit: its deterministic name, labels, owner reference and pod template.
import { createHash } from 'node:crypto';
import { GROUP_VERSION, SWEEP_NAMES } from '../../api/group-version.ts';
import type { KubeObject } from '../../kube/kube-object.ts';
import { InvalidSpecError } from '../provider-error.ts';
import type { CheckUnit } from './check-runner.ts';

export const SWEEP_LABEL = 'operator.blackroad.io/sweep';
export const SWEEP_UID_LABEL = 'operator.blackroad.io/sweep-uid';
export const RUN_LABEL = 'operator.blackroad.io/run';
export const REPOSITORY_LABEL = 'operator.blackroad.io/repository';
export const CHECK_LABEL = 'operator.blackroad.io/check';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'blackroad-os-operator';
/** On the Job: the idempotency key of the unit's start. */
export const IDEMPOTENCY_KEY_ANNOTATION = 'operator.blackroad.io/idempotency-key';
/** Name of the check container. */
export const CHECK_CONTAINER = 'check';

/** Environment variables the operator sets; a check's own variables of these names are replaced. */
const OPERATOR_ENV = ['REPOSITORY_NAME', 'REPOSITORY_URL', 'REPOSITORY_REF', 'CHECK_NAME'];
const MAX_NAME_LENGTH = 63;
const NAME_HASH_LENGTH = 10;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

interface JobCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** The fields of a batch/v1 Job the runner writes and reads. */
export interface Job extends KubeObject {
  readonly spec?: Record<string, unknown>;
  readonly status?: {
    readonly conditions?: readonly JobCondition[];
    readonly startTime?: string;
    readonly completionTime?: string;
    readonly active?: number;
  };
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * `<sweep>-<10 hex>`: the hash covers the run, the repository and the check, so each unit of each run has
 * its own Job and a restarted operator finds the one it created. The Sweep name is cut (and its dots made
 * dashes) so the whole is a DNS-1123 label of at most 63 characters, as Job names must be for the
 * `job-name` label the Job controller puts on its pods.
 */
export function checkJobName(sweepName: string, runId: string, repository: string, check: string): string {
  const hash = sha256Hex(`${runId}\n${repository}\n${check}`).slice(0, NAME_HASH_LENGTH);
  const prefix = sweepName
    .replace(/\./g, '-')
    .slice(0, MAX_NAME_LENGTH - NAME_HASH_LENGTH - 1)
    .replace(/-+$/, '');
  return `${prefix}-${hash}`;
}

/** `value` as a valid label value: as is when it is one, else cleaned, cut, and suffixed with a hash of the original. */
export function labelValue(value: string): string {
  if (value.length <= MAX_NAME_LENGTH && LABEL_VALUE.test(value)) return value;
  const hash = sha256Hex(value).slice(0, 8);
  const cleaned = value
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .slice(0, MAX_NAME_LENGTH - hash.length - 1)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned === '' ? hash : `${cleaned}-${hash}`;
}

/** The labels of a unit's Job and pod: select by Sweep (name or uid), run, repository and check. */
export function checkJobLabels(unit: CheckUnit): Record<string, string> {
  return {
    [SWEEP_LABEL]: labelValue(unit.sweep.name),
    [SWEEP_UID_LABEL]: labelValue(unit.sweep.uid),
    [RUN_LABEL]: labelValue(unit.runId),
    [REPOSITORY_LABEL]: labelValue(unit.repository.name),
    [CHECK_LABEL]: labelValue(unit.check.name),
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
}

/**
 * The Job of a `job` unit: owned by the Sweep (`controller`, `blockOwnerDeletion`), `backoffLimit: 0` (retries
 * are the workflow's), `activeDeadlineSeconds` = the check's `timeoutSeconds`, the Sweep's
 * `ttlSecondsAfterFinished`, the check's annotations on the Job and its pod, and the repository in the
 * environment (`REPOSITORY_NAME`, `REPOSITORY_URL`, `REPOSITORY_REF` when set, `CHECK_NAME`).
 */
export function jobCheckManifest(unit: CheckUnit, idempotencyKey: string): Job {
  const { check, repository, sweep } = unit;
  if (check.runner !== 'job' || check.image === undefined) {
    throw new InvalidSpecError('job', `check "${check.name}" of Sweep ${sweep.namespace}/${sweep.name} is not a job check with an image`);
  }
  const labels = checkJobLabels(unit);
  const annotations = { ...check.annotations };
  const env = [
    ...(check.env ?? []).filter((variable) => !OPERATOR_ENV.includes(variable.name)),
    { name: 'REPOSITORY_NAME', value: repository.name },
    { name: 'REPOSITORY_URL', value: repository.url },
    ...(repository.ref === undefined ? [] : [{ name: 'REPOSITORY_REF', value: repository.ref }]),
    { name: 'CHECK_NAME', value: check.name },
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: checkJobName(sweep.name, unit.runId, repository.name, check.name),
      namespace: sweep.namespace,
      labels,
      annotations: { ...annotations, [IDEMPOTENCY_KEY_ANNOTATION]: idempotencyKey },
      ownerReferences: [{ apiVersion: GROUP_VERSION, kind: SWEEP_NAMES.kind, name: sweep.name, uid: sweep.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: check.timeoutSeconds,
      ttlSecondsAfterFinished: unit.ttlSecondsAfterFinished,
      template: {
        metadata: { labels, annotations },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: CHECK_CONTAINER,
              image: check.image,
              ...(check.command === undefined ? {} : { command: check.command }),
              ...(check.args === undefined ? {} : { args: check.args }),
              env,
              ...(check.resources === undefined ? {} : { resources: check.resources }),
            },
          ],
        },
      },
    },
  };
}
