#!/usr/bin/env bash
# Builds the test-host image `sealer-test-node:<version>` locally, without pulling anything:
# a debootstrap minbase Debian rootfs with openssh-server, Debian's docker-registry, curl and
# a few tools, root login allowed, imported with `docker import`. Cached: when the image already
# exists, nothing is built. Prints the image name on stdout (progress goes to stderr).
#
#   NODE_IMAGE_MIRROR  Debian mirror (default: the first deb.debian.org-style URI apt uses here)
#   NODE_IMAGE_CACHE   directory for debootstrap's .deb cache (default /var/cache/sealer-node-debs)
#   NODE_IMAGE_FORCE=1 rebuild even when the image exists
#
# Bump VERSION whenever the recipe below changes.
set -euo pipefail

VERSION=1
SUITE=bookworm
IMAGE="sealer-test-node:${VERSION}"
# Test hosts only: this password and these images never leave this machine.
ROOT_PASSWORD="sealer-test-root"
PACKAGES="openssh-server,docker-registry,curl,ca-certificates,iproute2,procps"

if [ "${1:-}" = "--print-name" ]; then
  echo "$IMAGE"
  exit 0
fi

if [ "${NODE_IMAGE_FORCE:-0}" != "1" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "node image: $IMAGE already exists" >&2
  echo "$IMAGE"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "node image: debootstrap needs root" >&2
  exit 1
fi
for bin in debootstrap docker tar; do
  command -v "$bin" >/dev/null 2>&1 || { echo "node image: $bin not found" >&2; exit 1; }
done

mirror="${NODE_IMAGE_MIRROR:-}"
if [ -z "$mirror" ]; then
  # The mirror apt uses on this machine (deb822 URIs: lines or one-line "deb URI suite" entries).
  mirror="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | grep -E '/debian/?( |$)' | grep -v security | head -n 1 \
    | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//; s/[[:space:]].*$//' || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

cache="${NODE_IMAGE_CACHE:-/var/cache/sealer-node-debs}"
mkdir -p "$cache"
work="$(mktemp -d /tmp/sealer-node-XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

start=$(date +%s)
echo "node image: debootstrap $SUITE from $mirror into $root" >&2
debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$cache" \
  "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  echo "node image: debootstrap failed; last lines:" >&2
  tail -n 30 "$work/debootstrap.log" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  exit 1
}

# Root login with a password or a key; host keys are generated per container at start, so the
# image carries none (each test host has its own identity).
echo "root:${ROOT_PASSWORD}" | chroot "$root" chpasswd
cat >"$root/etc/ssh/sshd_config.d/sealer-test.conf" <<'EOF'
PermitRootLogin yes
PasswordAuthentication yes
PubkeyAuthentication yes
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
EOF
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/run/sshd" "$root/root/.ssh"
chmod 700 "$root/root/.ssh"
# Entry point: fresh host keys when none exist, the authorized key from $SEALER_AUTHORIZED_KEY.
cat >"$root/usr/local/sbin/sealer-node-start" <<'EOF'
#!/bin/sh
set -e
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
if [ -n "${SEALER_AUTHORIZED_KEY:-}" ]; then
  printf '%s\n' "$SEALER_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1 || ssh-keygen -A >/dev/null
exec /usr/sbin/sshd -D -e
EOF
chmod 755 "$root/usr/local/sbin/sealer-node-start"
# Keep the image small: no apt lists, no docs, no debootstrap leftovers.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/debootstrap

echo "node image: importing $IMAGE" >&2
tar --numeric-owner -C "$root" -c . | docker import \
  -c 'CMD ["/usr/local/sbin/sealer-node-start"]' \
  -c 'EXPOSE 22' \
  -m "sealer test node ($SUITE minbase + openssh-server, docker-registry)" \
  - "$IMAGE" >/dev/null
echo "node image: built $IMAGE in $(( $(date +%s) - start ))s" >&2
echo "$IMAGE"
