// Label and field selectors of list and watch requests, parsed once per request and matched per object.
import { StatusError } from './status-error.ts';

type Requirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'notexists'; readonly key: string };

/** A parsed selector; `matches` takes the object's labels (or selectable field values). */
export interface Selector {
  readonly empty: boolean;
  readonly keys: readonly string[];
  matches(values: Readonly<Record<string, string>> | undefined): boolean;
}

export const EVERYTHING: Selector = { empty: true, keys: [], matches: () => true };

function compile(requirements: readonly Requirement[]): Selector {
  if (requirements.length === 0) return EVERYTHING;
  return {
    empty: false,
    keys: requirements.map((r) => r.key),
    matches(values) {
      for (const r of requirements) {
        const has = values !== undefined && Object.hasOwn(values, r.key);
        const value = has ? values[r.key] : undefined;
        switch (r.op) {
          case 'eq':
            if (value !== r.value) return false;
            break;
          case 'neq':
            if (value === r.value) return false;
            break;
          case 'in':
            if (!has || !r.values.includes(value as string)) return false;
            break;
          case 'notin':
            if (has && r.values.includes(value as string)) return false;
            break;
          case 'exists':
            if (!has) return false;
            break;
          case 'notexists':
            if (has) return false;
            break;
        }
      }
      return true;
    },
  };
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/** Parses a label selector (`a=b,c!=d,e in (f,g),h notin (i),j,!k`); a malformed one is a 400 like kube's. */
export function parseLabelSelector(text: string | null): Selector {
  if (text === null || text.trim() === '') return EVERYTHING;
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    let match: RegExpExecArray | null;
    if ((match = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part)) !== null) {
      const values = (match[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      requirements.push({ op: match[2] === 'in' ? 'in' : 'notin', key: match[1] as string, values });
    } else if ((match = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(part)) !== null) {
      requirements.push({ op: match[2] === '!=' ? 'neq' : 'eq', key: match[1] as string, value: match[3] as string });
    } else if ((match = /^!\s*([^\s!=(),]+)$/.exec(part)) !== null) {
      requirements.push({ op: 'notexists', key: match[1] as string });
    } else if ((match = /^([^\s!=(),]+)$/.exec(part)) !== null) {
      requirements.push({ op: 'exists', key: match[1] as string });
    } else {
      throw new StatusError(400, 'BadRequest', `unable to parse requirement: found '${part}', expected: identifier`);
    }
  }
  return compile(requirements);
}

/**
 * Parses a field selector (`metadata.name=x,spec.color!=red`) against the labels a resource supports;
 * an unsupported label is a 400 `field label not supported: <label>`.
 */
export function parseFieldSelector(text: string | null, supported: (label: string) => boolean): Selector {
  if (text === null || text.trim() === '') return EVERYTHING;
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const match = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (match === null) throw new StatusError(400, 'BadRequest', `invalid selector: '${text}'; can't understand '${part}'`);
    const key = (match[1] as string).trim();
    if (!supported(key)) throw new StatusError(400, 'BadRequest', `field label not supported: ${key}`);
    requirements.push({ op: match[2] === '!=' ? 'neq' : 'eq', key, value: (match[3] as string).trim() });
  }
  return compile(requirements);
}
