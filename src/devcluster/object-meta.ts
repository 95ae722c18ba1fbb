// Validation of metadata shared by every kind: names, labels, annotations, finalizers, as kube-apiserver words it.
import { isObject, type Json, type JsonObject } from './json.ts';
import { fieldErrors, type FieldError } from './status-error.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export type NameRule = 'subdomain' | 'label' | 'path';

const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** Errors of a name under one of kube's naming rules (`metadata.name` by default). */
export function validateName(name: string, rule: NameRule, field = 'metadata.name'): FieldError[] {
  if (rule === 'path') {
    if (name === '.' || name === '..') return [fieldErrors.invalid(field, name, `may not be '${name}'`)];
    if (name.includes('/') || name.includes('%')) return [fieldErrors.invalid(field, name, `may not contain '${name.includes('/') ? '/' : '%'}'`)];
    return [];
  }
  if (rule === 'label') {
    const errors: FieldError[] = [];
    if (name.length > 63) errors.push(fieldErrors.invalid(field, name, 'must be no more than 63 characters'));
    if (!DNS1123_LABEL.test(name)) errors.push(fieldErrors.invalid(field, name, LABEL_MESSAGE));
    return errors;
  }
  const errors: FieldError[] = [];
  if (name.length > 253) errors.push(fieldErrors.invalid(field, name, 'must be no more than 253 characters'));
  if (!DNS1123_SUBDOMAIN.test(name)) errors.push(fieldErrors.invalid(field, name, SUBDOMAIN_MESSAGE));
  return errors;
}

function validateQualifiedName(key: string, field: string): FieldError[] {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const errors: FieldError[] = [];
  if (prefix !== undefined && (prefix === '' || !DNS1123_SUBDOMAIN.test(prefix))) errors.push(fieldErrors.invalid(field, key, 'prefix part ' + SUBDOMAIN_MESSAGE));
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    errors.push(
      fieldErrors.invalid(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    );
  }
  return errors;
}

function validateLabels(labels: Json | undefined, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isObject(labels)) return [fieldErrors.typeInvalid(field, labels, 'must be a map of strings')];
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels)) {
    errors.push(...validateQualifiedName(key, field));
    if (typeof value !== 'string') errors.push(fieldErrors.typeInvalid(`${field}`, value, 'must be a string'));
    else if (value.length > 63 || !LABEL_VALUE.test(value)) {
      errors.push(
        fieldErrors.invalid(
          field,
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  return errors;
}

/** Errors of `metadata` on create and update: name, labels, annotations, finalizers, the immutable fields. */
export function validateObjectMeta(obj: JsonObject, old: JsonObject | undefined, rule: NameRule): FieldError[] {
  const meta = isObject(obj['metadata']) ? obj['metadata'] : {};
  const errors: FieldError[] = [];
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') errors.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  else errors.push(...validateName(name, rule));
  errors.push(...validateLabels(meta['labels'], 'metadata.labels'));
  const annotations = meta['annotations'];
  if (annotations !== undefined && annotations !== null) {
    if (!isObject(annotations)) errors.push(fieldErrors.typeInvalid('metadata.annotations', annotations, 'must be a map of strings'));
    else {
      let size = 0;
      for (const [key, value] of Object.entries(annotations)) {
        errors.push(...validateQualifiedName(key.toLowerCase(), 'metadata.annotations'));
        size += key.length + (typeof value === 'string' ? value.length : 0);
      }
      if (size > 262144) errors.push(fieldErrors.tooLong('metadata.annotations', 262144));
    }
  }
  const finalizers = meta['finalizers'];
  if (finalizers !== undefined && finalizers !== null && !Array.isArray(finalizers)) errors.push(fieldErrors.typeInvalid('metadata.finalizers', finalizers, 'must be a list of strings'));
  if (old !== undefined) {
    const oldMeta = isObject(old['metadata']) ? old['metadata'] : {};
    for (const key of ['uid', 'creationTimestamp'] as const) {
      if (meta[key] !== undefined && meta[key] !== oldMeta[key]) errors.push(fieldErrors.invalid(`metadata.${key}`, meta[key], 'field is immutable'));
    }
    if (oldMeta['deletionTimestamp'] !== undefined) {
      const before = Array.isArray(oldMeta['finalizers']) ? oldMeta['finalizers'] : [];
      const after = Array.isArray(finalizers) ? finalizers : [];
      const added = after.filter((item) => !before.includes(item));
      if (added.length > 0) {
        const detail = `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((item) => JSON.stringify(item)).join(', ')}}`;
        // kube-apiserver reports this cause twice (metadata validation runs for the object and its update).
        errors.push(fieldErrors.forbidden('metadata.finalizers', detail), fieldErrors.forbidden('metadata.finalizers', detail));
      }
    }
  }
  return errors;
}

/** Renders a string map as Go prints `map[string]string` in field errors. */
export function goStringMap(map: JsonObject | undefined): string {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
}
