# Shared by scripts/build-node-image.sh (the tests' SSH hosts) and
# scripts/build-node-image-default.sh (the nodes of -m container): source it, then
#   node_image_start IMAGE "$@"     # --print-name, the cache check, root and tools; exits when done
#   node_image_bootstrap PACKAGES   # debootstrap minbase into $root (sets $work, $root, $start)
#   node_image_import IMAGE CMD MSG # trims the rootfs and `docker import`s it, prints IMAGE
#
#   NODE_IMAGE_MIRROR  Debian mirror (default: the first deb.debian.org-style URI apt uses here)
#   NODE_IMAGE_CACHE   directory for debootstrap's .deb cache (default /var/cache/sealer-node-debs)
#   NODE_IMAGE_FORCE=1 rebuild even when the image exists

SUITE=bookworm

node_image_start() {
  local image=$1
  if [ "${2:-}" = "--print-name" ]; then
    echo "$image"
    exit 0
  fi
  if [ "${NODE_IMAGE_FORCE:-0}" != "1" ] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "node image: $image already exists" >&2
    echo "$image"
    exit 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "node image: debootstrap needs root" >&2
    exit 1
  fi
  for bin in debootstrap docker tar; do
    command -v "$bin" >/dev/null 2>&1 || { echo "node image: $bin not found" >&2; exit 1; }
  done
}

node_image_bootstrap() {
  local packages=$1 mirror cache
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
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  root="$work/rootfs"
  start=$(date +%s)
  echo "node image: debootstrap $SUITE from $mirror into $root" >&2
  debootstrap --variant=minbase --include="$packages" --cache-dir="$cache" \
    "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    echo "node image: debootstrap failed; last lines:" >&2
    tail -n 30 "$work/debootstrap.log" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    exit 1
  }
}

node_image_import() {
  local image=$1 message=$2
  # Keep the image small: no apt lists, no docs, no debootstrap leftovers.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/debootstrap
  echo "node image: importing $image" >&2
  tar --numeric-owner -C "$root" -c . | docker import \
    -c 'CMD ["/usr/local/sbin/sealer-node-start"]' \
    -c 'EXPOSE 22' \
    -m "$message" \
    - "$image" >/dev/null
  echo "node image: built $image in $(( $(date +%s) - start ))s" >&2
  echo "$image"
}
