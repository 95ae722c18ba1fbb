// The `blackroad-operator` executable: global flags and dispatch to subcommands.
import { readFileSync } from 'node:fs';
import { isConfigError } from '../config/config.ts';
import { EXIT_OK, EXIT_USAGE, type Command, type CommandIo } from './command.ts';

/** The package version, read from package.json (two folders up from both src/cli and dist/cli). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function usage(commands: readonly Command[]): string {
  const width = Math.max(0, ...commands.map((command) => command.name.length));
  const list = commands.length === 0 ? '  (none yet)' : commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
  return [
    'blackroad-operator: a Kubernetes operator for Deploy and Sweep resources (operator.blackroad.io/v1alpha1).',
    '',
    'Usage:',
    '  blackroad-operator <command> [flags]',
    '  blackroad-operator <command> --help',
    '',
    'Commands:',
    list,
    '',
    'Flags:',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
    '',
  ].join('\n');
}

/** Parses the command line and runs the chosen command; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CommandIo, commands: readonly Command[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout.write(usage(commands));
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === '-v' || first === '--version' || first === 'version') {
    io.stdout.write(`blackroad-operator ${packageVersion()}\n`);
    return EXIT_OK;
  }
  const command = commands.find((candidate) => candidate.name === first);
  if (command === undefined) {
    io.stderr.write(`blackroad-operator: unknown command "${first}"; run "blackroad-operator --help" for the list\n`);
    return EXIT_USAGE;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    io.stdout.write(await command.help());
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // Bad configuration stops the process with one clear line and exit code 2, never a stack trace.
    if (isConfigError(error)) {
      io.stderr.write(`${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
