// Builds the CustomResourceDefinition of a kind from its zod schemas, and renders CRDs as YAML.
import { stringify } from 'yaml';
import { API_CATEGORY, API_GROUP, API_VERSION } from './group-version.ts';
import type { KindDefinition, PrinterColumn } from './kind-definition.ts';
import { structuralProblems, structuralSchema, type SchemaNode, type StructuralProblem } from './structural-schema.ts';

/** An apiextensions.k8s.io/v1 CustomResourceDefinition, as much of it as this operator writes. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    scope: 'Namespaced';
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields?: { jsonPath: string }[];
      schema: { openAPIV3Schema: SchemaNode };
    }[];
  };
}

/** Raised when a kind's schema would not be accepted by kube-apiserver as a structural schema. */
export class StructuralSchemaError extends Error {
  override readonly name = 'StructuralSchemaError';
  readonly problems: readonly StructuralProblem[];

  constructor(kind: string, problems: readonly StructuralProblem[], options?: ErrorOptions) {
    super(`the schema of ${kind} is not structural: ${problems.map(({ path, problem }) => `${path}: ${problem}`).join('; ')}`, options);
    this.problems = problems;
  }
}

export function isStructuralSchemaError(error: unknown): error is StructuralSchemaError {
  return error instanceof StructuralSchemaError;
}

/** The openAPIV3Schema of a kind: apiVersion, kind and metadata as kube-apiserver expects them, spec and status from zod. */
export function openApiSchemaOf(kind: KindDefinition): SchemaNode {
  return {
    description: kind.description,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: { description: 'Versioned schema of this representation of an object.', type: 'string' },
      kind: { description: 'REST resource this object represents.', type: 'string' },
      // kube-apiserver owns metadata: a CRD may only say it is an object.
      metadata: { type: 'object' },
      spec: structuralSchema(kind.specSchema),
      status: structuralSchema(kind.statusSchema),
    },
  };
}

/** Structural-schema problems of a kind's generated schema; empty when kube-apiserver would accept it. */
export function problemsOf(kind: KindDefinition, schema: SchemaNode = openApiSchemaOf(kind)): StructuralProblem[] {
  const options = { preserveUnknownFieldsAt: kind.preserveUnknownFieldsAt };
  const spec = schema.properties?.['spec'];
  const status = schema.properties?.['status'];
  return [
    ...(spec === undefined ? [{ path: 'spec', problem: 'missing' }] : structuralProblems(spec, { ...options, path: 'spec' })),
    ...(status === undefined ? [{ path: 'status', problem: 'missing' }] : structuralProblems(status, { ...options, path: 'status' })),
  ];
}

/**
 * The CRD of a kind, version v1alpha1 served and stored, with the status subresource.
 *
 * Guarantees: throws {@link StructuralSchemaError} instead of returning a CRD kube-apiserver would refuse.
 */
export function customResourceDefinition(kind: KindDefinition): CustomResourceDefinition {
  const schema = openApiSchemaOf(kind);
  const problems = problemsOf(kind, schema);
  if (problems.length > 0) throw new StructuralSchemaError(kind.names.kind, problems);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${kind.names.plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'blackroad-os-operator', 'app.kubernetes.io/part-of': 'blackroad-os-operator' },
    },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: { ...kind.names, shortNames: [...kind.names.shortNames], categories: [API_CATEGORY] },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: kind.printerColumns.map((column) => ({ ...column })),
          ...(kind.selectableFields.length === 0 ? {} : { selectableFields: kind.selectableFields.map((jsonPath) => ({ jsonPath })) }),
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}

/** The file a CRD is committed as, under `crds/`. */
export function crdFileName(crd: CustomResourceDefinition): string {
  return `${crd.metadata.name}.yaml`;
}

const HEADER = '# Generated from the zod schemas in src/api/ by `npm run crds:generate`; do not edit.\n';

/** One CRD as a YAML document, the way it is committed. */
export function renderCrdYaml(crd: CustomResourceDefinition): string {
  return HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Several CRDs as one multi-document YAML stream, for `blackroad-operator crds | kubectl apply -f -`. */
export function renderCrdsYaml(crds: readonly CustomResourceDefinition[]): string {
  return crds.map((crd) => `---\n${stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
