// `blackroad-operator validate -f FILE`: checks manifests offline against the schemas the CRDs are made from.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ObjectValidation } from '../api/validate-object.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Command, type CommandIo } from './command.ts';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

const HELP = [
  'Checks Deploy and Sweep manifests offline: apiVersion and kind, unknown fields, types, bounds, defaults',
  'and the rules the API server enforces with CEL. Errors read as kube-apiserver words them.',
  'Objects of other API groups are reported as skipped; the items of a v1 List are checked one by one.',
  '',
  'Usage:',
  '  blackroad-operator validate -f FILE [-f FILE ...]',
  '',
  'Flags:',
  '  -f, --filename  a YAML or JSON file (several documents allowed), a directory of them, or - for stdin',
  '',
  'Exit codes: 0 every object is valid, 1 an object or document is invalid, 2 usage error or unreadable file.',
  '',
].join('\n');

interface Source {
  readonly name: string;
  readonly text: string;
}

class UnreadableError extends Error {
  override readonly name = 'UnreadableError';
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** The files a `-f` argument names: stdin, one file, or the manifests of a directory in name order. */
async function sourcesOf(argument: string, io: CommandIo): Promise<Source[]> {
  if (argument === '-') {
    if (io.stdin === undefined) throw new UnreadableError('standard input is not available');
    return [{ name: '<stdin>', text: await readStream(io.stdin) }];
  }
  try {
    if ((await stat(argument)).isDirectory()) {
      const names = (await readdir(argument)).filter((name) => MANIFEST_EXTENSIONS.some((extension) => name.endsWith(extension))).sort();
      return await Promise.all(names.map(async (name) => ({ name: join(argument, name), text: await readFile(join(argument, name), 'utf8') })));
    }
    return [{ name: argument, text: await readFile(argument, 'utf8') }];
  } catch (error) {
    throw new UnreadableError(`cannot read ${argument}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The first line of a YAML error, without the code frame that follows it. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/:$/, '');
}

function describe(result: ObjectValidation): string {
  const name = result.name === undefined ? '(unnamed)' : JSON.stringify(result.name);
  return `${result.kind ?? 'object'} ${name}`;
}

/** What checking needs; loaded when the command runs, so other commands and --help never pay for it. */
async function loadValidator() {
  const [{ parseAllDocuments }, { formatFieldError }, { validateObject }] = await Promise.all([
    import('yaml'),
    import('../api/field-error.ts'),
    import('../api/validate-object.ts'),
  ]);
  return { parseAllDocuments, formatFieldError, validateObject };
}

type Validator = Awaited<ReturnType<typeof loadValidator>>;

/** The objects a document holds: itself, or the items of a `v1 List` (what `kubectl get -o yaml` prints). */
function objectsOf(value: unknown, where: string): { where: string; value: unknown }[] {
  const list = value as { apiVersion?: unknown; kind?: unknown; items?: unknown };
  if (list.apiVersion === 'v1' && list.kind === 'List' && Array.isArray(list.items)) {
    return list.items.map((item: unknown, index) => ({ where: `${where} (item ${index + 1})`, value: item }));
  }
  return [{ where, value }];
}

/** Checks every object of one source; returns whether all were valid. */
function validateSource(source: Source, io: CommandIo, { parseAllDocuments, formatFieldError, validateObject }: Validator): boolean {
  // An empty stream comes back as an empty array-like: it then holds no objects, reported below.
  const documents = [...parseAllDocuments(source.text, { prettyErrors: true })];
  let valid = true;
  let checked = 0;
  for (const [index, document] of documents.entries()) {
    const where = documents.length > 1 ? `${source.name} (document ${index + 1})` : source.name;
    if (document.errors.length > 0) {
      io.stderr.write(`${where}: invalid YAML: ${document.errors.map((error) => firstLine(error.message)).join('; ')}\n`);
      valid = false;
      continue;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    for (const object of objectsOf(value, where)) {
      checked += 1;
      const result = validateObject(object.value);
      if (result.skipped !== undefined) io.stdout.write(`${object.where}: ${describe(result)} skipped: ${result.skipped}\n`);
      else if (result.errors.length === 0) io.stdout.write(`${object.where}: ${describe(result)} is valid\n`);
      else {
        valid = false;
        io.stderr.write(`${object.where}: The ${describe(result)} is invalid:\n${result.errors.map((error) => `* ${formatFieldError(error)}\n`).join('')}`);
      }
    }
  }
  if (checked === 0 && valid) {
    io.stderr.write(`${source.name}: no objects\n`);
    return false;
  }
  return valid;
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check Deploy and Sweep manifests offline (-f FILE)',
  help: () => HELP,
  async run(args, io) {
    let filenames: string[];
    try {
      const { values } = parseArgs({ args: [...args], options: { filename: { type: 'string', short: 'f', multiple: true } }, strict: true, allowPositionals: false });
      filenames = values.filename ?? [];
    } catch (error) {
      io.stderr.write(`blackroad-operator validate: ${error instanceof Error ? error.message : String(error)}; run "blackroad-operator validate --help"\n`);
      return EXIT_USAGE;
    }
    if (filenames.length === 0) {
      io.stderr.write('blackroad-operator validate: -f FILE is required; run "blackroad-operator validate --help"\n');
      return EXIT_USAGE;
    }
    const validator = await loadValidator();
    let exitCode = EXIT_OK;
    for (const filename of filenames) {
      let sources: Source[];
      try {
        sources = await sourcesOf(filename, io);
      } catch (error) {
        if (!(error instanceof UnreadableError)) throw error;
        io.stderr.write(`blackroad-operator validate: ${error.message}\n`);
        exitCode = EXIT_USAGE;
        continue;
      }
      if (sources.length === 0) {
        io.stderr.write(`blackroad-operator validate: ${filename} holds no .yaml, .yml or .json file\n`);
        exitCode = EXIT_USAGE;
      }
      for (const source of sources) {
        if (!validateSource(source, io, validator) && exitCode === EXIT_OK) exitCode = EXIT_FAILURE;
      }
    }
    return exitCode;
  },
};
