// The subcommands the executable ships; each is added with the capability that makes it work.
import type { Command } from './command.ts';
import { crdsCommand } from './crds-command.ts';
import { devCommand } from './dev-command.ts';
import { devOperator } from './dev-operator.ts';
import { runCommand } from './run-command.ts';
import { validateCommand } from './validate-command.ts';

export const COMMANDS: readonly Command[] = [crdsCommand, devCommand({ operator: devOperator }), runCommand(), validateCommand];
