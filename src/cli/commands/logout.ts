import { defineCommand } from '../command.js';
import { hostEnv, print } from '../context.js';

/** `sealer logout`: forget a registry's credentials. */
export const logoutCommand = defineCommand<{ registry: string; authfile?: string }>({
  name: 'logout',
  summary: 'remove saved credentials for a registry',
  arguments: [{ name: '<registry>', description: 'registry host' }],
  options: [{ flags: '--authfile <file>', description: 'docker config.json to edit' }],
  run: async (o) => {
    const { logout } = await import('../../registry/login.js');
    const removed = await logout(o.registry, { ...(o.authfile ? { authFile: o.authfile } : {}), env: hostEnv() });
    print(removed ? `Removed login credentials for ${o.registry}` : `Not logged in to ${o.registry}`);
  },
});
