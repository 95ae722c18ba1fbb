// CustomResourceDefinitions: their own validation and defaults, and the resource types they serve at once.
import { child, isObject, metadataOf, type Json, type JsonObject } from './json.ts';
import { validateName, validateObjectMeta } from './object-meta.ts';
import { ALL_VERBS, STATUS_VERBS, type ObjectStrategy, type PrinterColumn, type ResourceType } from './resource-type.ts';
import { fieldErrors, StatusError, type FieldError } from './status-error.ts';
import { StructuralSchema } from './structural-schema.ts';
import { ageOf, evaluateJsonPath } from './table.ts';

const GROUP = 'apiextensions.k8s.io';

function checkStructural(node: Json | undefined, path: string, errors: FieldError[], root: boolean): void {
  if (!isObject(node)) return;
  const type = node['type'];
  const free = node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
  if (type === undefined && !free && !root) errors.push(fieldErrors.required(`${path}.type`, 'must not be empty for specified object fields'));
  if (root && type !== 'object') errors.push(fieldErrors.invalid(`${path}.type`, type ?? '', 'must be object at the root'));
  if (isObject(node['properties'])) for (const [key, value] of Object.entries(node['properties'])) checkStructural(value, `${path}.properties[${key}]`, errors, false);
  if (isObject(node['items'])) checkStructural(node['items'], `${path}.items`, errors, false);
  if (isObject(node['additionalProperties'])) checkStructural(node['additionalProperties'], `${path}.additionalProperties`, errors, false);
  if (isObject(node['properties']) && isObject(node['additionalProperties'])) errors.push(fieldErrors.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
}

function validateCrd(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errors = validateObjectMeta(obj, old, 'subdomain');
  const spec = child(obj, 'spec');
  if (spec === undefined) return [...errors, fieldErrors.required('spec')];
  const group = spec['group'];
  const names = child(spec, 'names') ?? {};
  const plural = names['plural'];
  if (typeof group !== 'string' || group === '') errors.push(fieldErrors.required('spec.group'));
  else if (!group.includes('.')) errors.push(fieldErrors.invalid('spec.group', group, 'should be a domain with at least one dot'));
  if (typeof plural !== 'string' || plural === '') errors.push(fieldErrors.required('spec.names.plural'));
  else errors.push(...validateName(plural, 'label', 'spec.names.plural'));
  if (typeof names['kind'] !== 'string' || names['kind'] === '') errors.push(fieldErrors.required('spec.names.kind'));
  if (typeof names['listKind'] === 'string' && names['listKind'] === names['kind']) errors.push(fieldErrors.invalid('spec.names.listKind', names['listKind'], 'kind and listKind may not be the same'));
  const name = child(obj, 'metadata')?.['name'];
  if (typeof plural === 'string' && typeof group === 'string' && name !== `${plural}.${group}`) errors.push(fieldErrors.invalid('metadata.name', name ?? '', 'must be spec.names.plural+"."+spec.group'));
  if (spec['scope'] !== 'Namespaced' && spec['scope'] !== 'Cluster') errors.push(fieldErrors.notSupported('spec.scope', spec['scope'] ?? '', ['Cluster', 'Namespaced']));
  const versions = spec['versions'];
  if (!Array.isArray(versions) || versions.length === 0) errors.push(fieldErrors.invalid('spec.versions', null, 'must have exactly one version marked as storage version'));
  else {
    if (versions.filter((v) => isObject(v) && v['storage'] === true).length !== 1) errors.push(fieldErrors.invalid('spec.versions', 'versions', 'must have exactly one version marked as storage version'));
    versions.forEach((version, index) => {
      if (!isObject(version)) return;
      const at = `spec.versions[${index}]`;
      if (typeof version['name'] !== 'string' || version['name'] === '') errors.push(fieldErrors.required(`${at}.name`));
      const schema = child(child(version, 'schema'), 'openAPIV3Schema');
      if (schema === undefined) {
        errors.push(fieldErrors.required(`${at}.schema.openAPIV3Schema`, 'schemas are required'));
        return;
      }
      checkStructural(schema, `${at}.schema.openAPIV3Schema`, errors, true);
      const compiled = new StructuralSchema(schema, `${at}.schema.openAPIV3Schema`);
      for (const error of compiled.compileErrors) errors.push(fieldErrors.invalid(error.path, error.rule, error.message));
    });
  }
  if (old !== undefined) {
    const oldSpec = child(old, 'spec') ?? {};
    if (oldSpec['scope'] !== spec['scope']) errors.push(fieldErrors.invalid('spec.scope', spec['scope'] ?? '', 'field is immutable'));
    if (oldSpec['group'] !== group) errors.push(fieldErrors.invalid('spec.group', group ?? '', 'field is immutable'));
  }
  return errors;
}

/** The strategy of `customresourcedefinitions` objects. */
export const crdStrategy: ObjectStrategy = {
  patchMeta: { fields: { metadata: { fields: { finalizers: { strategy: 'merge' } } }, status: { fields: { conditions: { strategy: 'merge', mergeKey: 'type' } } } } },
  normalize(obj) {
    const spec = isObject(obj['spec']) ? obj['spec'] : {};
    obj['spec'] = spec;
    if (spec['conversion'] === undefined) spec['conversion'] = { strategy: 'None' };
    const names = child(spec, 'names');
    if (names !== undefined) {
      if (names['singular'] === undefined && typeof names['kind'] === 'string') names['singular'] = names['kind'].toLowerCase();
      if (names['listKind'] === undefined && typeof names['kind'] === 'string') names['listKind'] = `${names['kind']}List`;
    }
  },
  prepareForCreate(obj) {
    const versions = child(obj, 'spec')?.['versions'];
    const storage = Array.isArray(versions) ? versions.find((v) => isObject(v) && v['storage'] === true) : undefined;
    obj['status'] = { conditions: null, acceptedNames: { plural: '', kind: '' }, storedVersions: isObject(storage) ? [storage['name'] ?? ''] : [] };
  },
  validate: validateCrd,
};

/** The `customresourcedefinitions` resource type itself. */
export const crdResourceType: ResourceType = {
  group: GROUP,
  version: 'v1',
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  verbs: ALL_VERBS,
  subresources: [{ name: 'status', verbs: STATUS_VERBS }],
  statusSubresource: true,
  storage: `${GROUP}/customresourcedefinitions`,
  builtin: true,
  hasGeneration: true,
  storageVersionHash: 'jfWCUB31mvA=',
  invalidKind: { kind: 'CustomResourceDefinition', group: GROUP },
  topLevelFields: ['spec', 'status'],
  strategy: crdStrategy,
};

function printerColumns(version: JsonObject): PrinterColumn[] | undefined {
  const columns = version['additionalPrinterColumns'];
  if (!Array.isArray(columns)) return undefined;
  return columns.filter(isObject).map((col) => {
    const jsonPath = String(col['jsonPath'] ?? '');
    const type = String(col['type'] ?? 'string');
    return {
      name: String(col['name'] ?? ''),
      type,
      format: typeof col['format'] === 'string' ? col['format'] : '',
      description: typeof col['description'] === 'string' ? col['description'] : `Custom resource definition column (in JSONPath format): ${jsonPath}`,
      priority: typeof col['priority'] === 'number' ? col['priority'] : 0,
      cell(obj: JsonObject, nowMs: number): unknown {
        const value = evaluateJsonPath(obj, jsonPath);
        if (value === undefined) return null;
        if (type === 'date') return ageOf(value, nowMs);
        if (isObject(value) || Array.isArray(value)) return JSON.stringify(value);
        return value;
      },
    };
  });
}

/** The resource types a CRD serves (one per served version). */
export function crdResourceTypes(crd: JsonObject): ResourceType[] {
  const spec = child(crd, 'spec') ?? {};
  const names = child(spec, 'names') ?? {};
  const group = String(spec['group']);
  const plural = String(names['plural']);
  const kind = String(names['kind']);
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  return versions
    .filter((version) => version['served'] !== false)
    .map((version) => {
      const schema = new StructuralSchema(child(child(version, 'schema'), 'openAPIV3Schema') ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
      const versionName = String(version['name']);
      const selectable = Array.isArray(version['selectableFields']) ? version['selectableFields'].filter(isObject).map((f) => String(f['jsonPath'] ?? '').replace(/^\./, '')) : [];
      const columns = printerColumns(version);
      const strategy: ObjectStrategy = {
        ...(columns === undefined ? {} : { printerColumns: columns }),
        normalize(obj, ctx) {
          const only = ctx.subresource === 'status' ? 'status' : undefined;
          const unknown = schema.prune(obj, only);
          if (unknown.length > 0) {
            if (ctx.fieldValidation === 'Strict') {
              throw new StatusError(400, 'BadRequest', `${kind} in version "${versionName}" cannot be handled as a ${kind}: strict decoding error: ${unknown.map((field) => `unknown field "${field}"`).join(', ')}`);
            }
            if (ctx.fieldValidation === 'Warn') for (const field of unknown) ctx.warnings.push(`unknown field "${field}"`);
          }
          schema.applyDefaults(obj, only);
        },
        validate(obj, old, subresource) {
          // A status write keeps the stored metadata, which was validated when it was written.
          const metaErrors = subresource === 'status' ? [] : validateObjectMeta(obj, old, 'subdomain');
          return [...metaErrors, ...schema.validate(obj, old)];
        },
        ...(selectable.length === 0
          ? {}
          : {
              selectableFields(obj: JsonObject): Record<string, string> {
                const out: Record<string, string> = {};
                for (const path of selectable) {
                  const value = evaluateJsonPath(obj, path);
                  if (value !== undefined && value !== null && typeof value !== 'object') out[path] = String(value);
                  else if (value === undefined) out[path] = '';
                }
                return out;
              },
            }),
      };
      const subresources = child(version, 'subresources');
      const hasStatus = isObject(subresources?.['status']);
      const resource: ResourceType = {
        group,
        version: versionName,
        kind,
        listKind: typeof names['listKind'] === 'string' ? names['listKind'] : `${kind}List`,
        plural,
        singular: typeof names['singular'] === 'string' ? names['singular'] : kind.toLowerCase(),
        namespaced: spec['scope'] !== 'Cluster',
        shortNames: Array.isArray(names['shortNames']) ? names['shortNames'].map(String) : [],
        categories: Array.isArray(names['categories']) ? names['categories'].map(String) : [],
        verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
        subresources: [...(hasStatus ? [{ name: 'status', verbs: STATUS_VERBS }] : []), ...(isObject(subresources?.['scale']) ? [{ name: 'scale', verbs: STATUS_VERBS, kind: 'Scale', group: 'autoscaling', version: 'v1' }] : [])],
        statusSubresource: hasStatus,
        storage: `${group}/${plural}`,
        builtin: false,
        hasGeneration: true,
        storageVersionHash: Buffer.from(`${group}/${plural}`).toString('base64').slice(0, 11) + '=',
        invalidKind: { kind, group },
        strategy,
      };
      return resource;
    });
}

/** Marks a CRD Established with its accepted names (what kube-apiserver's controllers write at once). */
export function establish(crd: JsonObject, nowIso: string): void {
  const spec = child(crd, 'spec') ?? {};
  const status = isObject(crd['status']) ? crd['status'] : {};
  const existing = Array.isArray(status['conditions']) ? status['conditions'].filter(isObject) : [];
  const keep = existing.filter((c) => c['type'] !== 'NamesAccepted' && c['type'] !== 'Established');
  const since = (type: string): Json => existing.find((c) => c['type'] === type && c['status'] === 'True')?.['lastTransitionTime'] ?? nowIso;
  status['conditions'] = [
    { type: 'NamesAccepted', status: 'True', lastTransitionTime: since('NamesAccepted'), reason: 'NoConflicts', message: 'no conflicts found' },
    { type: 'Established', status: 'True', lastTransitionTime: since('Established'), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ...keep,
  ];
  status['acceptedNames'] = child(spec, 'names') ?? {};
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  const stored = Array.isArray(status['storedVersions']) ? status['storedVersions'] : [];
  const storage = versions.find((v) => v['storage'] === true)?.['name'];
  if (typeof storage === 'string' && !stored.includes(storage)) stored.push(storage);
  status['storedVersions'] = stored;
  crd['status'] = status;
  metadataOf(crd);
}
