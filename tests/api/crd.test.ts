import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { crdFileName, customResourceDefinition, isStructuralSchemaError, openApiSchemaOf, renderCrdYaml } from '../../src/api/crd.ts';
import { DEPLOY_KIND } from '../../src/api/deploy.ts';
import { API_CATEGORY, API_GROUP, API_VERSION } from '../../src/api/group-version.ts';
import type { KindDefinition } from '../../src/api/kind-definition.ts';
import { KINDS } from '../../src/api/kinds.ts';
import { structuralProblems, structuralSchema, type SchemaNode } from '../../src/api/structural-schema.ts';
import { withValidationRules } from '../../src/api/validation-rules.ts';

const crdsDir = new URL('../../crds/', import.meta.url);

/** Every schema node of a CRD with its path, for rules that hold everywhere. */
function nodes(node: SchemaNode, path: string, into: [string, SchemaNode][] = []): [string, SchemaNode][] {
  into.push([path, node]);
  for (const [name, child] of Object.entries(node.properties ?? {})) nodes(child, `${path}.${name}`, into);
  if (node.items !== undefined) nodes(node.items, `${path}[]`, into);
  if (typeof node.additionalProperties === 'object') nodes(node.additionalProperties, `${path}[*]`, into);
  return into;
}

function committedSchema(kind: KindDefinition): SchemaNode {
  const crd = parse(readFileSync(new URL(`${kind.names.plural}.${API_GROUP}.yaml`, crdsDir), 'utf8')) as ReturnType<typeof customResourceDefinition>;
  return crd.spec.versions[0]?.schema.openAPIV3Schema as SchemaNode;
}

describe('committed CRDs', () => {
  it('are exactly what the zod schemas generate (run `npm run crds:generate` when this fails)', () => {
    const expected = new Map(KINDS.map((kind) => customResourceDefinition(kind)).map((crd) => [crdFileName(crd), renderCrdYaml(crd)]));
    expect(readdirSync(crdsDir).sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) {
      const committed = readFileSync(new URL(file, crdsDir), 'utf8');
      expect(committed, `crds/${file} is stale: run \`npm run crds:generate\` and commit the result`).toBe(text);
    }
  });

  for (const kind of KINDS) {
    describe(kind.names.kind, () => {
      const crd = parse(readFileSync(new URL(`${kind.names.plural}.${API_GROUP}.yaml`, crdsDir), 'utf8')) as ReturnType<typeof customResourceDefinition>;
      const version = crd.spec.versions[0];
      const schema = committedSchema(kind);

      it('is namespaced, in category blackroad, with short names and a served, stored v1alpha1 with a status subresource', () => {
        expect(crd.metadata.name).toBe(`${kind.names.plural}.${API_GROUP}`);
        expect(crd.spec.scope).toBe('Namespaced');
        expect(crd.spec.names.categories).toEqual([API_CATEGORY]);
        expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
        expect(crd.spec.versions).toHaveLength(1);
        expect(version).toMatchObject({ name: API_VERSION, served: true, storage: true, subresources: { status: {} } });
      });

      it('passes the structural-schema rules: a type on every node, descriptions on every field, nothing forbidden', () => {
        expect(structuralProblems(schema.properties?.['spec'] as SchemaNode, { path: 'spec', preserveUnknownFieldsAt: kind.preserveUnknownFieldsAt })).toEqual([]);
        expect(structuralProblems(schema.properties?.['status'] as SchemaNode, { path: 'status', preserveUnknownFieldsAt: kind.preserveUnknownFieldsAt })).toEqual([]);
        expect(schema.properties?.['metadata']).toEqual({ type: 'object' });
        const text = JSON.stringify(schema);
        for (const forbidden of ['$ref', '$schema', 'anyOf', 'oneOf', 'allOf', '"not"', 'nullable', 'uniqueItems', 'propertyNames', 'patternProperties', 'definitions']) {
          expect(text).not.toContain(forbidden);
        }
      });

      it('bounds every string, list and map, so CEL cost estimates and status size stay bounded', () => {
        for (const [path, node] of nodes(schema, '')) {
          if (path === '.apiVersion' || path === '.kind') continue;
          if (node.type === 'string' && node.enum === undefined) expect(node['maxLength'], path).toBeTypeOf('number');
          if (node.type === 'array') expect(node['maxItems'], path).toBeTypeOf('number');
          if (typeof node.additionalProperties === 'object') expect(node['maxProperties'], path).toBeTypeOf('number');
        }
      });

      it('keeps unknown fields only where the kind says it must', () => {
        const preserved = nodes(schema, '')
          .filter(([, node]) => node['x-kubernetes-preserve-unknown-fields'] === true)
          .map(([path]) => path.slice(1));
        expect(preserved).toEqual([...kind.preserveUnknownFieldsAt]);
      });

      it('names secrets only through {name, key} references', () => {
        for (const [path, node] of nodes(schema.properties?.['spec'] as SchemaNode, 'spec')) {
          const field = path.split('.').at(-1) ?? '';
          if (!/secret|token|password|credential/i.test(field)) continue;
          expect(node.type, path).toBe('object');
          expect(Object.keys(node.properties ?? {}).sort(), path).toEqual(['key', 'name']);
        }
      });

      it('has printer columns whose JSONPaths name fields of the schema', () => {
        for (const column of version?.additionalPrinterColumns ?? []) {
          const [, root, ...rest] = column.jsonPath.replace(/\[\?\(.*?\)\]/g, '[]').split('.');
          if (root === 'metadata') continue;
          let node: SchemaNode | undefined = schema.properties?.[root ?? ''];
          for (const segment of rest) node = node?.properties?.[segment.replace(/\[.*$/, '')] ?? node?.items?.properties?.[segment.replace(/\[.*$/, '')];
          expect(node, column.jsonPath).toBeDefined();
        }
      });
    });
  }

  it('gives Deploy the columns Service, Version, Phase, Ready, Age and Sweep Progress, Passed, Failed, Phase, Age', () => {
    const columns = KINDS.map((kind) => kind.printerColumns.map((column) => column.name));
    expect(columns).toEqual([
      ['Service', 'Version', 'Phase', 'Ready', 'Age'],
      ['Progress', 'Passed', 'Failed', 'Phase', 'Age'],
    ]);
  });
});

describe('structural-schema checks', () => {
  it('finds an unbounded string, an undescribed field, a missing type and a forbidden keyword', () => {
    const schema: SchemaNode = {
      description: 'root',
      type: 'object',
      properties: {
        name: { type: 'string' },
        free: { description: 'anything', anyOf: [{ type: 'string' }] },
      },
    };
    expect(structuralProblems(schema, { path: 'spec' }).map(({ path, problem }) => `${path}: ${problem}`)).toEqual([
      'spec.name: has no description',
      'spec.name: string without maxLength or enum',
      'spec.free: keyword anyOf is not allowed',
      'spec.free: has no type',
    ]);
  });

  it('refuses to generate a CRD from a schema kube-apiserver would reject', () => {
    const broken: KindDefinition = { ...DEPLOY_KIND, specSchema: z.object({ note: z.string().describe('unbounded') }).describe('spec') };
    let caught: unknown;
    try {
      customResourceDefinition(broken);
    } catch (error) {
      caught = error;
    }
    expect(isStructuralSchemaError(caught)).toBe(true);
    expect(String(caught)).toContain('spec.note: string without maxLength or enum');
  });

  it('carries CEL rules attached in zod into the schema, with fieldPath and reason', () => {
    const schema = withValidationRules(z.object({ a: z.number().int().min(0).max(9).describe('a'), b: z.number().int().min(0).max(9).describe('b') }).describe('pair'), [
      { rule: 'self.a <= self.b', message: 'a must not exceed b', fieldPath: '.a', reason: 'FieldValueForbidden', holds: (pair) => pair.a <= pair.b },
    ]);
    expect(structuralSchema(schema)['x-kubernetes-validations']).toEqual([{ rule: 'self.a <= self.b', message: 'a must not exceed b', fieldPath: '.a', reason: 'FieldValueForbidden' }]);
    expect(schema.safeParse({ a: 5, b: 1 }).error?.issues[0]).toMatchObject({ message: 'a must not exceed b', path: ['a'] });
  });

  it('describes the whole object for kubectl explain', () => {
    for (const kind of KINDS) expect(openApiSchemaOf(kind).description).toBe(kind.description);
  });
});
