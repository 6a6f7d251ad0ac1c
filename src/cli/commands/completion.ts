import { UsageError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { print } from '../context.js';

const SHELLS = ['bash', 'zsh'];

/** `sealer completion bash|zsh`: a completion script made from the command definitions. */
export const completionCommand = defineCommand<{ shell: string }>({
  name: 'completion',
  summary: 'print a shell completion script (bash or zsh)',
  arguments: [{ name: '<shell>', description: 'bash or zsh', values: SHELLS }],
  examples: [
    ['Complete sealer in this bash', 'eval "$(sealer completion bash)"'],
    ['Install it for zsh (a folder of $fpath, then start a new shell)', 'sealer completion zsh > "${fpath[1]}/_sealer"'],
  ],
  run: async (o) => {
    if (!SHELLS.includes(o.shell)) throw new UsageError(`completion: unknown shell ${JSON.stringify(o.shell)}: want bash or zsh`, 'sealer completion bash|zsh');
    const { SEALER } = await import('../program.js');
    const { completionTree } = await import('../completion/tree.js');
    const tree = completionTree(SEALER);
    const script = o.shell === 'bash' ? (await import('../completion/bash.js')).bashScript(tree) : (await import('../completion/zsh.js')).zshScript(tree);
    print(script);
  },
});
