// The built-in kinds the devcluster serves, with kube-apiserver's defaults, validations, patch metadata and columns.
import { child, isObject, jsonEqual, metadataOf, stringAt, type Json, type JsonObject } from './json.ts';
import { goStringMap, validateName, validateObjectMeta, type NameRule } from './object-meta.ts';
import { ALL_VERBS, STATUS_VERBS, type ObjectStrategy, type PrinterColumn, type ResourceType } from './resource-type.ts';
import { fieldErrors, type FieldError } from './status-error.ts';
import type { PatchMeta } from './strategic-merge-patch.ts';
import { ageColumn, ageOf, column } from './table.ts';

const metadataPatch: PatchMeta = { fields: { finalizers: { strategy: 'merge' }, ownerReferences: { strategy: 'merge', mergeKey: 'uid' } } };
const containerPatch: PatchMeta = {
  strategy: 'merge',
  mergeKey: 'name',
  fields: {
    ports: { strategy: 'merge', mergeKey: 'containerPort' },
    env: { strategy: 'merge', mergeKey: 'name' },
    volumeMounts: { strategy: 'merge', mergeKey: 'mountPath' },
    volumeDevices: { strategy: 'merge', mergeKey: 'devicePath' },
  },
};
const podSpecPatch: PatchMeta = {
  fields: {
    containers: containerPatch,
    initContainers: containerPatch,
    ephemeralContainers: containerPatch,
    volumes: { strategy: 'merge,retainKeys', mergeKey: 'name' },
    imagePullSecrets: { strategy: 'merge', mergeKey: 'name' },
    hostAliases: { strategy: 'merge', mergeKey: 'ip' },
    topologySpreadConstraints: { strategy: 'merge', mergeKey: 'topologyKey' },
  },
};
const conditionsPatch: PatchMeta = { strategy: 'merge', mergeKey: 'type' };
const templatePatch: PatchMeta = { fields: { metadata: metadataPatch, spec: podSpecPatch } };
const plainPatch: PatchMeta = { fields: { metadata: metadataPatch } };

function defaultPodTemplate(template: JsonObject, defaultRestartPolicy: string | undefined): void {
  const meta = isObject(template['metadata']) ? template['metadata'] : {};
  if (!('creationTimestamp' in meta)) meta['creationTimestamp'] = null;
  template['metadata'] = meta;
  const spec = isObject(template['spec']) ? template['spec'] : {};
  template['spec'] = spec;
  for (const listName of ['containers', 'initContainers']) {
    const containers = spec[listName];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      if (!isObject(container)) continue;
      const ports = container['ports'];
      if (Array.isArray(ports)) for (const port of ports) if (isObject(port) && port['protocol'] === undefined) port['protocol'] = 'TCP';
      if (container['resources'] === undefined) container['resources'] = {};
      if (container['terminationMessagePath'] === undefined) container['terminationMessagePath'] = '/dev/termination-log';
      if (container['terminationMessagePolicy'] === undefined) container['terminationMessagePolicy'] = 'File';
      if (container['imagePullPolicy'] === undefined) {
        const image = typeof container['image'] === 'string' ? container['image'] : '';
        const lastPart = image.slice(image.lastIndexOf('/') + 1);
        const tag = lastPart.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : '';
        container['imagePullPolicy'] = tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
      }
    }
  }
  if (spec['restartPolicy'] === undefined && defaultRestartPolicy !== undefined) spec['restartPolicy'] = defaultRestartPolicy;
  if (spec['terminationGracePeriodSeconds'] === undefined) spec['terminationGracePeriodSeconds'] = 30;
  if (spec['dnsPolicy'] === undefined) spec['dnsPolicy'] = 'ClusterFirst';
  if (spec['securityContext'] === undefined) spec['securityContext'] = {};
  if (spec['schedulerName'] === undefined) spec['schedulerName'] = 'default-scheduler';
}

function validatePodTemplate(template: Json | undefined, path: string, restartPolicies: readonly string[]): FieldError[] {
  if (!isObject(template)) return [fieldErrors.required(path)];
  const errors: FieldError[] = [];
  const spec = child(template, 'spec') ?? {};
  const containers = spec['containers'];
  if (!Array.isArray(containers) || containers.length === 0) errors.push(fieldErrors.required(`${path}.spec.containers`));
  else {
    const names = new Set<string>();
    containers.forEach((container, index) => {
      const at = `${path}.spec.containers[${index}]`;
      if (!isObject(container)) {
        errors.push(fieldErrors.typeInvalid(at, container, 'must be an object'));
        return;
      }
      const name = container['name'];
      if (typeof name !== 'string' || name === '') errors.push(fieldErrors.required(`${at}.name`));
      else {
        errors.push(...validateName(name, 'label', `${at}.name`));
        if (names.has(name)) errors.push(fieldErrors.duplicate(`${at}.name`, name));
        names.add(name);
      }
      if (typeof container['image'] !== 'string' || container['image'] === '') errors.push(fieldErrors.required(`${at}.image`));
    });
  }
  const restartPolicy = spec['restartPolicy'];
  if (typeof restartPolicy === 'string' && !restartPolicies.includes(restartPolicy)) errors.push(fieldErrors.notSupported(`${path}.spec.restartPolicy`, restartPolicy, restartPolicies));
  if (restartPolicy === undefined && !restartPolicies.includes('Always')) errors.push(fieldErrors.required(`${path}.spec.restartPolicy`, `valid values: ${restartPolicies.map((p) => JSON.stringify(p)).join(', ')}`));
  return errors;
}

function selectorMatches(selector: JsonObject | undefined, labels: JsonObject | undefined): boolean {
  const matchLabels = child(selector, 'matchLabels') ?? {};
  for (const [key, value] of Object.entries(matchLabels)) if (labels?.[key] !== value) return false;
  const expressions = selector?.['matchExpressions'];
  if (Array.isArray(expressions)) {
    for (const expression of expressions) {
      if (!isObject(expression)) continue;
      const key = String(expression['key']);
      const values = Array.isArray(expression['values']) ? expression['values'] : [];
      const has = labels !== undefined && Object.hasOwn(labels, key);
      switch (expression['operator']) {
        case 'In':
          if (!has || !values.includes(labels[key] as Json)) return false;
          break;
        case 'NotIn':
          if (has && values.includes(labels[key] as Json)) return false;
          break;
        case 'Exists':
          if (!has) return false;
          break;
        case 'DoesNotExist':
          if (has) return false;
          break;
        default:
          return false;
      }
    }
  }
  return true;
}

function goLabelSelector(selector: Json | undefined): string {
  const matchLabels = isObject(selector) ? child(selector, 'matchLabels') : undefined;
  return `v1.LabelSelector{MatchLabels:${goStringMap(matchLabels)}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`;
}

function metaStrategy(rule: NameRule, extra: Partial<ObjectStrategy> = {}): ObjectStrategy {
  const validate = extra.validate;
  return {
    patchMeta: plainPatch,
    ...extra,
    validate: (obj, old) => [...validateObjectMeta(obj, old, rule), ...(validate?.(obj, old) ?? [])],
  };
}

function text(value: Json | undefined): string {
  return value === undefined || value === null ? '' : String(value);
}

function joined(values: Json | undefined, pick: (item: JsonObject) => Json | undefined): string {
  return Array.isArray(values) ? values.map((item) => (isObject(item) ? text(pick(item)) : '')).join(',') : '';
}

function selectorString(selector: JsonObject | undefined): string {
  const labels = child(selector, 'matchLabels') ?? {};
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${text(value)}`)
    .join(',');
}

const deploymentColumns: PrinterColumn[] = [
  column('Ready', 'string', 'Number of the pod with ready state', (obj) => `${text(child(obj, 'status')?.['readyReplicas'] ?? 0)}/${text(child(obj, 'spec')?.['replicas'] ?? 0)}`),
  column('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', (obj) => child(obj, 'status')?.['updatedReplicas'] ?? 0),
  column('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', (obj) => child(obj, 'status')?.['availableReplicas'] ?? 0),
  ageColumn,
  column('Containers', 'string', 'Names of each container in the template.', (obj) => joined(child(child(child(obj, 'spec'), 'template'), 'spec')?.['containers'], (c) => c['name']), 1),
  column('Images', 'string', 'Images referenced by each container in the template.', (obj) => joined(child(child(child(obj, 'spec'), 'template'), 'spec')?.['containers'], (c) => c['image']), 1),
  column('Selector', 'string', 'The label selector for selecting pods.', (obj) => selectorString(child(child(obj, 'spec'), 'selector')), 1),
];

function jobStatus(obj: JsonObject): string {
  const status = child(obj, 'status');
  const conditions = Array.isArray(status?.['conditions']) ? status['conditions'] : [];
  const isTrue = (type: string): boolean => conditions.some((c) => isObject(c) && c['type'] === type && c['status'] === 'True');
  if (isTrue('Complete')) return 'Complete';
  if (isTrue('Failed')) return 'Failed';
  if (isTrue('Suspended')) return 'Suspended';
  return 'Running';
}

const jobColumns: PrinterColumn[] = [
  column('Status', 'string', 'Status of the job.', jobStatus),
  column('Completions', 'string', 'The number of successfully finished pods and the desired completions.', (obj) => `${text(child(obj, 'status')?.['succeeded'] ?? 0)}/${text(child(obj, 'spec')?.['completions'] ?? 1)}`),
  column('Duration', 'string', 'Time required to complete the job.', (obj, nowMs) => {
    const status = child(obj, 'status');
    const start = status?.['startTime'];
    if (typeof start !== 'string') return '';
    const end = typeof status?.['completionTime'] === 'string' ? Date.parse(status['completionTime']) : nowMs;
    return ageOf(start, end) ?? '';
  }),
  ageColumn,
  column('Containers', 'string', 'Names of each container in the template.', (obj) => joined(child(child(child(obj, 'spec'), 'template'), 'spec')?.['containers'], (c) => c['name']), 1),
  column('Images', 'string', 'Images referenced by each container in the template.', (obj) => joined(child(child(child(obj, 'spec'), 'template'), 'spec')?.['containers'], (c) => c['image']), 1),
  column('Selector', 'string', 'The label selector for selecting pods.', (obj) => selectorString(child(child(obj, 'spec'), 'selector')), 1),
];

const deploymentStrategy = metaStrategy('subdomain', {
  patchMeta: { fields: { metadata: metadataPatch, spec: { fields: { template: templatePatch, strategy: { strategy: 'retainKeys' } } }, status: { fields: { conditions: conditionsPatch } } } },
  printerColumns: deploymentColumns,
  normalize(obj) {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    obj['spec'] = spec;
    if (spec['replicas'] === undefined) spec['replicas'] = 1;
    if (isObject(spec['template'])) defaultPodTemplate(spec['template'], 'Always');
    const strategy = isObject(spec['strategy']) ? spec['strategy'] : {};
    if (strategy['type'] === undefined) strategy['type'] = 'RollingUpdate';
    if (strategy['type'] === 'RollingUpdate') {
      const rolling = isObject(strategy['rollingUpdate']) ? strategy['rollingUpdate'] : {};
      if (rolling['maxUnavailable'] === undefined) rolling['maxUnavailable'] = '25%';
      if (rolling['maxSurge'] === undefined) rolling['maxSurge'] = '25%';
      strategy['rollingUpdate'] = rolling;
    }
    spec['strategy'] = strategy;
    if (spec['revisionHistoryLimit'] === undefined) spec['revisionHistoryLimit'] = 10;
    if (spec['progressDeadlineSeconds'] === undefined) spec['progressDeadlineSeconds'] = 600;
    if (obj['status'] === undefined) obj['status'] = {};
  },
  validate(obj, old) {
    const spec = child(obj, 'spec') ?? {};
    const errors: FieldError[] = [];
    const replicas = spec['replicas'];
    if (typeof replicas !== 'number' || !Number.isInteger(replicas)) errors.push(fieldErrors.typeInvalid('spec.replicas', replicas, 'must be an integer'));
    else if (replicas < 0) errors.push(fieldErrors.invalid('spec.replicas', replicas, 'must be greater than or equal to 0'));
    const selector = child(spec, 'selector');
    if (selector === undefined) errors.push(fieldErrors.required('spec.selector'));
    else if (Object.keys(child(selector, 'matchLabels') ?? {}).length === 0 && !Array.isArray(selector['matchExpressions'])) {
      errors.push(fieldErrors.invalid('spec.selector', goLabelSelector(selector), 'empty selector is invalid for deployment'));
    }
    errors.push(...validatePodTemplate(spec['template'], 'spec.template', ['Always']));
    const templateLabels = child(child(child(spec, 'template'), 'metadata'), 'labels');
    if (selector !== undefined && isObject(spec['template']) && !selectorMatches(selector, templateLabels)) {
      errors.push(fieldErrors.invalid('spec.template.metadata.labels', goStringMap(templateLabels), '`selector` does not match template `labels`'));
    }
    if (old !== undefined && !jsonEqual(child(child(old, 'spec'), 'selector'), selector)) {
      errors.push(fieldErrors.invalid('spec.selector', goLabelSelector(selector), 'field is immutable'));
    }
    return errors;
  },
});

const jobStrategy = metaStrategy('subdomain', {
  patchMeta: { fields: { metadata: metadataPatch, spec: { fields: { template: templatePatch } }, status: { fields: { conditions: conditionsPatch } } } },
  printerColumns: jobColumns,
  selectableFields: (obj) => ({ 'status.successful': String(child(obj, 'status')?.['succeeded'] ?? 0) }),
  normalize(obj) {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    obj['spec'] = spec;
    if (spec['parallelism'] === undefined) spec['parallelism'] = 1;
    if (spec['completions'] === undefined) spec['completions'] = 1;
    if (spec['backoffLimit'] === undefined) spec['backoffLimit'] = 6;
    if (isObject(spec['template'])) defaultPodTemplate(spec['template'], undefined);
    if (spec['completionMode'] === undefined) spec['completionMode'] = 'NonIndexed';
    if (spec['suspend'] === undefined) spec['suspend'] = false;
    if (spec['podReplacementPolicy'] === undefined) spec['podReplacementPolicy'] = 'TerminatingOrFailed';
    if (obj['status'] === undefined) obj['status'] = {};
  },
  prepareForCreate(obj) {
    const meta = metadataOf(obj);
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    const uid = String(meta['uid']);
    const name = String(meta['name']);
    if (spec['manualSelector'] !== true) {
      const generated = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
      spec['selector'] = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      spec['manualSelector'] = false;
      const template = isObject(spec['template']) ? spec['template'] : {};
      const templateMeta = isObject(template['metadata']) ? template['metadata'] : {};
      templateMeta['labels'] = { ...(child(templateMeta, 'labels') ?? {}), ...generated };
      meta['labels'] = { ...generated, ...(child(meta, 'labels') ?? {}) };
    }
  },
  validate(obj, old) {
    const spec = child(obj, 'spec') ?? {};
    const errors: FieldError[] = [];
    for (const field of ['parallelism', 'completions', 'backoffLimit'] as const) {
      const value = spec[field];
      if (typeof value === 'number' && value < 0) errors.push(fieldErrors.invalid(`spec.${field}`, value, 'must be greater than or equal to 0'));
    }
    errors.push(...validatePodTemplate(spec['template'], 'spec.template', ['OnFailure', 'Never']));
    if (old !== undefined) {
      const oldSpec = child(old, 'spec') ?? {};
      if (!jsonEqual(oldSpec['selector'], spec['selector'])) errors.push(fieldErrors.invalid('spec.selector', goLabelSelector(spec['selector']), 'field is immutable'));
      if (!jsonEqual(oldSpec['template'], spec['template'])) errors.push(fieldErrors.invalid('spec.template', 'core.PodTemplateSpec', 'field is immutable'));
      if (!jsonEqual(oldSpec['completions'], spec['completions'])) errors.push(fieldErrors.invalid('spec.completions', spec['completions'], 'field is immutable'));
    }
    return errors;
  },
});

const namespaceStrategy = metaStrategy('label', {
  patchMeta: { fields: { metadata: metadataPatch, status: { fields: { conditions: conditionsPatch } } } },
  printerColumns: [column('Status', 'string', 'The status of the namespace', (obj) => child(obj, 'status')?.['phase'] ?? null), ageColumn],
  selectableFields: (obj) => ({ 'status.phase': stringAt(child(obj, 'status'), 'phase') ?? '' }),
  normalize(obj) {
    const meta = metadataOf(obj);
    if (typeof meta['name'] === 'string') meta['labels'] = { ...(child(meta, 'labels') ?? {}), 'kubernetes.io/metadata.name': meta['name'] };
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    if (spec['finalizers'] === undefined) spec['finalizers'] = ['kubernetes'];
    obj['spec'] = spec;
    const status = isObject(obj['status']) ? obj['status'] : {};
    if (status['phase'] === undefined) status['phase'] = 'Active';
    obj['status'] = status;
  },
});

function base64Valid(value: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0;
}

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function validateDataKeys(obj: JsonObject, field: string): FieldError[] {
  const data = child(obj, field);
  const errors: FieldError[] = [];
  for (const key of Object.keys(data ?? {})) {
    if (!CONFIG_KEY.test(key) || key.length > 253) errors.push(fieldErrors.invalid(`${field}[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
  }
  return errors;
}

const secretStrategy = metaStrategy('subdomain', {
  printerColumns: [
    column('Type', 'string', 'Used to facilitate programmatic handling of secret data.', (obj) => obj['type'] ?? ''),
    column('Data', 'string', 'Contains the secret data.', (obj) => Object.keys(child(obj, 'data') ?? {}).length),
    ageColumn,
  ],
  selectableFields: (obj) => ({ type: typeof obj['type'] === 'string' ? obj['type'] : '' }),
  normalize(obj) {
    if (obj['type'] === undefined) obj['type'] = 'Opaque';
    const stringData = child(obj, 'stringData');
    if (stringData !== undefined) {
      const data = { ...(child(obj, 'data') ?? {}) };
      for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
      obj['data'] = data;
      delete obj['stringData'];
    }
  },
  validate(obj) {
    const errors = validateDataKeys(obj, 'data');
    for (const [key, value] of Object.entries(child(obj, 'data') ?? {})) {
      if (typeof value !== 'string' || !base64Valid(value)) errors.push(fieldErrors.invalid(`data[${key}]`, '<secret contents redacted>', 'illegal base64 data'));
    }
    return errors;
  },
});

const configMapStrategy = metaStrategy('subdomain', {
  printerColumns: [column('Data', 'string', 'Contains the configuration data.', (obj) => Object.keys(child(obj, 'data') ?? {}).length + Object.keys(child(obj, 'binaryData') ?? {}).length), ageColumn],
  validate: (obj) => [...validateDataKeys(obj, 'data'), ...validateDataKeys(obj, 'binaryData')],
});

const leaseStrategy = metaStrategy('subdomain', {
  printerColumns: [column('Holder', 'string', 'The holder of the lease', (obj) => child(obj, 'spec')?.['holderIdentity'] ?? ''), ageColumn],
  validate(obj) {
    const spec = child(obj, 'spec') ?? {};
    const errors: FieldError[] = [];
    const duration = spec['leaseDurationSeconds'];
    if (duration !== undefined && duration !== null && (typeof duration !== 'number' || duration <= 0)) errors.push(fieldErrors.invalid('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
    const transitions = spec['leaseTransitions'];
    if (typeof transitions === 'number' && transitions < 0) errors.push(fieldErrors.invalid('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
    return errors;
  },
});

/** Core v1 Event ↔ events.k8s.io/v1 Event field names (the stored shape is core v1). */
const EVENT_FIELD_MAP: readonly (readonly [string, string])[] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
  ['reportingComponent', 'reportingController'],
];

const coreEventStrategy = metaStrategy('subdomain', {
  printerColumns: [
    column('Last Seen', 'string', 'Time when last event occurred', (obj, nowMs) => ageOf(obj['lastTimestamp'] ?? obj['eventTime'], nowMs)),
    column('Type', 'string', 'Type of this event (Normal, Warning)', (obj) => obj['type'] ?? ''),
    column('Reason', 'string', 'Short, machine understandable string that gives the reason for the transition into the object current status.', (obj) => obj['reason'] ?? ''),
    column('Object', 'string', 'The object that this event is about.', (obj) => {
      const involved = child(obj, 'involvedObject');
      return `${String(involved?.['kind'] ?? '').toLowerCase()}/${text(involved?.['name'])}`;
    }),
    column('Message', 'string', 'A human-readable description of the status of this operation.', (obj) => obj['message'] ?? ''),
  ],
  selectableFields(obj) {
    const involved = child(obj, 'involvedObject') ?? {};
    const fields: Record<string, string> = { reason: text(obj['reason']), type: text(obj['type']), source: text(child(obj, 'source')?.['component']), reportingComponent: text(obj['reportingComponent']) };
    for (const key of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) fields[`involvedObject.${key}`] = text(involved[key]);
    return fields;
  },
  normalize(obj) {
    for (const [key, value] of [
      ['eventTime', null],
      ['reportingComponent', ''],
      ['reportingInstance', ''],
    ] as const) {
      if (obj[key] === undefined) obj[key] = value;
    }
  },
});

const eventsV1Strategy: ObjectStrategy = {
  printerColumns: coreEventStrategy.printerColumns ?? [],
  ...(coreEventStrategy.selectableFields === undefined ? {} : { selectableFields: coreEventStrategy.selectableFields }),
  patchMeta: plainPatch,
  toStorage(obj) {
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(obj)) {
      const mapped = EVENT_FIELD_MAP.find(([, v1]) => v1 === key);
      out[mapped === undefined ? key : mapped[0]] = value;
    }
    out['apiVersion'] = 'v1';
    if (out['reportingComponent'] === undefined) out['reportingComponent'] = '';
    if (out['reportingInstance'] === undefined) out['reportingInstance'] = '';
    return out;
  },
  fromStorage(obj) {
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(obj)) {
      if ((key === 'reportingComponent' || key === 'reportingInstance') && value === '') continue;
      const mapped = EVENT_FIELD_MAP.find(([core]) => core === key);
      out[mapped === undefined ? key : mapped[1]] = value;
    }
    out['apiVersion'] = 'events.k8s.io/v1';
    if (out['deprecatedSource'] === undefined) out['deprecatedSource'] = {};
    if (out['deprecatedFirstTimestamp'] === undefined) out['deprecatedFirstTimestamp'] = null;
    if (out['deprecatedLastTimestamp'] === undefined) out['deprecatedLastTimestamp'] = null;
    return out;
  },
  validate(obj, old) {
    const errors = validateObjectMeta(obj, old, 'subdomain');
    // kube-apiserver reports only the missing eventTime when several required fields are absent.
    if (obj['eventTime'] === undefined || obj['eventTime'] === null) errors.push(fieldErrors.required('eventTime'));
    return errors;
  },
};

function validateRules(rules: Json | undefined, field: string): FieldError[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [fieldErrors.typeInvalid(field, rules, 'must be a list')];
  const errors: FieldError[] = [];
  rules.forEach((rule, index) => {
    const at = `${field}[${index}]`;
    if (!isObject(rule)) return;
    if (!Array.isArray(rule['verbs']) || rule['verbs'].length === 0) errors.push(fieldErrors.required(`${at}.verbs`, 'verbs must contain at least one value'));
    const hasResources = Array.isArray(rule['resources']) && rule['resources'].length > 0;
    const hasUrls = Array.isArray(rule['nonResourceURLs']) && rule['nonResourceURLs'].length > 0;
    if (hasResources && !Array.isArray(rule['apiGroups'])) errors.push(fieldErrors.required(`${at}.apiGroups`, 'resource rules must supply at least one api group'));
    if (hasUrls && hasResources) errors.push(fieldErrors.invalid(`${at}.nonResourceURLs`, rule['nonResourceURLs'], 'rules cannot apply to both regular resources and non-resource URLs'));
    if (!hasUrls && !hasResources) errors.push(fieldErrors.required(`${at}.resources`, 'resource rules must supply at least one resource'));
  });
  return errors;
}

function roleStrategy(namespaced: boolean): ObjectStrategy {
  return metaStrategy('path', {
    validate: (obj) => {
      const errors = validateRules(obj['rules'], 'rules');
      if (namespaced && Array.isArray(obj['rules'])) {
        obj['rules'].forEach((rule, index) => {
          if (isObject(rule) && Array.isArray(rule['nonResourceURLs']) && rule['nonResourceURLs'].length > 0) errors.push(fieldErrors.invalid(`rules[${index}].nonResourceURLs`, rule['nonResourceURLs'], 'namespaced rules cannot apply to non-resource URLs'));
        });
      }
      return errors;
    },
  });
}

function bindingStrategy(namespaced: boolean): ObjectStrategy {
  return metaStrategy('path', {
    printerColumns: [
      column('Role', 'string', 'Role referenced by this binding', (obj) => `${text(child(obj, 'roleRef')?.['kind'])}/${text(child(obj, 'roleRef')?.['name'])}`),
      ageColumn,
      column('Users', 'string', 'Users in the binding', (obj) => joined((obj['subjects'] ?? []) as Json, (s) => (s['kind'] === 'User' ? s['name'] : undefined)).replace(/^,+|,+$/g, ''), 1),
      column('Groups', 'string', 'Groups in the binding', (obj) => joined((obj['subjects'] ?? []) as Json, (s) => (s['kind'] === 'Group' ? s['name'] : undefined)).replace(/^,+|,+$/g, ''), 1),
      column('ServiceAccounts', 'string', 'ServiceAccounts in the binding', (obj) => joined((obj['subjects'] ?? []) as Json, (s) => (s['kind'] === 'ServiceAccount' ? `${text(s['namespace'])}/${text(s['name'])}` : undefined)).replace(/^,+|,+$/g, ''), 1),
    ],
    validate(obj, old) {
      const errors: FieldError[] = [];
      const roleRef = child(obj, 'roleRef');
      if (roleRef === undefined) errors.push(fieldErrors.required('roleRef'));
      else {
        const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
        if (roleRef['apiGroup'] !== 'rbac.authorization.k8s.io') errors.push(fieldErrors.notSupported('roleRef.apiGroup', roleRef['apiGroup'] ?? '', ['rbac.authorization.k8s.io']));
        if (typeof roleRef['kind'] !== 'string' || !kinds.includes(roleRef['kind'])) errors.push(fieldErrors.notSupported('roleRef.kind', roleRef['kind'] ?? '', kinds));
        if (typeof roleRef['name'] !== 'string' || roleRef['name'] === '') errors.push(fieldErrors.required('roleRef.name'));
      }
      if (old !== undefined && !jsonEqual(child(old, 'roleRef'), roleRef)) errors.push(fieldErrors.invalid('roleRef', 'rbac.RoleRef', 'cannot change roleRef'));
      const subjects = obj['subjects'];
      if (Array.isArray(subjects)) {
        subjects.forEach((subject, index) => {
          if (!isObject(subject)) return;
          const at = `subjects[${index}]`;
          if (typeof subject['name'] !== 'string' || subject['name'] === '') errors.push(fieldErrors.required(`${at}.name`));
          if (!['User', 'Group', 'ServiceAccount'].includes(String(subject['kind']))) errors.push(fieldErrors.notSupported(`${at}.kind`, subject['kind'] ?? '', ['ServiceAccount', 'User', 'Group']));
          if (subject['kind'] === 'ServiceAccount' && !namespaced && (typeof subject['namespace'] !== 'string' || subject['namespace'] === '')) errors.push(fieldErrors.required(`${at}.namespace`));
        });
      }
      return errors;
    },
  });
}

interface BuiltinSpec {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly subresources?: ResourceType['subresources'];
  readonly statusSubresource?: boolean;
  readonly storage?: string;
  readonly hasGeneration?: boolean;
  readonly storageVersionHash?: string;
  readonly verbs?: readonly string[];
  readonly strategy: ObjectStrategy;
  readonly invalidGroup?: string;
  readonly topLevelFields?: readonly string[];
}

function builtin(spec: BuiltinSpec): ResourceType {
  return {
    group: spec.group,
    version: spec.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? ALL_VERBS,
    subresources: spec.subresources ?? (spec.statusSubresource === true ? [{ name: 'status', verbs: STATUS_VERBS }] : []),
    statusSubresource: spec.statusSubresource ?? false,
    storage: spec.storage ?? `${spec.group}/${spec.plural}`,
    builtin: true,
    hasGeneration: spec.hasGeneration ?? false,
    ...(spec.storageVersionHash === undefined ? {} : { storageVersionHash: spec.storageVersionHash }),
    invalidKind: { kind: spec.kind, group: spec.invalidGroup ?? spec.group },
    topLevelFields: spec.topLevelFields ?? ['spec', 'status'],
    strategy: spec.strategy,
  };
}

/** Every stored built-in resource, in discovery order per group. */
export function builtinResources(): ResourceType[] {
  return [
    builtin({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'], topLevelFields: ['data', 'binaryData', 'immutable'], storageVersionHash: 'qFsyl6wFWjQ=', strategy: configMapStrategy }),
    builtin({ group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'], storage: 'events', storageVersionHash: 'r2yiGXH7wu8=', topLevelFields: ['involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance'], strategy: coreEventStrategy }),
    builtin({
      group: '',
      version: 'v1',
      kind: 'Namespace',
      plural: 'namespaces',
      namespaced: false,
      shortNames: ['ns'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      statusSubresource: true,
      subresources: [
        { name: 'finalize', verbs: ['update'] },
        { name: 'status', verbs: STATUS_VERBS },
      ],
      storageVersionHash: 'Q3oi5N2YM8M=',
      strategy: namespaceStrategy,
    }),
    builtin({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true, topLevelFields: ['data', 'stringData', 'type', 'immutable'], storageVersionHash: 'S6u1pOWzb84=', strategy: secretStrategy }),
    builtin({
      group: '',
      version: 'v1',
      kind: 'ServiceAccount',
      plural: 'serviceaccounts',
      namespaced: true,
      topLevelFields: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
      shortNames: ['sa'],
      subresources: [{ name: 'token', verbs: ['create'], kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1' }],
      storageVersionHash: 'pbx9ZvyFpBE=',
      strategy: metaStrategy('subdomain', { printerColumns: [column('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', (obj) => (Array.isArray(obj['secrets']) ? obj['secrets'].length : 0)), ageColumn] }),
    }),
    builtin({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'], statusSubresource: true, hasGeneration: true, storageVersionHash: '8aSe+NMegvE=', strategy: deploymentStrategy }),
    builtin({ group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, categories: ['all'], statusSubresource: true, hasGeneration: true, storageVersionHash: 'mudhfqk/qZY=', strategy: jobStrategy }),
    builtin({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true, storageVersionHash: 'gqkMMb/YqFM=', strategy: leaseStrategy }),
    builtin({ group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'], storage: 'events', storageVersionHash: 'r2yiGXH7wu8=', invalidGroup: '', topLevelFields: ['eventTime', 'series', 'reportingController', 'reportingInstance', 'action', 'reason', 'regarding', 'related', 'note', 'type', 'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount'], strategy: eventsV1Strategy }),
    builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false, topLevelFields: ['subjects', 'roleRef'], storageVersionHash: '48tpQ8gZHFc=', strategy: bindingStrategy(false) }),
    builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false, topLevelFields: ['rules', 'aggregationRule'], storageVersionHash: 'bYE5ZWDrJ44=', strategy: roleStrategy(false) }),
    builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true, topLevelFields: ['subjects', 'roleRef'], storageVersionHash: 'eGsCzGH6b1g=', strategy: bindingStrategy(true) }),
    builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true, topLevelFields: ['rules'], storageVersionHash: '7FuwZcIIItM=', strategy: roleStrategy(true) }),
  ];
}
