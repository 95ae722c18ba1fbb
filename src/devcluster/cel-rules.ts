// CEL rules of `x-kubernetes-validations`, compiled once per CRD write and evaluated with kube's int64 semantics.
import { Environment } from '@marcbachmann/cel-js';
import { isObject, type Json, type JsonObject } from './json.ts';

type Program = (context: Record<string, unknown>) => unknown;

/** One compiled rule of a schema node. */
export interface CompiledRule {
  readonly rule: string;
  readonly message: string | undefined;
  readonly messageExpression: Program | undefined;
  readonly fieldPath: string | undefined;
  readonly reason: string | undefined;
  /** Transition rules (they mention `oldSelf`) run only on updates where an old value exists. */
  readonly transition: boolean;
  readonly program: Program;
}

/** A rule that does not compile; the CRD is rejected with this message. */
export class CelCompileError extends Error {
  override name = 'CelCompileError';
}
/** Whether an error is a {@link CelCompileError}. */
export const isCelCompileError = (error: unknown): error is CelCompileError => error instanceof CelCompileError;

const environment = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, enableOptionalTypes: true });

function compileExpression(expression: string): Program {
  try {
    return environment.parse(expression) as unknown as Program;
  } catch (error) {
    throw new CelCompileError(`compilation failed: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`, { cause: error });
  }
}

/** Compiles a node's `x-kubernetes-validations`. */
export function compileRules(validations: Json | undefined): CompiledRule[] {
  if (!Array.isArray(validations)) return [];
  return validations.filter(isObject).map((validation) => {
    const rule = String(validation['rule'] ?? '');
    const messageExpression = typeof validation['messageExpression'] === 'string' ? compileExpression(validation['messageExpression']) : undefined;
    return {
      rule,
      message: typeof validation['message'] === 'string' ? validation['message'] : undefined,
      messageExpression,
      fieldPath: typeof validation['fieldPath'] === 'string' ? validation['fieldPath'] : undefined,
      reason: typeof validation['reason'] === 'string' ? validation['reason'] : undefined,
      transition: /\boldSelf\b/.test(rule),
      program: compileExpression(rule),
    };
  });
}

/**
 * Converts a JSON value to a CEL value following its schema: `integer` becomes BigInt (CEL int is int64),
 * `number` stays a double, objects and lists are converted recursively.
 */
export function toCelValue(value: Json | undefined, schema: JsonObject | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number') {
    const type = schema?.['type'];
    if (type === 'integer' || (type === undefined && Number.isInteger(value) && schema?.['x-kubernetes-int-or-string'] === true)) return BigInt(value);
    return value;
  }
  if (Array.isArray(value)) {
    const items = isObject(schema?.['items']) ? schema['items'] : undefined;
    return value.map((item) => toCelValue(item, items));
  }
  if (isObject(value)) {
    const properties = isObject(schema?.['properties']) ? schema['properties'] : undefined;
    const additional = isObject(schema?.['additionalProperties']) ? schema['additionalProperties'] : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const itemSchema = properties?.[key];
      out[key] = toCelValue(item, isObject(itemSchema) ? itemSchema : additional);
    }
    return out;
  }
  return value;
}

/** The outcome of one rule: undefined when it passed, else the message to report. */
export function evaluateRule(rule: CompiledRule, self: unknown, oldSelf: unknown): string | undefined {
  let passed: unknown;
  try {
    passed = rule.program(oldSelf === undefined ? { self } : { self, oldSelf });
  } catch (error) {
    return `${rule.message ?? `failed rule: ${rule.rule}`}: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`;
  }
  if (passed === true) return undefined;
  if (rule.messageExpression !== undefined) {
    try {
      const message = rule.messageExpression(oldSelf === undefined ? { self } : { self, oldSelf });
      if (typeof message === 'string' && message.trim() !== '') return message;
    } catch {
      // kube-apiserver falls back to the static message when messageExpression fails.
    }
  }
  return rule.message ?? `failed rule: ${rule.rule}`;
}
