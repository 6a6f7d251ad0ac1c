import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { type GlobalOptions, hostEnv, openStore, print, printJson, readStdin, reporterFor } from '../context.js';
import { examples } from '../options.js';
import { formatBytes } from '../render/progress.js';
import { addRegistryFlags, type RegistryFlags, registryClient } from '../registry-options.js';

/** `pull`, `push`, `login`, `logout`. */
export function registerRegistryCommands(program: Command, globals: () => GlobalOptions): void {
  addRegistryFlags(
    program
      .command('pull')
      .summary('pull a cluster image (or any OCI/Docker image) into the local store')
      .argument('<image>', 'image reference')
      .option('--platform <os/arch[,...]>', 'platform(s) to pull from a multi-arch image (default: this machine)')
      .option('--all-platforms', 'pull every platform')
      .option('--format <format>', 'text or json', 'text'),
  )
    .addHelpText('after', examples([['Pull a base image from a private registry', 'sealer pull registry.example.com/sealer/kubernetes:v1.25']]))
    .action(async (image: string, flags: RegistryFlags & { platform?: string; allPlatforms?: boolean; format: string }) => {
      const g = globals();
      const reporter = reporterFor(g);
      const client = await registryClient(flags, reporter, g.signal);
      try {
        const { shortName } = await import('../../image/catalog.js');
        const { parseReference } = await import('../../image/reference.js');
        const { formatPlatform, hostPlatform, parsePlatforms } = await import('../../registry/platform.js');
        const store = await openStore(g);
        const platforms = flags.allPlatforms ? 'all' : flags.platform ? parsePlatforms(flags.platform) : [hostPlatform()];
        const { pullToStore } = await import('../../registry/store-transfer.js');
        const res = await pullToStore(client, parseReference(image), store, { platforms, reporter });
        if (flags.format === 'json') return printJson({ name: res.name, digest: res.descriptor.digest, platforms: res.platforms.map(formatPlatform), size: res.size, fetched: res.fetched });
        print(`Pulled ${shortName(res.name)} ${res.descriptor.digest} (${res.platforms.map(formatPlatform).join(', ') || 'unknown platform'}, ${formatBytes(res.fetched)} fetched)`);
      } finally {
        await client.close();
      }
    });

  addRegistryFlags(
    program
      .command('push')
      .summary('push an image from the local store to a registry')
      .argument('<image>', 'name or digest in the local store')
      .argument('[destination]', 'where to push (default: the image name)')
      .option('--format <format>', 'text or json', 'text'),
  )
    .addHelpText('after', examples([['Push under another name', 'sealer push my-app:v1 registry.example.com/team/my-app:v1']]))
    .action(async (image: string, destination: string | undefined, flags: RegistryFlags & { format: string }) => {
      const g = globals();
      const reporter = reporterFor(g);
      const client = await registryClient(flags, reporter, g.signal);
      try {
        const { formatReference, parseReference } = await import('../../image/reference.js');
        const store = await openStore(g);
        const dest = parseReference(destination ?? image);
        const { pushFromStore } = await import('../../registry/store-transfer.js');
        const res = await pushFromStore(client, store, image, dest, { reporter });
        if (flags.format === 'json') return printJson({ destination: formatReference(dest), ...res });
        print(`Pushed ${formatReference(dest)} ${res.digest} (${res.uploaded} uploaded, ${res.mounted} mounted, ${res.existing} already there, ${formatBytes(res.bytes)} sent)`);
      } finally {
        await client.close();
      }
    });

  addRegistryFlags(
    program
      .command('login')
      .summary('check credentials against a registry and save them (docker config.json compatible)')
      .argument('<registry>', 'registry host, e.g. registry.example.com or 127.0.0.1:5000')
      .option('-u, --username <user>', 'user name')
      .option('-p, --passwd <password>', 'password (prefer --password-stdin or SEALER_PASSWORD: flags show up in ps)')
      .option('--password-stdin', 'read the password from standard input'),
  )
    .addHelpText('after', examples([['Log in without the password on the command line', 'echo "$TOKEN" | sealer login -u ci --password-stdin registry.example.com']]))
    .action(async (registry: string, flags: RegistryFlags & { username?: string; passwd?: string; passwordStdin?: boolean }) => {
      if (!flags.username) throw new UsageError('login needs -u USERNAME', 'sealer login -u USER --password-stdin REGISTRY');
      const password = flags.passwordStdin ? (await readStdin()).replace(/\r?\n$/, '') : (flags.passwd ?? process.env.SEALER_PASSWORD);
      if (!password) throw new UsageError('login needs a password: -p, --password-stdin or SEALER_PASSWORD');
      const { login } = await import('../../registry/login.js');
      const res = await login(registry, flags.username, password, {
        ...(flags.authfile ? { authFile: flags.authfile } : {}),
        insecureRegistries: flags.insecureRegistry ?? [],
        ...(flags.certDir ? { certDir: flags.certDir } : {}),
        env: hostEnv(),
      });
      print(`Login Succeeded (${res.domain})`);
    });

  program
    .command('logout')
    .summary('remove saved credentials for a registry')
    .argument('<registry>', 'registry host')
    .option('--authfile <file>', 'docker config.json to edit')
    .action(async (registry: string, flags: { authfile?: string }) => {
      const { logout } = await import('../../registry/login.js');
      const removed = await logout(registry, { ...(flags.authfile ? { authFile: flags.authfile } : {}), env: hostEnv() });
      print(removed ? `Removed login credentials for ${registry}` : `Not logged in to ${registry}`);
    });
}
