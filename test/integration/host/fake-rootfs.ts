import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The image the fake rootfs's registry serves. */
export const REGISTRY_IMAGE = { repo: 'library/hello', tag: 'v1' } as const;

async function put(root: string, path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), data);
  await chmod(join(root, path), mode);
}

/** Writes a blob and its links into a docker/distribution filesystem tree. */
async function putBlob(reg: string, data: Buffer): Promise<string> {
  const hex = createHash('sha256').update(data).digest('hex');
  await put(reg, `docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, data);
  return hex;
}

/**
 * A small cluster-image rootfs whose scripts stand in for kubeadm: each step appends a line to
 * /var/lib/sealer-test/log on its host; nodes fetch an image manifest and blob from master0's
 * registry through `sea.hub`. `registry/` holds one image in the distribution layout.
 */
export async function makeFakeRootfs(root: string, opts: { /** Seconds the first join of a node sleeps. */ slowJoin?: number } = {}): Promise<{ manifestDigest: string; layerDigest: string }> {
  const log = 'mkdir -p /var/lib/sealer-test && echo "$(date +%s%N) $*" >> /var/lib/sealer-test/log';
  await put(root, 'scripts/init.sh', `#!/bin/bash\nset -e\nlog() { ${log}; }\nlog init "$1" "$2" "$3" cluster=$SEALER_CLUSTER host=$SEALER_HOST_IP\ncp ../etc/app.conf /var/lib/sealer-test/app.conf\n`, 0o755);
  await put(root, 'scripts/init-master0.sh', `#!/bin/bash\nset -e\nlog() { ${log}; }\nlog init-master0 masters=$SEALER_MASTERS nodes=$SEALER_NODES\necho "$SEALER_MASTER0" > /var/lib/sealer-test/cluster-up\n`, 0o755);
  const fetch = [
    `curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://sea.hub:$SEALER_REGISTRY_PORT/v2/${REGISTRY_IMAGE.repo}/manifests/${REGISTRY_IMAGE.tag} -o /var/lib/sealer-test/pulled-manifest.json`,
    'layer=$(grep -o \'"digest": *"sha256:[0-9a-f]*"\' /var/lib/sealer-test/pulled-manifest.json | tail -n1 | grep -o "sha256:[0-9a-f]*")',
    `curl -fsS http://sea.hub:$SEALER_REGISTRY_PORT/v2/${REGISTRY_IMAGE.repo}/blobs/$layer -o /var/lib/sealer-test/pulled-layer`,
    'echo "$layer" > /var/lib/sealer-test/pulled-digest',
  ].join('\n');
  // The first join of a host logs `join-sleeping` (the marker a test waits for) and sleeps; later ones do not.
  const slow = opts.slowJoin
    ? `if [ ! -e /var/lib/sealer-test/join-slept ]; then mkdir -p /var/lib/sealer-test; touch /var/lib/sealer-test/join-slept; log join-sleeping; sleep ${opts.slowJoin}; fi\n`
    : '';
  await put(root, 'scripts/join-node.sh', `#!/bin/bash\nset -e\nlog() { ${log}; }\n${slow}log join-node master0=$1\n${fetch}\n`, 0o755);
  await put(root, 'scripts/join-master.sh', `#!/bin/bash\nset -e\nlog() { ${log}; }\nlog join-master master0=$1\n`, 0o755);
  await put(root, 'scripts/clean.sh', '#!/bin/bash\nrm -rf /var/lib/sealer-test\n', 0o755);
  await put(root, 'etc/app.conf.tmpl', 'app={{ .APP_NAME }} host={{ .SEALER_HOST_IP }} secret={{ .APP_NAME | b64enc }}\n');
  await put(root, 'manifests/app.yaml', 'kind: ConfigMap\n');
  await put(root, 'Metadata', '{"version":"v0-test","arch":"amd64"}\n');
  await put(
    root,
    'plugins/plugins.yaml',
    [
      'apiVersion: sealer.aliyun.com/v1alpha1\nkind: Plugin\nmetadata: { name: mark-masters }\nspec:\n  type: SHELL\n  action: PreInit\n  on: master\n  data: mkdir -p /var/lib/sealer-test && echo "preinit $(pwd)" >> /var/lib/sealer-test/plugins',
      'apiVersion: sealer.aliyun.com/v1alpha1\nkind: Plugin\nmetadata: { name: mark-gpu }\nspec:\n  type: SHELL\n  action: PostInstall\n  on: gpu=yes\n  data: echo "postinstall gpu" >> /var/lib/sealer-test/plugins',
      'apiVersion: sealer.aliyun.com/v1alpha1\nkind: Plugin\nmetadata: { name: on-join }\nspec:\n  type: SHELL\n  action: PreJoin|PostJoin\n  data: mkdir -p /var/lib/sealer-test && echo "join-phase" >> /var/lib/sealer-test/plugins',
    ].join('\n---\n'),
  );
  // One image in the embedded registry: an OCI manifest, its config and one layer.
  const reg = join(root, 'registry');
  const layer = Buffer.from('not really a tarball, but a blob all the same\n');
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const layerHex = await putBlob(reg, layer);
  const configHex = await putBlob(reg, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configHex}`, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size: layer.length }],
    }),
  );
  const manifestHex = await putBlob(reg, manifest);
  const repo = `docker/registry/v2/repositories/${REGISTRY_IMAGE.repo}`;
  for (const hex of [layerHex, configHex]) await put(reg, `${repo}/_layers/sha256/${hex}/link`, `sha256:${hex}`);
  await put(reg, `${repo}/_manifests/revisions/sha256/${manifestHex}/link`, `sha256:${manifestHex}`);
  await put(reg, `${repo}/_manifests/tags/${REGISTRY_IMAGE.tag}/current/link`, `sha256:${manifestHex}`);
  await put(reg, `${repo}/_manifests/tags/${REGISTRY_IMAGE.tag}/index/sha256/${manifestHex}/link`, `sha256:${manifestHex}`);
  return { manifestDigest: `sha256:${manifestHex}`, layerDigest: `sha256:${layerHex}` };
}
