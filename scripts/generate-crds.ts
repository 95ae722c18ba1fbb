// Writes crds/*.yaml from the zod schemas in src/api/ (`npm run crds:generate`).
import { writeFileSync } from 'node:fs';
import { crdFileName, customResourceDefinition, renderCrdYaml } from '../src/api/crd.ts';
import { KINDS } from '../src/api/kinds.ts';

for (const kind of KINDS) {
  const crd = customResourceDefinition(kind);
  const file = new URL(`../crds/${crdFileName(crd)}`, import.meta.url);
  writeFileSync(file, renderCrdYaml(crd));
  console.log(`wrote crds/${crdFileName(crd)}`);
}
