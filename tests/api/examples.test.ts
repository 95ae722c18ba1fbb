import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { openApiSchemaOf } from '../../src/api/crd.ts';
import { DEPLOY_PROVIDERS } from '../../src/api/deploy.ts';
import { findKind } from '../../src/api/kinds.ts';
import type { SchemaNode } from '../../src/api/structural-schema.ts';
import { validateObject } from '../../src/api/validate-object.ts';
import { admit } from './crd-model.ts';

const dir = new URL('../../examples/', import.meta.url);
const documents = readdirSync(dir)
  .filter((name) => name.endsWith('.yaml'))
  .flatMap((name) => parseAllDocuments(readFileSync(new URL(name, dir), 'utf8')).map((document) => ({ name, value: document.toJS() as Record<string, unknown> })))
  .filter(({ value }) => findKind(value['apiVersion'], value['kind']) !== undefined);

describe('examples/', () => {
  it('holds a Deploy for every provider and a Sweep', () => {
    const providers = documents.filter(({ value }) => value['kind'] === 'Deploy').flatMap(({ value }) => Object.keys((value['spec'] as { provider: object }).provider));
    expect(providers.sort()).toEqual([...DEPLOY_PROVIDERS].sort());
    expect(documents.some(({ value }) => value['kind'] === 'Sweep')).toBe(true);
  });

  for (const { name, value } of documents) {
    it(`${name}: ${String(value['kind'])} is valid for zod and for the generated CRD`, () => {
      expect(validateObject(value).errors).toEqual([]);
      const kind = findKind(value['apiVersion'], value['kind']);
      const spec = kind === undefined ? undefined : (openApiSchemaOf(kind).properties?.['spec'] as SchemaNode);
      expect(spec === undefined ? ['no kind'] : admit(spec, value['spec'], 'spec').errors).toEqual([]);
    });
  }
});
