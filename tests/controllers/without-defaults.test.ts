import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { structuralSchema } from '../../src/api/structural-schema.ts';
import { withoutDefaults } from '../../src/controllers/without-defaults.ts';

const schema = z.object({
  name: z.string().describe('Required, no default.'),
  mode: z.enum(['fast', 'safe']).default('safe').describe('Defaulted.'),
  limits: z
    .object({ cpu: z.number().default(1).describe('Defaulted.'), memory: z.number().default(256).describe('Defaulted.') })
    .prefault({})
    .describe('Every field defaulted.'),
  items: z.array(z.object({ id: z.string().describe('Id.'), weight: z.number().default(1).describe('Defaulted.') })).describe('A list.'),
});
const node = structuralSchema(schema);

describe('withoutDefaults', () => {
  it('leaves out every field that holds its default, at any depth and in list items, and an object left empty whose default is empty', () => {
    const parsed = schema.parse({ name: 'a', items: [{ id: 'x' }, { id: 'y', weight: 3 }] });
    expect(withoutDefaults(parsed, node)).toEqual({ name: 'a', items: [{ id: 'x' }, { id: 'y', weight: 3 }] });
  });

  it('keeps every value other than the default, and fields the schema does not describe', () => {
    const parsed = { ...schema.parse({ name: 'a', mode: 'fast', limits: { memory: 512 }, items: [] }), extra: { cpu: 1 } };
    expect(withoutDefaults(parsed, node)).toEqual({ name: 'a', mode: 'fast', limits: { memory: 512 }, items: [], extra: { cpu: 1 } });
  });
});
