// The subcommands the executable ships; each is added with the capability that makes it work.
import type { Command } from './command.ts';
import { devCommand } from './dev-command.ts';

export const COMMANDS: readonly Command[] = [devCommand()];
