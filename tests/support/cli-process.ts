// The `blackroad-operator` executable as a child process (`node src/cli/main.ts ...`), its output collected, for end-to-end tests.
import { spawn } from 'node:child_process';

export interface CliProcess {
  /** What it printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** The signal that ended the process, if one did. */
  readonly exitSignal: NodeJS.Signals | null;
  /** Resolves with the first match of `pattern` in stdout; rejects when the process exits first or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node src/cli/main.ts ...args` in `cwd` (a checkout) with `env`. */
export function startCli(args: readonly string[], options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv }): CliProcess {
  const child = spawn(process.execPath, ['src/cli/main.ts', ...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    get exitSignal() {
      return child.signalCode;
    },
    async waitForOutput(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(stdout);
        if (match !== null) return match;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited with ${child.exitCode ?? child.signalCode} before printing ${pattern}:\n${stderr.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${stderr.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
