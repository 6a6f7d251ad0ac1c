#!/usr/bin/env bash
# Building a layer from a large COPY: `sealer build` against `buildah bud --storage-driver vfs`
# on the same generated context, in one run; then the no-op rebuild. See bench/README.md.
#
#   bench/build-copy.sh                    # 1 GiB context
#   BENCH_SIZE_MB=100 bench/build-copy.sh  # quick check
#
# Environment:
#   BENCH_SIZE_MB   size of the context in MiB (default 1024)
#   BENCH_SEED      seed of the generated data (default 42)
#   BENCH_TMPDIR    where the temp dir goes; must be a real disk, not tmpfs (default /var/tmp)
#   BENCH_COMPILE   0 to skip `tsc` and use what is in .tmp/dist-bench (default 1)
#   BENCH_PROFILE   1 to run the gzip build under `node --cpu-prof`; the profile is copied to
#                   .tmp/bench-profiles/ (default 0)
#   BENCH_KEEP      1 to keep the temp dir (default 0)
#   BENCH_GROWTH    1 to also build contexts of many small files (BENCH_GROWTH_FILES, default
#                   "27000 200000") and print how time and peak RSS grow with the file count
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
size_mb=${BENCH_SIZE_MB:-1024}
seed=${BENCH_SEED:-42}
tmpbase=${BENCH_TMPDIR:-/var/tmp}
dist=$repo/.tmp/dist-bench
sealer_js=$dist/src/cli/main.js

[[ $size_mb =~ ^[0-9]+$ && $size_mb -ge 10 ]] || { echo "BENCH_SIZE_MB must be a number >= 10" >&2; exit 2; }

work=$(mktemp -d "$tmpbase/sealer-bench.XXXXXX")
cleanup() {
  local rc=$?
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


warn_if_tmpfs "$work"

# --- the sealer under test --------------------------------------------------------------------
compile_sealer "$dist" "$work"

# --- the context ------------------------------------------------------------------------------
ctx=$work/ctx
mkdir -p "$ctx"
log "generating ${size_mb} MiB under $ctx ($fstype, seed $seed)"
gen_start=$EPOCHREALTIME
gen_summary=$(python3 "$repo/bench/gen-build-context.py" "$ctx" "$size_mb" "$seed")
gen_secs=$(awk -v a="$gen_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
printf 'FROM scratch\nCOPY data data\n' >"$ctx/Kubefile"
printf 'FROM scratch\nCOPY data /data\n' >"$ctx/Dockerfile"
file_count=$(find "$ctx/data" -type f | wc -l)
data_mib=$(du -sm "$ctx/data" | cut -f1)
sync

# --- timing -----------------------------------------------------------------------------------
# timed NAME CMD...: runs CMD with stdout/stderr in $work/NAME.{out,err}; sets t_secs, t_rss_mib
# (peak RSS of the largest process of the run, from wait4), t_cpu (user+sys seconds), t_rc.
if [[ -x /usr/bin/time ]]; then
  timer="/usr/bin/time (GNU), peak RSS = largest process"
else
  timer="bash EPOCHREALTIME + polling VmHWM"
fi
timed() {
  local name=$1
  shift
  sync
  t_rc=0
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%e %M %U %S' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || t_rc=$?
    read -r t_secs t_rss_kb u s < <(tail -1 "$work/$name.time")
    t_cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.1f", u + s }')
  else
    local start=$EPOCHREALTIME hwm=0 pid v
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      for v in $(cat /proc/"$pid"/status /proc/"$pid"/task/*/children 2>/dev/null | awk '/^VmHWM/ { print $2 }'); do
        ((v > hwm)) && hwm=$v
      done
      sleep 0.05
    done
    wait "$pid" || t_rc=$?
    t_secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    t_rss_kb=$hwm
    t_cpu=-
  fi
  t_rss_mib=$(awk -v k="$t_rss_kb" 'BEGIN { printf "%.0f", k / 1024 }')
  if [[ $t_rc != 0 ]]; then
    log "  $name failed (exit $t_rc):"
    tail -15 "$work/$name.err" >&2
  fi
}

# One row a measurement, fields separated by US (\x1f): tool, variant, seconds, peak RSS MiB,
# CPU seconds, store MiB, kind (sealer, buildah: the ratio reference, floor, other).
rows=()
add_row() { rows+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"$'\x1f'"$5"$'\x1f'"$6"$'\x1f'"$7"); }
disk_mib() { du -sm "$1" 2>/dev/null | cut -f1; }


sealer_build() {  # sealer_build NAME STORE COMPRESSION [node flags...]
  local name=$1 store=$2 comp=$3
  shift 3
  log "sealer build --compression $comp"
  timed "$name" $sealer_node "$@" "$sealer_js" --root "$store" --progress plain build -t "bench:$comp" --compression "$comp" "$ctx"
  if [[ $t_rc == 0 ]]; then
    add_row sealer "build, --compression $comp" "$t_secs" "$t_rss_mib" "$t_cpu" "$(disk_mib "$store")" sealer
  else
    add_row sealer "build, --compression $comp" FAILED - - - other
  fi
}

# 0. A floor: read every byte once through tar into sha256sum (one core, no compression).
log "floor: tar -c data | sha256sum"
timed floor bash -c "cd '$ctx' && tar -cf - data | sha256sum"
add_row tar "tar -c data | sha256sum (floor)" "$t_secs" "$t_rss_mib" "$t_cpu" - floor

# 1. sealer, gzip (the default and the headline), into a fresh store; profiled on request.
prof=()
if [[ ${BENCH_PROFILE:-0} == 1 ]]; then
  prof=(--cpu-prof --cpu-prof-dir "$work/prof")
fi
sealer_build sealer-gzip "$work/store-gzip" gzip "${prof[@]}"
headline_rc=$t_rc

# 2. the no-op rebuild of the same Kubefile into the same store: every step should be CACHED.
noop_secs=- noop_note="not run (the gzip build failed)"
if [[ $headline_rc == 0 ]]; then
  log "sealer build again (no-op)"
  timed sealer-noop $sealer_node "$sealer_js" --root "$work/store-gzip" --progress plain build -t bench:gzip "$ctx"
  steps=$(grep -c '^STEP ' "$work/sealer-noop.err" || true)
  cached=$(grep -c '^STEP .*(CACHED)' "$work/sealer-noop.err" || true)
  noop_secs=$t_secs
  noop_note="$cached/$steps steps CACHED, peak RSS $t_rss_mib MiB"
  [[ $t_rc == 0 ]] || noop_note="FAILED (exit $t_rc)"
  add_row sealer "no-op rebuild (cached)" "$t_secs" "$t_rss_mib" "$t_cpu" - other
fi

# 3. buildah bud, layers off (its default) and on, each into a fresh vfs store; then the
#    second run of the --layers build, which its cache can answer.
export BUILDAH_ISOLATION=chroot
buildah_ok=1
buildah_why=
if ! command -v buildah >/dev/null; then
  buildah_ok=0 buildah_why="buildah is not installed"
else
  probe=$work/buildah-probe
  mkdir -p "$probe/ctx"
  printf 'FROM scratch\n' >"$probe/ctx/Dockerfile"
  if ! buildah bud --storage-driver vfs --root "$probe/root" --runroot "$probe/run" -f "$probe/ctx/Dockerfile" -t probe "$probe/ctx" >"$probe.log" 2>&1; then
    buildah_ok=0 buildah_why="buildah cannot run here: $(tail -3 "$probe.log" | tr '\n' ' ')"
  fi
  rm -rf "$probe"
fi

buildah_bud() {  # buildah_bud NAME ROOT LAYERS VARIANT KIND
  local name=$1 root=$2 layers=$3 variant=$4 kind=$5
  log "buildah $variant"
  timed "$name" bash -c 'cd "$1" && exec buildah bud --storage-driver vfs --root "$2" --runroot "$2.run" --layers="$3" -f Dockerfile -t bench .' _ "$ctx" "$root" "$layers"
  if [[ $t_rc == 0 ]]; then
    add_row buildah "$variant" "$t_secs" "$t_rss_mib" "$t_cpu" "$(disk_mib "$root")" "$kind"
  else
    add_row buildah "$variant" FAILED - - - other
  fi
}

if [[ $buildah_ok == 1 ]]; then
  buildah_bud buildah-nolayers "$work/buildah-nolayers" false "bud --layers=false" buildah
  rm -rf "$work/buildah-nolayers" "$work/buildah-nolayers.run"
  buildah_bud buildah-layers "$work/buildah-layers" true "bud --layers" buildah
  buildah_bud buildah-layers2 "$work/buildah-layers" true "bud --layers, second run" other
  rm -rf "$work/buildah-layers" "$work/buildah-layers.run"
else
  log "skipping buildah: $buildah_why"
fi

# 4. sealer, the other compressions, each into a fresh store.
sealer_build sealer-zstd "$work/store-zstd" zstd
rm -rf "$work/store-zstd"
sealer_build sealer-none "$work/store-none" none
# Check that the uncompressed layer holds every file of the context.
if [[ $t_rc == 0 ]]; then
  layer=$(sealer --root "$work/store-none" inspect bench:none | python3 -c 'import json,sys; print(json.load(sys.stdin)["platforms"][0]["layers"][-1]["digest"].split(":")[1])')
  in_layer=$(tar -tvf "$work/store-none/blobs/sha256/$layer" | grep -c '^-' || true)
  if [[ $in_layer == "$file_count" ]]; then
    check="the uncompressed layer holds all $in_layer files"
  else
    check="MISMATCH: the uncompressed layer holds $in_layer files, the context $file_count"
  fi
else
  check="not checked (the --compression none build failed)"
fi
rm -rf "$work/store-none"

# 5. Growth (BENCH_GROWTH=1): contexts of only small files (256 B-4 KiB), a build and its no-op
#    rebuild each, to see how time and peak RSS grow with the file count.
growth_rows=()
if [[ ${BENCH_GROWTH:-0} == 1 ]]; then
  for n in ${BENCH_GROWTH_FILES:-27000 200000}; do
    g=$work/growth-$n
    mkdir -p "$g"
    log "generating $n small files"
    g_summary=$(python3 "$repo/bench/gen-build-context.py" "$g" 0 "$seed" "$n")
    printf 'FROM scratch\nCOPY data data\n' >"$g/Kubefile"
    sync
    log "sealer build of $n files"
    timed "growth-$n" $sealer_node "$sealer_js" --root "$work/store-growth-$n" --progress plain build -t "bench:g$n" "$g"
    b_secs=$t_secs b_rss=$t_rss_mib b_rc=$t_rc
    timed "growth-$n-noop" $sealer_node "$sealer_js" --root "$work/store-growth-$n" --progress plain build -t "bench:g$n" "$g"
    cached=$(grep -c '^STEP .*(CACHED)' "$work/growth-$n-noop.err" || true)
    [[ $b_rc == 0 && $t_rc == 0 ]] || b_secs=FAILED
    growth_rows+=("$n"$'\x1f'"$g_summary"$'\x1f'"$b_secs"$'\x1f'"$b_rss"$'\x1f'"$t_secs"$'\x1f'"$t_rss_mib"$'\x1f'"$cached")
    rm -rf "$g" "$work/store-growth-$n"
  done
fi

# --- report -----------------------------------------------------------------------------------
ref_secs= ref_rss= ref_name=
for r in "${rows[@]}"; do
  IFS=$'\x1f' read -r tool variant secs rss cpu disk kind <<<"$r"
  if [[ $kind == buildah ]] && { [[ -z $ref_secs ]] || awk -v a="$secs" -v b="$ref_secs" 'BEGIN { exit !(a < b) }'; }; then
    ref_secs=$secs ref_rss=$rss ref_name="buildah $variant"
  fi
done

echo
echo "build-copy: $gen_summary; $file_count files, $data_mib MiB on disk ($fstype), generated in ${gen_secs}s"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); sealer $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?'), node $(node --version), $(buildah --version 2>/dev/null || echo 'no buildah'); timer: $timer"
if [[ -n $ref_secs ]]; then
  echo "ratios: sealer / the faster buildah first build ($ref_name); below 1 means sealer is faster or smaller"
else
  echo "ratios: none, buildah did not run${buildah_why:+ ($buildah_why)}"
fi
echo
fmt='%-8s %-34s %8s %13s %7s %10s %11s %10s\n'
# shellcheck disable=SC2059
printf "$fmt" tool variant seconds "peak RSS MiB" "CPU s" "store MiB" "time ratio" "RSS ratio"
for r in "${rows[@]}"; do
  IFS=$'\x1f' read -r tool variant secs rss cpu disk kind <<<"$r"
  tr=- rr=-
  if [[ $kind == sealer && -n $ref_secs ]]; then
    tr=$(awk -v a="$secs" -v b="$ref_secs" 'BEGIN { printf "%.2f", a / b }')
    rr=$(awk -v a="$rss" -v b="$ref_rss" 'BEGIN { printf "%.2f", a / b }')
  fi
  # shellcheck disable=SC2059
  printf "$fmt" "$tool" "$variant" "$secs" "$rss" "$cpu" "$disk" "$tr" "$rr"
done
echo
echo "check: $check"
echo "no-op rebuild: sealer ${noop_secs} s ($noop_note); target < 0.3 s; \`sealer --version\` alone: $(/usr/bin/time -f %e $sealer_node "$sealer_js" --version 2>&1 >/dev/null | tail -1) s"

if ((${#growth_rows[@]} > 0)); then
  echo
  echo "growth: sealer build (gzip) and its no-op rebuild, contexts of small files only"
  gfmt='%-8s %-30s %9s %9s %9s %9s %7s\n'
  # shellcheck disable=SC2059
  printf "$gfmt" files context "build s" "RSS MiB" "no-op s" "RSS MiB" cached
  for r in "${growth_rows[@]}"; do
    IFS=$'\x1f' read -r n summary bs brss ns nrss c <<<"$r"
    # shellcheck disable=SC2059
    printf "$gfmt" "$n" "$summary" "$bs" "$brss" "$ns" "$nrss" "$c"
  done
  IFS=$'\x1f' read -r n0 _ bs0 brss0 ns0 _ _ <<<"${growth_rows[0]}"
  IFS=$'\x1f' read -r n1 _ bs1 brss1 ns1 _ _ <<<"${growth_rows[-1]}"
  if [[ $n0 != "$n1" && $bs0 != FAILED && $bs1 != FAILED ]]; then
    awk -v n0="$n0" -v n1="$n1" -v b0="$bs0" -v b1="$bs1" -v r0="$brss0" -v r1="$brss1" -v z0="$ns0" -v z1="$ns1" 'BEGIN {
      printf "growth %s -> %s files (x%.1f): build time x%.2f, build peak RSS x%.2f (%+d MiB), no-op time x%.2f; linear or better: time ratio <= file ratio, RSS flat\n", n0, n1, n1 / n0, b1 / b0, r1 / r0, r1 - r0, z1 / z0 }'
  fi
fi

if [[ ${BENCH_PROFILE:-0} == 1 && -d $work/prof ]]; then
  mkdir -p "$repo/.tmp/bench-profiles"
  cp "$work"/prof/*.cpuprofile "$repo/.tmp/bench-profiles/"
  echo "cpu profile: $(ls "$repo"/.tmp/bench-profiles/*.cpuprofile | tail -1)"
fi
