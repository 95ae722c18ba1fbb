// A strict parser of the Prometheus text exposition format (0.0.4), so tests assert on parsed samples, not substrings.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(raw: string, line: number): number {
  // Case-insensitive, as Prometheus's own parser (Go's strconv.ParseFloat) reads them.
  const lowered = raw.toLowerCase();
  if (lowered === '+inf' || lowered === 'inf') return Number.POSITIVE_INFINITY;
  if (lowered === '-inf') return Number.NEGATIVE_INFINITY;
  if (lowered === 'nan') return Number.NaN;
  const value = Number(raw);
  if (raw === '' || Number.isNaN(value)) throw new Error(`line ${line}: bad sample value ${JSON.stringify(raw)}`);
  return value;
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    while (text[i] === ' ') i += 1;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const name = LABEL_NAME.exec(text.slice(i))?.[0];
    if (name === undefined) throw new Error(`line ${line}: bad label name at ${JSON.stringify(text.slice(i))}`);
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') throw new Error(`line ${line}: expected ="..." after label ${name}`);
    i += 2;
    let value = '';
    for (;;) {
      const ch = text[i];
      if (ch === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (ch === '"') break;
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next ?? ''}`);
        i += 2;
      } else {
        value += ch;
        i += 1;
      }
    }
    i += 1;
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    labels[name] = value;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
}

/** Parses an exposition; throws on anything malformed (unknown TYPE, sample of an undeclared family, bad escapes). */
export function parsePrometheusText(body: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let found = families.get(name);
    if (found === undefined) {
      found = { name, help: '', type: 'untyped', samples: [] };
      families.set(name, found);
    }
    return found;
  };
  const owner = (sampleName: string): MetricFamily | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count', '_total', '_created']) {
      if (suffix !== '' && !sampleName.endsWith(suffix)) continue;
      const found = families.get(sampleName.slice(0, sampleName.length - suffix.length));
      if (found !== undefined) return found;
    }
    return undefined;
  };
  body.split('\n').forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === '') return;
    if (text.startsWith('# HELP ')) {
      const [, name = '', ...help] = text.split(' ').slice(1);
      const f = family(name);
      (f as { help: string }).help = help.join(' ');
      return;
    }
    if (text.startsWith('# TYPE ')) {
      const [, , name = '', type = ''] = text.split(' ');
      if (!TYPES.has(type)) throw new Error(`line ${line}: unknown metric type ${type}`);
      (family(name) as { type: string }).type = type;
      return;
    }
    if (text.startsWith('#')) return;
    const name = NAME.exec(text)?.[0];
    if (name === undefined) throw new Error(`line ${line}: bad metric name in ${JSON.stringify(text)}`);
    let rest = text.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const [value = '', timestamp] = rest.trim().split(/\s+/);
    if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new Error(`line ${line}: bad timestamp ${timestamp}`);
    const target = owner(name);
    if (target === undefined) throw new Error(`line ${line}: sample ${name} has no # TYPE family`);
    target.samples.push({ name, labels, value: parseValue(value, line) });
  });
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; throws when none or several match. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  const matches = [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${matches.length}`);
  return (matches[0] as Sample).value;
}
