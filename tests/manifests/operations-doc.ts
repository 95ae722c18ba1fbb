// Reads docs/OPERATIONS.md as data: its heading anchors and the table of metrics the dashboards and alerts rely on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/kustomize.ts';

export const OPERATIONS_DOC = 'docs/OPERATIONS.md';
export const operationsText = readFileSync(join(REPO_ROOT, OPERATIONS_DOC), 'utf8');

export interface DocumentedMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labels: readonly string[];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Headings of the document, in order, with their level. */
export function headings(markdown: string = operationsText): { level: number; text: string }[] {
  return [...markdown.matchAll(/^(#{1,6}) (.+)$/gm)].map((match) => ({ level: match[1]?.length ?? 0, text: match[2] ?? '' }));
}

/** The text of the section under a `## ` heading, up to the next `## ` heading. */
export function section(title: string, markdown: string = operationsText): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`${OPERATIONS_DOC} has no section "## ${title}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The metrics table of the "Metrics" section: name, type and labels of every metric the operator promises. */
export function documentedMetrics(): Map<string, DocumentedMetric> {
  const rows = [...section('Metrics').matchAll(/^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| (counter|gauge|histogram) \| ([^|]*) \|/gm)];
  const metrics = new Map<string, DocumentedMetric>();
  for (const [, name = '', type, labelCell = ''] of rows) {
    if (metrics.has(name)) throw new Error(`${OPERATIONS_DOC} lists ${name} twice`);
    const labels = [...labelCell.matchAll(/`([a-zA-Z_][a-zA-Z0-9_]*)`/g)].map((match) => match[1] ?? '');
    metrics.set(name, { name, type: type as DocumentedMetric['type'], labels });
  }
  return metrics;
}

/** The requests and limits of the "Sizing" section's first table, shaped as a container's `resources`. */
export function documentedResources(): { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } } {
  const row = (name: string) => {
    const match = new RegExp(`^\\| ${name} \\| \`([^\`]+)\` \\| \`([^\`]+)\` \\|$`, 'm').exec(section('Sizing'));
    if (match?.[1] === undefined || match[2] === undefined) throw new Error(`${OPERATIONS_DOC}: the Sizing table has no "${name}" row`);
    return { cpu: match[1], memory: match[2] };
  };
  return { requests: row('Request'), limits: row('Limit') };
}
