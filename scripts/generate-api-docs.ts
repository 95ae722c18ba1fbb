// Writes docs/API.md from the zod schemas in src/api/ (`npm run docs:api`).
import { writeFileSync } from 'node:fs';
import { renderApiReference } from '../src/api/api-reference.ts';
import { KINDS } from '../src/api/kinds.ts';

writeFileSync(new URL('../docs/API.md', import.meta.url), renderApiReference(KINDS));
console.log('wrote docs/API.md');
