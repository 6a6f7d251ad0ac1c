#!/usr/bin/env bash
# Collecting container images: `sealer build` of a Kubefile whose image list names 30 images
# (1.6 GiB of distinct blobs, shared base layers) against `skopeo sync` of the same set, from the
# same loopback docker-registry, in one run. Prints time and peak-RSS ratios. See bench/README.md.
#
#   bench/collect.sh                     # 30 images, 1670 MiB distinct (a few minutes)
#   BENCH_SCALE=0.05 bench/collect.sh    # quick check: 30 images, ~85 MiB
#
# Environment:
#   BENCH_SCALE       multiplies every layer size (default 1)
#   BENCH_PULL_PROCS  sealer's --max-pull-procs (default: sealer's default)
#   BENCH_TMPDIR      where the temp dir goes; a real disk, not tmpfs (default /var/tmp)
#   BENCH_COMPILE     0 to skip `tsc` and use what is in .tmp/dist-bench-collect (default 1)
#   BENCH_KEEP        1 to keep the temp dir (default 0)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
scale=${BENCH_SCALE:-1}
tmpbase=${BENCH_TMPDIR:-/var/tmp}
dist=$repo/.tmp/dist-bench-collect
sealer_js=$dist/src/cli/main.js

[[ $scale =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "BENCH_SCALE must be a positive number" >&2; exit 2; }
for bin in docker-registry skopeo python3 node curl; do
  command -v "$bin" >/dev/null || { echo "$bin is needed (scripts/setup.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d "$tmpbase/sealer-bench-collect.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the sealer under test --------------------------------------------------------------------
compile_sealer "$dist" "$work"

# --- registries -------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_registry NAME STORAGE: a stock docker-registry on a free loopback port; sets reg_host.
start_registry() {
  local name=$1 storage=$2 port
  port=$(free_port)
  reg_host=127.0.0.1:$port
  mkdir -p "$storage"
  cat >"$work/$name.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $storage}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: "$reg_host", secret: bench}
EOF
  docker-registry serve "$work/$name.yml" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -fs "http://$reg_host/v2/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "docker-registry $name did not start:"; cat "$work/$name.log" >&2; exit 1
}

log "generating 30 images (scale $scale) into the upstream registry's storage"
gen_start=$EPOCHREALTIME
summary=$(python3 "$repo/bench/gen-collect-images.py" "$work/upstream" "$scale")
gen_secs=$(awk -v a="$gen_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
distinct_mib=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["distinct_bytes"]/2**20))' "$summary")
total_mib=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["total_bytes"]/2**20))' "$summary")
mapfile -t names < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])["images"]))' "$summary")
start_registry upstream "$work/upstream"
up=$reg_host
start_registry mirror "$work/mirror"
mirror=$reg_host
sync

# The same 30 images: an image list for sealer, a sync file for skopeo.
mkdir -p "$work/ctx"
printf 'FROM scratch\nCOPY imageList manifests/imageList\n' >"$work/ctx/Kubefile"
for n in "${names[@]}"; do echo "$up/$n"; done >"$work/ctx/imageList"
{
  echo "$up:"
  echo "  tls-verify: false"
  echo "  images:"
  for n in "${names[@]}"; do echo "    ${n%:*}: [\"${n##*:}\"]"; done
} >"$work/sync.yml"

# --- timing -----------------------------------------------------------------------------------
# timed NAME CMD...: sets t_secs, t_rss_mib (peak RSS of the largest process), t_cpu, t_rc.
[[ -x /usr/bin/time ]] || { log "GNU time is needed: apt-get install -y time"; exit 1; }
timed() {
  local name=$1
  shift
  sync
  t_rc=0
  /usr/bin/time -f '%e %M %U %S' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || t_rc=$?
  read -r t_secs t_rss_kb u s < <(tail -1 "$work/$name.time")
  t_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.1f", u + s }')
  t_rss_mib=$(awk -v k="$t_rss_kb" 'BEGIN { printf "%.0f", k / 1024 }')
  if [[ $t_rc != 0 ]]; then
    log "  $name failed (exit $t_rc):"
    tail -15 "$work/$name.err" >&2
  fi
}
rows=()
add_row() { rows+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"$'\x1f'"$5"$'\x1f'"$6"); }
disk_mib() { du -sm "$1" 2>/dev/null | cut -f1; }

procs=()
[[ -n ${BENCH_PULL_PROCS:-} ]] && procs=(--max-pull-procs "$BENCH_PULL_PROCS")

sealer_build() {  # sealer_build NAME COMPRESSION
  local name=$1 comp=$2 store=$work/store-$1
  log "sealer build --compression $comp (30 images)"
  timed "$name" node "$sealer_js" --root "$store" --progress plain build "${procs[@]}" --compression "$comp" -t "bench-collect:$comp" "$work/ctx"
  if [[ $t_rc == 0 ]]; then
    local n
    n=$(node "$sealer_js" --root "$store" inspect "bench-collect:$comp" | python3 -c 'import json,sys; d=json.load(sys.stdin); p=d.get("platforms") or [d]; print(len(p[0].get("images", [])))')
    [[ $n == 30 ]] || { log "  expected 30 collected images, inspect shows $n"; t_rc=1; }
    fetched=$(grep -o 'COLLECT container images ([^)]*)' "$work/$name.err" | tail -1)
    log "  $fetched"
    add_row sealer "build, --compression $comp" "$t_secs" "$t_rss_mib" "$t_cpu" "$(disk_mib "$store")"
    rm -rf "$store"
  else
    add_row sealer "build, --compression $comp" FAILED - - -
  fi
}

skopeo_sync() {  # skopeo_sync NAME DEST-TRANSPORT TARGET
  local name=$1 dest=$2 target=$3
  log "skopeo sync --src yaml (docker) --dest $dest"
  timed "$name" skopeo --insecure-policy sync --src yaml --dest "$dest" --dest-tls-verify=false --preserve-digests "$work/sync.yml" "$target"
  local where=$target
  [[ $dest == docker ]] && where=$work/mirror
  if [[ $t_rc == 0 ]]; then
    add_row skopeo "sync --dest $dest" "$t_secs" "$t_rss_mib" "$t_cpu" "$(disk_mib "$where")"
  else
    add_row skopeo "sync --dest $dest" FAILED - - -
  fi
}

# Interleaved, each into a fresh target; the page cache is warm for all (the blobs were just written).
skopeo_sync skopeo-docker docker "$mirror/mirror"
sealer_build sealer-gzip gzip
mkdir -p "$work/dir"
skopeo_sync skopeo-dir dir "$work/dir"
sealer_build sealer-none none

# --- report -----------------------------------------------------------------------------------
printf '\nCollecting 30 images, %s MiB distinct blobs (%s MiB over all images), scale %s; generated in %ss.\n' "$distinct_mib" "$total_mib" "$scale" "$gen_secs"
printf 'nproc %s; %s; timer /usr/bin/time (peak RSS = largest process).\n\n' "$(nproc)" "$(skopeo --version)"
printf '%-8s %-28s %9s %9s %8s %9s\n' tool run seconds 'RSS MiB' 'CPU s' 'out MiB'
for r in "${rows[@]}"; do
  IFS=$'\x1f' read -r tool run secs rss cpu out <<<"$r"
  printf '%-8s %-28s %9s %9s %8s %9s\n' "$tool" "$run" "$secs" "$rss" "$cpu" "$out"
done
field() { # field TOOL RUN N
  local r
  for r in "${rows[@]}"; do
    IFS=$'\x1f' read -r -a f <<<"$r"
    [[ ${f[0]} == "$1" && ${f[1]} == "$2" ]] && { echo "${f[$3]}"; return; }
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
for comp in gzip none; do
  for peer in docker dir; do
    s=$(field sealer "build, --compression $comp" 2)
    k=$(field skopeo "sync --dest $peer" 2)
    sr=$(field sealer "build, --compression $comp" 3)
    kr=$(field skopeo "sync --dest $peer" 3)
    printf 'sealer build (%s) / skopeo sync --dest %-6s  time %s  peak RSS %s\n' "$comp" "$peer" "$(ratio "$s" "$k")" "$(ratio "$sr" "$kr")"
  done
done
