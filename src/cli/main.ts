#!/usr/bin/env node
// Entry point of the `blackroad-operator` executable.
import { processEnvironment } from '../config/environment.ts';
import { runCli } from './cli.ts';
import { COMMANDS } from './commands.ts';

process.exitCode = await runCli(
  process.argv.slice(2),
  {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: standard input is only opened by a command that reads it.
    get stdin() {
      return process.stdin;
    },
    env: processEnvironment(),
  },
  COMMANDS,
);
