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
# shellcheck source=scripts/node-image-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/node-image-lib.sh"

VERSION=1
IMAGE="sealer-test-node:${VERSION}"
# Test hosts only: this password and these images never leave this machine.
ROOT_PASSWORD="sealer-test-root"
PACKAGES="openssh-server,docker-registry,curl,ca-certificates,iproute2,procps"

node_image_start "$IMAGE" "$@"
node_image_bootstrap "$PACKAGES"

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
node_image_import "$IMAGE" "sealer test node ($SUITE minbase + openssh-server, docker-registry)"
