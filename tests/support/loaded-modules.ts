// Preloaded into a child process with `--import`: records every module the process loads (ESM and CommonJS) and
// writes their URLs, one a line, to the file LOADED_MODULES_FILE names when the process exits.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env['LOADED_MODULES_FILE'];
const loaded = new Set<string>();

registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});

process.on('exit', () => {
  if (file !== undefined && file !== '') writeFileSync(file, [...loaded].join('\n'));
});
