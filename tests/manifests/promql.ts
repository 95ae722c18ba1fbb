// Reads PromQL with Prometheus's own grammar (lezer-promql), so tests see the metrics and labels an expression really uses.
import { parser } from '@prometheus-io/lezer-promql';

/** One vector selector: the metric it names and its label matchers (label → matched string). */
export interface Selector {
  readonly metric: string;
  readonly matchers: ReadonlyMap<string, string>;
}

export interface PromqlReferences {
  readonly selectors: readonly Selector[];
  /** Every label name the expression uses: in matchers and in by/without/on/ignoring/group_* lists. */
  readonly labels: readonly string[];
}

/** Grafana's interval macros replaced by durations, so a dashboard query is plain PromQL. */
export function withoutGrafanaMacros(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');
}

/**
 * Parses an expression and lists what it references.
 *
 * Errors: throws naming the position of the first syntax error (lezer recovers from errors; a PromQL server would not).
 */
export function promqlReferences(expr: string): PromqlReferences {
  const tree = parser.parse(expr);
  const selectors: Selector[] = [];
  const labels: string[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  tree.iterate({
    enter(node) {
      if (node.type.isError) throw new Error(`PromQL syntax error at ${node.from} in ${JSON.stringify(expr)}`);
      if (node.name === 'LabelName') labels.push(text(node.from, node.to));
      if (node.name !== 'VectorSelector') return;
      const selector = node.node;
      const identifier = selector.getChild('Identifier');
      if (identifier === null) throw new Error(`a selector without a metric name in ${JSON.stringify(expr)}: name every metric`);
      const matchers = new Map<string, string>();
      for (const matcher of selector.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const name = matcher.getChild('LabelName');
        const value = matcher.getChild('StringLiteral');
        if (name !== null && value !== null) matchers.set(text(name.from, name.to), JSON.parse(text(value.from, value.to)) as string);
      }
      selectors.push({ metric: text(identifier.from, identifier.to), matchers });
    },
  });
  return { selectors, labels };
}
