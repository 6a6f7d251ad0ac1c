/** Media types of the OCI image spec and Docker's v2 schema 2, the only ones we read or write. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** True for a single-image manifest media type (OCI or Docker). */
export function isManifestType(mt: string | undefined): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

/** True for a multi-platform list media type (OCI index or Docker manifest list). */
export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

/** True for a layer media type sealer can unpack (tar, gzip or zstd; OCI or Docker). */
export function isLayerType(mt: string | undefined): boolean {
  return (
    mt === MediaType.ociLayer ||
    mt === MediaType.ociLayerGzip ||
    mt === MediaType.ociLayerZstd ||
    mt === MediaType.dockerLayerGzip ||
    mt === MediaType.dockerForeignLayerGzip ||
    mt === 'application/vnd.oci.image.layer.nondistributable.v1.tar' ||
    mt === 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip' ||
    mt === 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'
  );
}
