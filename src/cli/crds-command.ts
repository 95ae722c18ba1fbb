// `blackroad-operator crds`: prints the CustomResourceDefinitions, for `| kubectl apply -f -`.
import { EXIT_OK, EXIT_USAGE, type Command } from './command.ts';

export const crdsCommand: Command = {
  name: 'crds',
  summary: 'print the CustomResourceDefinitions as YAML',
  help: () =>
    [
      'Prints the CustomResourceDefinitions of Deploy and Sweep (operator.blackroad.io/v1alpha1) as one',
      'multi-document YAML stream, generated from the same schemas the operator validates with.',
      '',
      'Usage:',
      '  blackroad-operator crds',
      '',
      'Example:',
      '  blackroad-operator crds | kubectl apply --server-side -f -',
      '',
    ].join('\n'),
  async run(args, io) {
    if (args.length > 0) {
      io.stderr.write(`blackroad-operator crds: unexpected argument "${args[0] ?? ''}"; run "blackroad-operator crds --help"\n`);
      return EXIT_USAGE;
    }
    // Loaded here, not at start-up: other commands and --help never pay for building the schemas.
    const [{ customResourceDefinition, renderCrdsYaml }, { KINDS }] = await Promise.all([import('../api/crd.ts'), import('../api/kinds.ts')]);
    io.stdout.write(renderCrdsYaml(KINDS.map(customResourceDefinition)));
    return EXIT_OK;
  },
};
