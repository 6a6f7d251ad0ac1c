#!/usr/bin/env bash
# Builds `sealer-node:<version>`, the default node image of `sealer build -m container`, locally
# and without pulling anything: a debootstrap minbase Debian rootfs with openssh-server and a
# container runtime (docker.io: dockerd, containerd, runc), imported with `docker import`.
# No password: root logs in only with the per-build key sealer passes as $SEALER_AUTHORIZED_KEY.
# Cached: when the image already exists, nothing is built. Prints the image name on stdout.
# (scripts/build-node-image.sh builds `sealer-test-node`, the tests' SSH hosts: a different image.)
#
# Run a node the way sealer does (not privileged; /var/lib/docker must not be the container's
# overlay root, or overlay2 refuses it):
#   docker run -d --cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined \
#     --security-opt apparmor=unconfined --tmpfs /var/lib/docker:rw,exec,dev,suid \
#     -e SEALER_AUTHORIZED_KEY="$(cat ~/.ssh/id_ed25519.pub)" sealer-node:1
#
#   NODE_IMAGE_MIRROR  Debian mirror (default: the first deb.debian.org-style URI apt uses here)
#   NODE_IMAGE_CACHE   directory for debootstrap's .deb cache (default /var/cache/sealer-node-debs)
#   NODE_IMAGE_FORCE=1 rebuild even when the image exists
#
# Bump VERSION whenever the recipe below changes.
set -euo pipefail
# shellcheck source=scripts/node-image-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/node-image-lib.sh"

VERSION=1
IMAGE="sealer-node:${VERSION}"
PACKAGES="openssh-server,docker.io,iptables,docker-registry,curl,ca-certificates,iproute2,procps"

node_image_start "$IMAGE" "$@"
node_image_bootstrap "$PACKAGES"

# Key login only; root has no password. The host key is generated per container at start:
# ed25519 only (an RSA key takes most of a second to generate, on every node start).
cat >"$root/etc/ssh/sshd_config.d/sealer-node.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
EOF
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/run/sshd" "$root/root/.ssh" "$root/etc/docker"
chmod 700 "$root/root/.ssh"

# Build nodes are throwaway and sealer's embedded registry speaks plain http, so private ranges
# are insecure registries. The nested bridge must not reuse the outer engine's 172.17.0.0/16
# (the node's own network may be in it): docker0 and the nested pools live in 10.213/10.214.
cat >"$root/etc/docker/daemon.json" <<'EOF'
{
  "bip": "10.213.0.1/24",
  "default-address-pools": [{ "base": "10.214.0.0/16", "size": 24 }],
  "insecure-registries": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"]
}
EOF

# Entry point: cgroups writable (v1), dockerd in the background, the authorized key, then sshd.
cat >"$root/usr/local/sbin/sealer-node-start" <<'EOF'
#!/bin/sh
set -e
# cgroup v1 is mounted read-only in an unprivileged container; a plain `remount,rw` does not
# change a bind mount. Errors are expected (and ignored) on cgroup v2.
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
  for m in /sys/fs/cgroup /sys/fs/cgroup/*; do mount -o remount,bind,rw "$m" 2>/dev/null || true; done
fi
# overlay2 needs /var/lib/docker off the container's own overlay root (a tmpfs or a volume);
# fall back to vfs (slow, but works) when it is not.
driver=overlay2
[ "$(stat -fc %T /var/lib/docker 2>/dev/null)" = overlayfs ] && driver=vfs
# Only the unix socket: with `-H tcp://...` and no TLS, dockerd 20.10 sleeps ~15 s at start
# unless given --tls=false.
setsid dockerd --storage-driver "$driver" >/var/log/dockerd.log 2>&1 </dev/null &
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
if [ -n "${SEALER_AUTHORIZED_KEY:-}" ]; then
  printf '%s\n' "$SEALER_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
exec /usr/sbin/sshd -D -e
EOF
chmod 755 "$root/usr/local/sbin/sealer-node-start"
node_image_import "$IMAGE" "sealer build node ($SUITE minbase + openssh-server, docker.io)"
