// The `blackroad-operator` executable (or the npm script that runs it) as a child process, its output collected, for end-to-end tests.
import { spawn } from 'node:child_process';

export interface CliProcess {
  /** What it printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (null when a signal ended it) once the process and its output have ended. */
  readonly exited: Promise<number | null>;
  /** The signal that ended the process, if one did. */
  readonly exitSignal: NodeJS.Signals | null;
  /** Resolves with the first match of `pattern` in stdout; rejects when the process exits first or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends `signal` while it runs, as {@link CliProcess.stop} does, without waiting for the exit. */
  signal(signal: NodeJS.Signals): void;
}

export interface ProcessOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Runs it in a process group of its own, which `stop` signals as a whole, as a terminal's Ctrl-C does: for
   * wrappers such as `npm run` whose shell would otherwise die alone and leave the real process running.
   */
  readonly processGroup?: boolean;
}

/** Starts `node src/cli/main.ts ...args` in `cwd` (a checkout) with `env`. */
export function startCli(args: readonly string[], options: ProcessOptions): CliProcess {
  return startProcess(process.execPath, ['src/cli/main.ts', ...args], options);
}

/** Starts `command ...args` in `cwd` with `env`, its output collected. */
export function startProcess(command: string, args: readonly string[], options: ProcessOptions): CliProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.processGroup === true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'close', not 'exit': it comes once every process holding the output pipes has gone, a wrapper's children included.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
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
    signal(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (options.processGroup === true && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    },
    async stop(signal = 'SIGTERM') {
      this.signal(signal);
      return exited;
    },
  };
}
