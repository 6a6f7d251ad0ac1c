#!/usr/bin/env bash
# The main job: set up, then build the example cluster image in applications/nginx into the
# default local store (/var/lib/sealer for root; SEALER_ROOT or --root elsewhere) and list it.
#
# This machine has no internet, so the container images the application names (nginx:1.25,
# busybox:1.36, ...) come from a registry mirror on loopback, as on an air-gapped build site:
# the script asks `sealer build --dry-run` which images the build needs, starts Debian's
# docker-registry as a mirror, fills it with small stand-in images built by sealer itself, and
# builds with `--registry-mirror <domain>=<mirror>` for every source registry.
#   bash scripts/example.sh [applications/<name>]   (default applications/nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tools/helm:$PATH"
sealer() { node dist/src/cli/main.js "$@"; }
app="${1:-applications/nginx}"

work="$(mktemp -d)"
registry_pid=""
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mirror="127.0.0.1:${port}"
mkdir -p "$work/storage"
cat > "$work/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: $mirror
log:
  level: error
YAML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://$mirror/v2/" >/dev/null && break; sleep 0.1; done

echo "== images the build needs (sealer build --dry-run)" >&2
sealer --progress quiet build --dry-run --format json "$app" > "$work/images.json"
node -e 'for (const i of JSON.parse(require("fs").readFileSync(process.argv[1])).images) console.log(i.reference)' "$work/images.json" > "$work/images.txt"
cat "$work/images.txt" >&2

echo "== filling the mirror $mirror with stand-in images" >&2
mirrors=()
while read -r ref; do
  domain="${ref%%/*}"
  path="${ref#*/}"
  case " ${mirrors[*]} " in *" --registry-mirror $domain=$mirror "*) ;; *) mirrors+=(--registry-mirror "$domain=$mirror") ;; esac
  ctx="$work/ctx-${path//[\/:@]/_}"
  mkdir -p "$ctx"
  printf 'stand-in for %s, built by scripts/example.sh\n' "$ref" > "$ctx/README"
  printf 'FROM scratch\nCOPY README README\n' > "$ctx/Kubefile"
  sealer --root "$work/seed-store" --progress quiet build --no-collect -t "$mirror/$path" "$ctx" >/dev/null
  sealer --root "$work/seed-store" --progress quiet push "$mirror/$path" >/dev/null
done < "$work/images.txt"

echo "== building $app" >&2
sealer build "${mirrors[@]}" -t "$(basename "$app")-app:v1" "$app"
sealer images
