import { describe, expect, it } from 'vitest';
import { probeKubectl, renderKustomization, theOne, type Manifest } from '../support/kustomize.ts';
import { anchorOf, documentedMetrics, headings, OPERATIONS_DOC, operationsText, section, type DocumentedMetric } from './operations-doc.ts';
import { promqlReferences, withoutGrafanaMacros, type PromqlReferences } from './promql.ts';

const RUNBOOK = `https://github.com/blackroad-os/blackroad-os-operator/blob/main/${OPERATIONS_DOC}#`;
/** The metrics Service's name, which Prometheus makes the job label of every scraped series. */
const JOB = 'blackroad-os-operator-metrics';
/** Labels Prometheus adds to every series it scrapes through a ServiceMonitor. */
const TARGET_LABELS = ['namespace', 'pod', 'job', 'instance', 'service', 'container', 'endpoint'];
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** The documented metric a series name belongs to (a histogram's _bucket, _sum and _count included), or undefined. */
function documentedSeries(series: string, metrics: ReadonlyMap<string, DocumentedMetric>): { metric: DocumentedMetric; bucket: boolean } | undefined {
  const exact = metrics.get(series);
  if (exact !== undefined) return { metric: exact, bucket: false };
  for (const suffix of HISTOGRAM_SUFFIXES) {
    const base = metrics.get(series.slice(0, -suffix.length));
    if (series.endsWith(suffix) && base?.type === 'histogram') return { metric: base, bucket: suffix === '_bucket' };
  }
  return undefined;
}

/** Why an expression does not keep to the documented metrics and labels; empty when it does. */
function undocumentedReferences(references: PromqlReferences, metrics: ReadonlyMap<string, DocumentedMetric>): string[] {
  const problems: string[] = [];
  const allowed = new Set(TARGET_LABELS);
  for (const { metric } of references.selectors) {
    const found = documentedSeries(metric, metrics);
    if (found === undefined) {
      problems.push(`${metric} is not in the metrics table of ${OPERATIONS_DOC}`);
      continue;
    }
    for (const label of found.metric.labels) allowed.add(label);
    if (found.bucket) allowed.add('le');
  }
  for (const label of references.labels) if (!allowed.has(label)) problems.push(`label ${label} belongs to none of the metrics used`);
  return problems;
}

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly uid: string };
  readonly targets?: { readonly expr: string }[];
  /** A collapsed row keeps its panels here. */
  readonly panels?: Panel[];
}

interface Dashboard {
  readonly uid: string;
  readonly panels: Panel[];
  readonly templating: { readonly list: { readonly query?: unknown }[] };
}

function expressionsOf(dashboard: Dashboard): string[] {
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const targets = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  // Grafana's label_values(selector, label) names a selector; only that part is PromQL.
  const variables = dashboard.templating.list.flatMap((variable) => {
    const query = typeof variable.query === 'object' && variable.query !== null ? (variable.query as { query: string }).query : variable.query;
    const selector = typeof query === 'string' ? /^label_values\((.+), *[a-zA-Z_]+\)$/.exec(query)?.[1] : undefined;
    return selector === undefined ? [] : [selector];
  });
  return [...targets, ...variables].map(withoutGrafanaMacros);
}

const metrics = documentedMetrics();
const kubectl = probeKubectl('monitoring and dashboards');

describe(`the metrics table of ${OPERATIONS_DOC}`, () => {
  it("lists controller-runtime's metrics and the operator's own, named by the Prometheus conventions", () => {
    expect(metrics.size).toBeGreaterThanOrEqual(25);
    for (const metric of metrics.values()) {
      expect(metric.name.endsWith('_total'), metric.name).toBe(metric.type === 'counter');
      if (metric.type === 'histogram') expect(metric.name, metric.name).toMatch(/_seconds$/);
      expect(metric.name).toMatch(/^(controller_runtime|workqueue|leader_election|rest_client|blackroad)_/);
    }
    expect(metrics.get('controller_runtime_reconcile_total')?.labels).toEqual(['controller', 'result']);
    expect(metrics.get('blackroad_circuit_breaker_state')?.labels).toEqual(['breaker']);
    expect(metrics.get('blackroad_sweep_units_running')?.labels).toEqual([]);
  });

  it('rejects an undocumented metric and a label that none of the metrics used has', () => {
    expect(undocumentedReferences(promqlReferences('sum by (controller) (rate(controller_runtime_reconcile_total[5m]))'), metrics)).toEqual([]);
    expect(undocumentedReferences(promqlReferences('rate(controller_runtime_reconcile_count[5m])'), metrics)).toHaveLength(1);
    expect(undocumentedReferences(promqlReferences('sum by (breaker) (rate(controller_runtime_reconcile_total[5m]))'), metrics)).toHaveLength(1);
    expect(undocumentedReferences(promqlReferences('histogram_quantile(0.9, sum by (le) (rate(workqueue_depth_bucket[5m])))'), metrics)).toHaveLength(2);
  });

  it('has working links between its own sections', () => {
    const anchors = new Set(headings().map((heading) => anchorOf(heading.text)));
    const links = [...operationsText.matchAll(/\]\(#([^)]+)\)/g)].map((match) => match[1] ?? '');
    expect(links.length).toBeGreaterThan(10);
    for (const link of links) expect(anchors, `#${link}`).toContain(link);
  });
});

describe.skipIf(!kubectl.available)('manifests/monitoring', () => {
  const rules = () => {
    const rule = theOne(renderKustomization('manifests/monitoring'), 'PrometheusRule') as Manifest & { spec: { groups: { rules: AlertRule[] }[] } };
    return rule.spec.groups.flatMap((group) => group.rules);
  };

  it('alerts on reconcile errors, queue depth, an open breaker, a stale watch, rollbacks and erroring sweeps', () => {
    const used = new Set(rules().flatMap((rule) => promqlReferences(rule.expr).selectors.map((selector) => selector.metric)));
    for (const metric of [
      'controller_runtime_reconcile_errors_total',
      'workqueue_depth',
      'blackroad_circuit_breaker_state',
      'blackroad_watch_last_event_age_seconds',
      'blackroad_rollbacks_total',
      'blackroad_sweep_units_total',
    ]) {
      expect(used, metric).toContain(metric);
    }
  });

  it(`links every alert to a section of the runbook in ${OPERATIONS_DOC} named after it, and every section to an alert`, () => {
    const runbook = headings(section('Alerts runbook')).filter((heading) => heading.level === 3);
    const anchors = new Set(headings().map((heading) => anchorOf(heading.text)));
    for (const rule of rules()) {
      expect(rule.annotations['runbook_url'], rule.alert).toBe(`${RUNBOOK}${anchorOf(rule.alert)}`);
      expect(anchors, rule.alert).toContain(anchorOf(rule.alert));
    }
    expect(runbook.map((heading) => heading.text).sort()).toEqual(rules().map((rule) => rule.alert).sort());
  });

  it('gives every alert a severity, a summary and a description', () => {
    for (const rule of rules()) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels['severity']);
      expect(rule.annotations['summary'], rule.alert).toBeTruthy();
      expect(rule.annotations['description'], rule.alert).toBeTruthy();
    }
  });

  it(`writes every alert in valid PromQL over the documented metrics of the job ${JOB} only`, () => {
    for (const rule of rules()) {
      const references = promqlReferences(rule.expr);
      expect(undocumentedReferences(references, metrics), rule.alert).toEqual([]);
      for (const selector of references.selectors) expect(selector.matchers.get('job'), `${rule.alert}: ${selector.metric}`).toBe(JOB);
    }
  });

  it(`scrapes the Service whose name is the job label, ${JOB}`, () => {
    const monitor = theOne(renderKustomization('manifests/monitoring'), 'ServiceMonitor') as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; jobLabel?: string }[]; jobLabel?: string } };
    const service = theOne(renderKustomization('manifests/overlays/prod'), 'Service') as Manifest & { spec: { ports: { name: string }[] } };
    expect(service.metadata.name).toBe(JOB);
    expect(monitor.spec.jobLabel).toBeUndefined();
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints.map((endpoint) => endpoint.port)).toEqual(service.spec.ports.map((port) => port.name));
  });
});

describe.skipIf(!kubectl.available)('manifests/grafana', () => {
  const dashboard = () => {
    const configMap = theOne(renderKustomization('manifests/grafana'), 'ConfigMap') as Manifest & { data: Record<string, string> };
    expect(configMap.metadata.labels?.['grafana_dashboard']).toBe('1');
    return JSON.parse(configMap.data['blackroad-os-operator.json'] ?? '') as Dashboard;
  };

  it('ships the dashboard JSON in a ConfigMap that Grafana’s sidecar picks up', () => {
    expect(dashboard().uid).toBe('blackroad-os-operator');
  });

  it(`queries only documented metrics and labels of the job ${JOB}, in valid PromQL`, () => {
    const expressions = expressionsOf(dashboard());
    expect(expressions.length).toBeGreaterThan(20);
    for (const expr of expressions) {
      const references = promqlReferences(expr);
      expect(undocumentedReferences(references, metrics), expr).toEqual([]);
      for (const selector of references.selectors) expect(selector.matchers.get('job'), expr).toBe(JOB);
    }
  });

  it('charts every documented metric', () => {
    const charted = new Set(expressionsOf(dashboard()).flatMap((expr) => promqlReferences(expr).selectors.map((selector) => documentedSeries(selector.metric, metrics)?.metric.name)));
    expect([...metrics.keys()].filter((name) => !charted.has(name))).toEqual([]);
  });

  it('lays panels out without overlap, each with its own id, reading the chosen data source', () => {
    const panels = dashboard().panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const panel of panels) {
      if (panel.type !== 'row') expect(panel.datasource?.uid, String(panel.id)).toBe('${datasource}');
      for (let x = panel.gridPos.x; x < panel.gridPos.x + panel.gridPos.w; x += 1) {
        for (let y = panel.gridPos.y; y < panel.gridPos.y + panel.gridPos.h; y += 1) {
          expect(cells.has(`${x},${y}`), `panel ${panel.id} overlaps another at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
  });
});
