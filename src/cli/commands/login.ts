import { UsageError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { hostEnv, print, readStdin } from '../context.js';
import { REGISTRY_OPTIONS, type RegistryFlags } from '../registry-options.js';

interface LoginOptions extends RegistryFlags {
  registry: string;
  username?: string;
  passwd?: string;
  passwordStdin?: boolean;
}

/** `sealer login`: check credentials and save them. */
export const loginCommand = defineCommand<LoginOptions>({
  name: 'login',
  summary: 'check credentials against a registry and save them (docker config.json compatible)',
  arguments: [{ name: '<registry>', description: 'registry host, e.g. registry.example.com or 127.0.0.1:5000' }],
  options: [
    { flags: '-u, --username <user>', description: 'user name' },
    { flags: '-p, --passwd <password>', description: 'password (prefer --password-stdin or SEALER_PASSWORD: flags show up in ps)' },
    { flags: '--password-stdin', description: 'read the password from standard input' },
    ...REGISTRY_OPTIONS,
  ],
  examples: [['Log in without the password on the command line', 'echo "$TOKEN" | sealer login -u ci --password-stdin registry.example.com']],
  run: async (o) => {
    if (!o.username) throw new UsageError('login needs -u USERNAME', 'sealer login -u USER --password-stdin REGISTRY');
    const password = o.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : (o.passwd ?? process.env.SEALER_PASSWORD);
    if (!password) throw new UsageError('login needs a password: -p, --password-stdin or SEALER_PASSWORD');
    const { login } = await import('../../registry/login.js');
    const res = await login(o.registry, o.username, password, {
      ...(o.authfile ? { authFile: o.authfile } : {}),
      insecureRegistries: o.insecureRegistry ?? [],
      ...(o.certDir ? { certDir: o.certDir } : {}),
      env: hostEnv(),
    });
    print(`Login Succeeded (${res.domain})`);
  },
});
