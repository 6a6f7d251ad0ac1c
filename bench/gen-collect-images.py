#!/usr/bin/env python3
"""Writes 30 container images straight into a docker/distribution filesystem storage tree.

    gen-collect-images.py STORAGE_DIR SCALE [COUNT]

A stock `docker-registry` pointed at STORAGE_DIR then serves them as bench/imgNN:1 (COUNT images,
default 30; names take as many digits as COUNT needs). Every image
has three gzip tar layers, each one file of random (incompressible) bytes:
  - one of 3 base layers (150 MiB x SCALE), shared by every third image;
  - a common layer (20 MiB x SCALE), shared by all 30;
  - its own layer (40 MiB x SCALE).
At SCALE 1 that is 1670 MiB of distinct blobs (5.6 GiB if every image were stored on its own).
Every fifth image is a Docker v2 schema 2 image, the others OCI; the next-to-last is an OCI
index and the last a Docker manifest list, each of two platforms (linux/amd64, linux/arm64:
per-platform manifests sharing the base and common layers, each with its own 40 MiB layer),
as multi-arch images are published. The gzip streams use stored
(level 0) deflate blocks: random data does not compress, and writing them costs nothing.
Prints a JSON summary: image names, distinct blob bytes, total bytes over all images, and every
distinct blob as [repository, digest] (what a fetch-to-disk floor downloads).
"""
import hashlib
import json
import os
import sys
import tarfile
import zlib

CHUNK = 4 << 20


def blob_path(root, hexd):
    return os.path.join(root, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data")


def put_bytes(root, data):
    hexd = hashlib.sha256(data).hexdigest()
    p = blob_path(root, hexd)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return "sha256:" + hexd, len(data)


def make_layer(root, size, name):
    """A gzip tar holding NAME with SIZE random bytes; returns (digest, size, diff_id)."""
    tmp = os.path.join(root, ".tmp-layer")
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    tar_hash = hashlib.sha256()
    blob_hash = hashlib.sha256()
    comp = zlib.compressobj(0, zlib.DEFLATED, 31)
    total = 0
    with open(tmp, "wb") as out:
        def emit(raw):
            nonlocal total
            tar_hash.update(raw)
            gz = comp.compress(raw)
            if gz:
                blob_hash.update(gz)
                out.write(gz)
                total += len(gz)

        emit(info.tobuf(format=tarfile.USTAR_FORMAT))
        left = size
        while left > 0:
            n = min(CHUNK, left)
            emit(os.urandom(n))
            left -= n
        pad = (512 - size % 512) % 512
        emit(b"\0" * pad + b"\0" * 1024)
        gz = comp.flush()
        blob_hash.update(gz)
        out.write(gz)
        total += len(gz)
    hexd = blob_hash.hexdigest()
    dest = blob_path(root, hexd)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    os.replace(tmp, dest)
    return "sha256:" + hexd, total, "sha256:" + tar_hash.hexdigest()


def link(path, digest):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(digest)


def main():
    root, scale = sys.argv[1], float(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    width = max(2, len(str(count - 1)))
    mib = lambda n: max(64 << 10, int(n * scale * (1 << 20)))  # noqa: E731
    bases = [make_layer(root, mib(150), f"base-{i}.bin") for i in range(3)]
    common = make_layer(root, mib(20), "common.bin")
    names, distinct, total, homes = [], {}, 0, {}
    for d, s, _ in bases + [common]:
        distinct[d] = s
    def manifest_of(i, docker, layers, arch):
        """Writes a config and a manifest; returns (manifest digest, size, media type, blobs)."""
        layer_mt = "application/vnd.docker.image.rootfs.diff.tar.gzip" if docker else "application/vnd.oci.image.layer.v1.tar+gzip"
        config = json.dumps({
            "architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
            "config": {"Labels": {"bench.image": str(i)}},
            "rootfs": {"type": "layers", "diff_ids": [l[2] for l in layers]},
        }).encode()
        cdig, csize = put_bytes(root, config)
        mt = "application/vnd.docker.distribution.manifest.v2+json" if docker else "application/vnd.oci.image.manifest.v1+json"
        cmt = "application/vnd.docker.container.image.v1+json" if docker else "application/vnd.oci.image.config.v1+json"
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": mt,
            "config": {"mediaType": cmt, "digest": cdig, "size": csize},
            "layers": [{"mediaType": layer_mt, "digest": l[0], "size": l[1]} for l in layers],
        }).encode()
        mdig, msize = put_bytes(root, manifest)
        return mdig, msize, mt, [(cdig, csize)] + [(l[0], l[1]) for l in layers]

    for i in range(count):
        # The last two: an OCI index and a Docker manifest list of two platforms each.
        multi = i >= count - 2
        docker = i % 5 == 0 if not multi else i == count - 1
        name = f"img{i:0{width}d}"
        repo = os.path.join(root, "docker/registry/v2/repositories/bench", name)
        children = []
        for arch in (["amd64", "arm64"] if multi else ["amd64"]):
            own = make_layer(root, mib(40), f"img-{i}-{arch}.bin")
            mdig, msize, mt, parts = manifest_of(i, docker, [bases[i % 3], common, own], arch)
            children.append({"mediaType": mt, "digest": mdig, "size": msize, "platform": {"architecture": arch, "os": "linux"}})
            for d, size in parts + [(mdig, msize)]:
                distinct[d] = size
            total += msize + sum(size for _, size in parts)
            for d, _ in parts:
                link(os.path.join(repo, "_layers/sha256", d[7:], "link"), d)
                homes.setdefault(d, f"bench/{name}")
            link(os.path.join(repo, "_manifests/revisions/sha256", mdig[7:], "link"), mdig)
        top = children[0]["digest"]
        if multi:
            imt = "application/vnd.docker.distribution.manifest.list.v2+json" if docker else "application/vnd.oci.image.index.v1+json"
            top, isize = put_bytes(root, json.dumps({"schemaVersion": 2, "mediaType": imt, "manifests": children}).encode())
            distinct[top] = isize
            total += isize
            link(os.path.join(repo, "_manifests/revisions/sha256", top[7:], "link"), top)
        link(os.path.join(repo, "_manifests/tags/1/current/link"), top)
        link(os.path.join(repo, "_manifests/tags/1/index/sha256", top[7:], "link"), top)
        names.append(f"bench/{name}:1")
    blobs = [[repo, d] for d, repo in homes.items()]
    print(json.dumps({"images": names, "distinct_bytes": sum(distinct.values()), "total_bytes": total, "blobs": blobs}))


if __name__ == "__main__":
    main()
