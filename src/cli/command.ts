// What a subcommand of the `blackroad-operator` executable is: a name, its help, and a run function.

/** Where a command writes; the real process streams in production, buffers in tests. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The process environment; commands pass it to `loadConfig`, never read `process.env` themselves. */
  readonly env: NodeJS.ProcessEnv;
  /** Standard input, for commands that read `-f -`; absent where there is none. */
  readonly stdin?: NodeJS.ReadableStream;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text of the command; a promise where the text needs a module the command loads lazily. */
  help(): string | Promise<string>;
  /** Runs the command; resolves with the process exit code. */
  run(args: readonly string[], io: CommandIo): Promise<number>;
}

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
