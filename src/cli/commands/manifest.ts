import { defineCommand } from '../command.js';
import { openStore, print, printJson, reporterFor } from '../context.js';
import { parseKeyValue } from '../options.js';
import { REGISTRY_OPTIONS, type RegistryFlags, registryClient } from '../registry-options.js';

/** `sealer manifest create`. */
const createCommand = defineCommand<{ list: string; images: string[] }>({
  name: 'create',
  summary: 'make a manifest list from images in the local store',
  arguments: [
    { name: '<list>', description: 'name of the new list' },
    { name: '<images...>', description: 'images to include (one per platform)' },
  ],
  examples: [['Combine two single-arch builds', 'sealer manifest create my-app:v1 my-app:v1-amd64 my-app:v1-arm64']],
  run: async (o, ctx) => {
    const { createManifestList } = await import('../../image/manifest-list.js');
    const desc = await createManifestList(await openStore(ctx), o.list, o.images);
    print(desc.digest);
  },
});

interface AnnotateOptions {
  list: string;
  image: string;
  os?: string;
  arch?: string;
  variant?: string;
  annotation: string[];
}

/** `sealer manifest annotate`. */
const annotateCommand = defineCommand<AnnotateOptions>({
  name: 'annotate',
  summary: 'set the platform or annotations of one entry of a list',
  arguments: [
    { name: '<list>', description: 'the list' },
    { name: '<image>', description: 'the entry: an image name or digest' },
  ],
  options: [
    { flags: '--os <os>', description: 'operating system' },
    { flags: '--arch <arch>', description: 'architecture' },
    { flags: '--variant <variant>', description: 'architecture variant' },
    { flags: '--annotation <key=value>', description: 'annotation (repeatable)', repeatable: true },
  ],
  run: async (o, ctx) => {
    const { annotateManifestList } = await import('../../image/manifest-list.js');
    const desc = await annotateManifestList(await openStore(ctx), o.list, o.image, {
      ...(o.os ? { os: o.os } : {}),
      ...(o.arch ? { arch: o.arch } : {}),
      ...(o.variant ? { variant: o.variant } : {}),
      annotations: Object.fromEntries(o.annotation.map((a) => parseKeyValue(a, '--annotation'))),
    });
    print(desc.digest);
  },
});

/** `sealer manifest inspect`. */
const inspectCommand = defineCommand<{ list: string }>({
  name: 'inspect',
  summary: 'print a manifest list (or manifest) from the local store',
  arguments: [{ name: '<list>', description: 'name or digest' }],
  run: async (o, ctx) => {
    const { findImage } = await import('../../image/catalog.js');
    const store = await openStore(ctx);
    printJson(await store.readJson((await findImage(store, o.list)).descriptor.digest));
  },
});

/** `sealer manifest push`. */
const pushCommand = defineCommand<RegistryFlags & { list: string; destination?: string }>({
  name: 'push',
  summary: 'push a manifest list and every image in it',
  arguments: [
    { name: '<list>', description: 'name or digest in the local store' },
    { name: '[destination]', description: 'where to push (default: the list name)' },
  ],
  options: REGISTRY_OPTIONS,
  run: async (o, ctx) => {
    const reporter = reporterFor(ctx);
    const client = await registryClient(o, reporter, ctx.signal);
    const { pushFromStore } = await import('../../registry/store-transfer.js');
    const { formatReference, parseReference } = await import('../../image/reference.js');
    try {
      const dest = parseReference(o.destination ?? o.list);
      const res = await pushFromStore(client, await openStore(ctx), o.list, dest, { reporter });
      print(`Pushed ${formatReference(dest)} ${res.digest}`);
    } finally {
      await client.close();
    }
  },
});

/** `sealer manifest create|annotate|inspect|push`: multi-arch cluster images. */
export const manifestCommand = defineCommand({
  name: 'manifest',
  summary: 'create, annotate, inspect and push multi-arch manifest lists',
  subcommands: [createCommand, annotateCommand, inspectCommand, pushCommand],
});
