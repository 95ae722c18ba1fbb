// Renders the shipped kustomizations with the real `kubectl kustomize`, so tests read exactly what `kubectl apply -k` sends.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository's root folder, with a trailing slash. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A Kubernetes object as YAML gives it: only apiVersion, kind and metadata are known. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface KubectlProbe {
  readonly available: boolean;
  readonly reason: string;
}

/** Checks once that `kubectl` runs; when it does not, prints why the suite is skipped. */
export function probeKubectl(suite: string): KubectlProbe {
  const result = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (result.status === 0) return { available: true, reason: '' };
  const reason = result.error?.message ?? result.stderr.trim();
  console.warn(`SKIPPED ${suite}: kubectl does not run (${reason}); install kubectl v1.32 or later`);
  return { available: false, reason };
}

const rendered = new Map<string, Manifest[]>();

/**
 * Runs `kubectl kustomize` on a folder of the repository (`manifests/overlays/prod`) and parses every document.
 *
 * Errors: throws with kubectl's message when the kustomization does not build, or when a document is not valid YAML.
 */
export function renderKustomization(folder: string): Manifest[] {
  const cached = rendered.get(folder);
  if (cached !== undefined) return cached;
  const result = spawnSync('kubectl', ['kustomize', folder], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${folder} failed: ${result.error?.message ?? result.stderr.trim()}`);
  const manifests = parseAllDocuments(result.stdout).map((document, index) => {
    if (document.errors.length > 0) throw new Error(`kubectl kustomize ${folder}: document ${index} is not valid YAML: ${document.errors[0]?.message ?? ''}`);
    return document.toJS() as Manifest;
  });
  rendered.set(folder, manifests);
  return manifests;
}

/** The one object of a kind (and name, when given) in a rendered set; throws when there is not exactly one. */
export function theOne(manifests: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind && (name === undefined || manifest.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  return found[0] as Manifest;
}
