// Writes crds/*.yaml from the zod schemas in src/api/ (`npm run crds:generate`), and the copy kustomize installs from manifests/crds/.
import { writeFileSync } from 'node:fs';
import { crdFileName, customResourceDefinition, renderCrdYaml } from '../src/api/crd.ts';
import { KINDS } from '../src/api/kinds.ts';

// kustomize loads no file from outside a kustomization's folder, so manifests/ keeps its own generated copy.
for (const folder of ['crds', 'manifests/crds']) {
  for (const kind of KINDS) {
    const crd = customResourceDefinition(kind);
    const file = new URL(`../${folder}/${crdFileName(crd)}`, import.meta.url);
    writeFileSync(file, renderCrdYaml(crd));
    console.log(`wrote ${folder}/${crdFileName(crd)}`);
  }
}
