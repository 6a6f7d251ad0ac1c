#!/usr/bin/env bash
# Collecting container images: a cold `sealer build --no-cache` of a Kubefile whose image list
# names 30 images (1.6 GiB of distinct blobs, shared base layers) against, in one interleaved run
# from the same loopback docker-registry: `skopeo sync --all`, a fetch-to-disk floor (curl, 4 in
# flight, every distinct blob to a file) and `cp -r` of the blobs; then a warm `--no-cache`
# rebuild (every blob in the store). Prints time, peak RSS, CPU and bytes written, and the ratios.
# With BENCH_GROWTH=1 it also collects a set of 10x the images and prints how time and memory
# grow. See bench/README.md.
#
#   bench/collect.sh                                   # 30 images, 1670 MiB distinct (minutes)
#   BENCH_SCALE=0.2 bench/collect.sh                   # the same 30 images, ~330 MiB
#   BENCH_SCALE=0.02 BENCH_GROWTH=1 bench/collect.sh   # and 300 images at the same sizes
#
# Environment:
#   BENCH_SCALE       multiplies every layer size (default 1)
#   BENCH_IMAGES      images in the set (default 30)
#   BENCH_GROWTH      1: also run sealer and the floor on 10x BENCH_IMAGES images (default 0)
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
count=${BENCH_IMAGES:-30}
[[ $count =~ ^[0-9]+$ && $count -ge 3 ]] || { echo "BENCH_IMAGES must be a number >= 3" >&2; exit 2; }
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

# gen_set DIR COUNT: writes COUNT images into DIR, serves them; sets up, distinct_mib, total_mib,
# names, and DIR.blobs.curl (a curl config fetching every distinct blob to DIR.floor/).
gen_set() {
  local dir=$1 n=$2 start summary
  log "generating $n images (scale $scale) into $dir"
  start=$EPOCHREALTIME
  summary=$(python3 "$repo/bench/gen-collect-images.py" "$dir" "$scale" "$n")
  gen_secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  distinct_mib=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["distinct_bytes"]/2**20))' "$summary")
  total_mib=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["total_bytes"]/2**20))' "$summary")
  mapfile -t names < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])["images"]))' "$summary")
  start_registry "$(basename "$dir")" "$dir"
  up=$reg_host
  python3 -c '
import json, sys
host, out = sys.argv[2], sys.argv[3]
for repo, d in json.loads(sys.argv[1])["blobs"]:
    print(f"url = \"http://{host}/v2/{repo}/blobs/{d}\"\noutput = \"{out}/{d[7:]}\"")
' "$summary" "$up" "$dir.floor" >"$dir.blobs.curl"
}

gen_set "$work/upstream" "$count"
start_registry mirror "$work/mirror"
mirror=$reg_host
sync

# ctx_for DIR: a build context whose image list names the set; and a sync file for skopeo.
ctx_for() {
  local dir=$1
  mkdir -p "$dir.ctx"
  printf 'FROM scratch\nCOPY imageList manifests/imageList\n' >"$dir.ctx/Kubefile"
  for n in "${names[@]}"; do echo "$up/$n"; done >"$dir.ctx/imageList"
  {
    echo "$up:"
    echo "  tls-verify: false"
    echo "  images:"
    for n in "${names[@]}"; do echo "    ${n%:*}: [\"${n##*:}\"]"; done
  } >"$dir.sync.yml"
}
ctx_for "$work/upstream"

# --- timing -----------------------------------------------------------------------------------
# timed NAME CMD...: sets t_secs, t_rss_mib (peak RSS of the largest process), t_cpu, t_rc and
# t_wmib (bytes the command and its children wrote, from /proc/<pid>/io write_bytes of a bash
# that runs them: the bytes of reaped children are added to it).
[[ -x /usr/bin/time ]] || { log "GNU time is needed: apt-get install -y time"; exit 1; }
timed() {
  local name=$1
  shift
  sync
  t_rc=0
  /usr/bin/time -f '%e %M %U %S' -o "$work/$name.time" \
    bash -c '"$@"; rc=$?; awk "/^write_bytes/ { print \$2 }" /proc/$$/io >"$IOFILE"; exit $rc' bash "$@" \
    >"$work/$name.out" 2>"$work/$name.err" </dev/null || t_rc=$?
  read -r t_secs t_rss_kb u s < <(tail -1 "$work/$name.time")
  t_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.1f", u + s }')
  t_rss_mib=$(awk -v k="$t_rss_kb" 'BEGIN { printf "%.0f", k / 1024 }')
  t_wmib=$(awk '{ printf "%.0f", $1 / 1048576 }' "$work/$name.io" 2>/dev/null || echo -)
  if [[ $t_rc != 0 ]]; then
    log "  $name failed (exit $t_rc):"
    tail -15 "$work/$name.err" >&2
  fi
}
export IOFILE
rows=()
add_row() { rows+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"$'\x1f'"$5"$'\x1f'"$6"$'\x1f'"$7"); }
disk_mib() { du -sm "$1" 2>/dev/null | cut -f1; }
# run_row TOOL RUN NAME OUTDIR CMD...: times CMD and adds a row (out MiB = du of OUTDIR).
run_row() {
  local tool=$1 what=$2 name=$3 out=$4
  shift 4
  log "$tool $what"
  IOFILE=$work/$name.io
  timed "$name" "$@"
  if [[ $t_rc == 0 ]]; then
    add_row "$tool" "$what" "$t_secs" "$t_rss_mib" "$t_cpu" "$t_wmib" "$(disk_mib "$out")"
  else
    add_row "$tool" "$what" FAILED - - - -
  fi
}

procs=()
[[ -n ${BENCH_PULL_PROCS:-} ]] && procs=(--max-pull-procs "$BENCH_PULL_PROCS")

# check_build STORE NAME N: sealer inspect must list N images; logs the COLLECT line.
check_build() {
  local n
  n=$($sealer_node "$sealer_js" --root "$1" inspect "$2" | python3 -c 'import json,sys; d=json.load(sys.stdin); p=d.get("platforms") or [d]; print(len(p[0].get("images", [])))')
  [[ $n == "$3" ]] || { log "  expected $3 collected images, inspect shows $n"; add_row CHECK "$2: $n of $3 images" FAILED - - - -; }
  log "  $(grep -o 'COLLECT container images ([^)]*)' "$work/$4.err" | tail -1)"
}

set_dir=$work/upstream
sealer_cold() {  # sealer_cold NAME STORE SETDIR N
  run_row sealer "build --no-cache (cold)" "$1" "$2" $sealer_node "$sealer_js" --root "$2" --progress plain build --no-cache --all-platforms "${procs[@]}" -t bench-collect:1 "$3.ctx"
  [[ $t_rc == 0 ]] && check_build "$2" bench-collect:1 "$4" "$1"
}

# Interleaved, each into a fresh target; the page cache is warm for all (the blobs were just written).
run_row floor "curl, 4 in flight, to disk" floor "$set_dir.floor" curl -sf --create-dirs --parallel --parallel-max 4 -K "$set_dir.blobs.curl"
run_row skopeo "sync --all --dest docker" skopeo-docker "$work/mirror" skopeo --insecure-policy sync --all --src yaml --dest docker --dest-tls-verify=false --preserve-digests "$set_dir.sync.yml" "$mirror/mirror"
sealer_cold sealer-cold "$work/store" "$set_dir" "$count"
mkdir -p "$work/dir"
run_row skopeo "sync --all --dest dir" skopeo-dir "$work/dir" skopeo --insecure-policy sync --all --src yaml --dest dir --preserve-digests "$set_dir.sync.yml" "$work/dir"
run_row cp "cp -r of the blobs" cp "$work/cp" cp -r "$set_dir/docker/registry/v2/blobs" "$work/cp"
run_row sealer "build --no-cache (warm)" sealer-warm "$work/store" $sealer_node "$sealer_js" --root "$work/store" --progress plain build --no-cache --all-platforms "${procs[@]}" -t bench-collect:1 "$set_dir.ctx"
[[ $t_rc == 0 ]] && check_build "$work/store" bench-collect:1 "$count" sealer-warm
rm -rf "$work/dir" "$work/cp" "$set_dir.floor" "$work/mirror"

# --- report -----------------------------------------------------------------------------------
printf '\nCollecting %s images, %s MiB distinct blobs (%s MiB over all images), scale %s; generated in %ss.\n' "$count" "$distinct_mib" "$total_mib" "$scale" "$gen_secs"
printf 'nproc %s; load average %s; %s; timer /usr/bin/time (peak RSS = largest process).\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(skopeo --version)"
printf 'written = write_bytes of the command and its children (not the registry serving skopeo --dest docker).\n\n'
table() {
  printf '%-8s %-30s %8s %8s %7s %9s %8s\n' tool run seconds 'RSS MiB' 'CPU s' 'written' 'out MiB'
  for r in "${rows[@]}"; do
    IFS=$'\x1f' read -r tool run secs rss cpu wmib out <<<"$r"
    printf '%-8s %-30s %8s %8s %7s %9s %8s\n' "$tool" "$run" "$secs" "$rss" "$cpu" "$wmib" "$out"
  done
}
table
field() { # field TOOL RUN N
  local r
  for r in "${rows[@]}"; do
    IFS=$'\x1f' read -r -a f <<<"$r"
    [[ ${f[0]} == "$1" && ${f[1]} == "$2" ]] && { echo "${f[$3]}"; return; }
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
cold=$(field sealer "build --no-cache (cold)" 2)
echo
printf 'sealer cold / fetch-to-disk floor     time %s  (target <= 1.5)\n' "$(ratio "$cold" "$(field floor "curl, 4 in flight, to disk" 2)")"
printf 'skopeo sync --dest docker / sealer    time %s  (target >= 2)\n' "$(ratio "$(field skopeo "sync --all --dest docker" 2)" "$cold")"
printf 'skopeo sync --dest dir / sealer       time %s\n' "$(ratio "$(field skopeo "sync --all --dest dir" 2)" "$cold")"
printf 'sealer cold / cp -r                   time %s\n' "$(ratio "$cold" "$(field cp "cp -r of the blobs" 2)")"
printf 'sealer cold: peak RSS %s MiB (target < 150), wrote %s MiB for %s MiB of blobs\n' "$(field sealer "build --no-cache (cold)" 3)" "$(field sealer "build --no-cache (cold)" 5)" "$distinct_mib"
printf 'sealer warm --no-cache rebuild: %s s (target < 1), wrote %s MiB\n' "$(field sealer "build --no-cache (warm)" 2)" "$(field sealer "build --no-cache (warm)" 5)"

# --- growth: 10x the images at the same sizes -------------------------------------------------
if [[ ${BENCH_GROWTH:-0} == 1 ]]; then
  small_mib=$distinct_mib
  small_floor=$(field floor "curl, 4 in flight, to disk" 2)
  small_rss=$(field sealer "build --no-cache (cold)" 3)
  rm -rf "$work/store"
  big=$((count * 10))
  gen_set "$work/upstream10" "$big"
  ctx_for "$work/upstream10"
  set_dir=$work/upstream10
  rows=()
  run_row floor "curl, 4 in flight, to disk" floor10 "$set_dir.floor" curl -sf --create-dirs --parallel --parallel-max 4 -K "$set_dir.blobs.curl"
  sealer_cold sealer-cold10 "$work/store10" "$set_dir" "$big"
  printf '\nGrowth: %s images, %s MiB distinct (%s x the bytes of %s images).\n' "$big" "$distinct_mib" "$(ratio "$distinct_mib" "$small_mib")" "$count"
  table
  printf '\nbytes x%s, images x10: floor time x%s; sealer time x%s; sealer peak RSS %s -> %s MiB (x%s); sealer / floor at 10x: %s\n' \
    "$(ratio "$distinct_mib" "$small_mib")" \
    "$(ratio "$(field floor "curl, 4 in flight, to disk" 2)" "$small_floor")" \
    "$(ratio "$(field sealer "build --no-cache (cold)" 2)" "$cold")" \
    "$small_rss" "$(field sealer "build --no-cache (cold)" 3)" "$(ratio "$(field sealer "build --no-cache (cold)" 3)" "$small_rss")" \
    "$(ratio "$(field sealer "build --no-cache (cold)" 2)" "$(field floor "curl, 4 in flight, to disk" 2)")"
fi
