import { defineCommand } from '../command.js';
import { openStore, print } from '../context.js';
import { sanitize } from '../render/sanitize.js';

/** `sealer tag`: another name for an image of the local store. */
export const tagCommand = defineCommand<{ source: string; target: string }>({
  name: 'tag',
  summary: 'give an image another name',
  arguments: [
    { name: '<source>', description: 'existing name or digest' },
    { name: '<target>', description: 'new name' },
  ],
  examples: [['Name an image for a private registry', 'sealer tag my-app:v1 registry.example.com/team/my-app:v1']],
  run: async (o, ctx) => {
    const { findImage, shortName } = await import('../../image/catalog.js');
    const { formatReference, parseReference } = await import('../../image/reference.js');
    const store = await openStore(ctx);
    const img = await findImage(store, o.source);
    const name = formatReference(parseReference(o.target));
    await store.tag(name, img.descriptor);
    print(sanitize(`Tagged ${shortName(img.name)} as ${shortName(name)}`));
  },
});
