#!/usr/bin/env bash
# Start-up cost of the CLI: `sealer --version`, `sealer images` on an empty store and
# `sealer --help`, beside `node -e 0` (the floor every node program pays), `skopeo --version` and
# `buildah images` on an empty store, in one interleaved run. See bench/README.md.
#
#   bench/startup.sh                 # 30 runs of each
#   BENCH_RUNS=10 bench/startup.sh   # quick check
#
# Environment:
#   BENCH_RUNS      runs of each command (default 30)
#   BENCH_TMPDIR    where the temp dir goes (default /var/tmp)
#   BENCH_COMPILE   0 to skip `tsc` and use what is in .tmp/dist-bench (default 1)
#   BENCH_KEEP      1 to keep the temp dir (default 0)
#   BENCH_BASELINE  another compiled main.js (e.g. of main, built elsewhere) to time beside this
#                   one, for a before/after in one run (default: none)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
runs=${BENCH_RUNS:-30}
tmpbase=${BENCH_TMPDIR:-/var/tmp}
dist=$repo/.tmp/dist-bench
target_ms=150
target_mib=60

[[ $runs =~ ^[0-9]+$ && $runs -ge 3 ]] || { echo "BENCH_RUNS must be a number >= 3" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (for the peak RSS)" >&2; exit 2; }

work=$(mktemp -d "$tmpbase/sealer-startup.XXXXXX")
cleanup() {
  local rc=$?
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

compile_sealer "$dist" "$work"
# Laid out as installed (package.json, dist/, node_modules): the CLI reads its version from the
# package.json three levels above dist/src/cli.
pkg=$work/pkg
mkdir -p "$pkg/dist"
cp "$repo/package.json" "$pkg/"
cp -r "$dist/src" "$pkg/dist/"
ln -s "$repo/node_modules" "$pkg/node_modules"
sealer_js=$pkg/dist/src/cli/main.js
store=$work/store
mkdir -p "$store"

# The commands, one a row: name, kind (floor, sealer: held to the target, peer, other), command
# line (split on spaces: no argument holds one).
names=() cmds=() kinds=()
add_cmd() { names+=("$1"); kinds+=("$2"); cmds+=("$3"); }
add_cmd "node -e 0 (floor)" floor "node -e 0"
add_cmd "sealer --version" sealer "$sealer_node $sealer_js --version"
add_cmd "sealer images (empty store)" sealer "$sealer_node $sealer_js --root $store images"
add_cmd "sealer --help" other "$sealer_node $sealer_js --help"
if [[ -n ${BENCH_BASELINE:-} ]]; then
  [[ -f $BENCH_BASELINE ]] || { echo "BENCH_BASELINE: no file $BENCH_BASELINE" >&2; exit 2; }
  mkdir -p "$work/store-baseline"
  add_cmd "baseline --version" other "node $BENCH_BASELINE --version"
  add_cmd "baseline images (empty store)" other "node $BENCH_BASELINE --root $work/store-baseline images"
fi
if command -v skopeo >/dev/null; then add_cmd "skopeo --version" peer "skopeo --version"; fi
buildah_why=
if ! command -v buildah >/dev/null; then
  buildah_why="buildah is not installed"
elif ! buildah --storage-driver vfs --root "$work/buildah" --runroot "$work/buildah.run" images >"$work/buildah.log" 2>&1; then
  buildah_why="buildah cannot run here: $(tail -2 "$work/buildah.log" | tr '\n' ' ')"
else
  add_cmd "buildah images (empty store)" peer "buildah --storage-driver vfs --root $work/buildah --runroot $work/buildah.run images"
fi

# Each command once before timing (page cache, the store's first open), and its exit code checked.
for i in "${!cmds[@]}"; do
  # shellcheck disable=SC2086 # the command lines are words without quoting needs
  ${cmds[$i]} >/dev/null 2>"$work/check.err" || { log "${names[$i]} failed:"; cat "$work/check.err" >&2; exit 1; }
done

# Interleaved: run r of every command, then run r+1, so a busy moment hits all rows alike.
log "timing ${#cmds[@]} commands x $runs runs"
for ((r = 0; r < runs; r++)); do
  for i in "${!cmds[@]}"; do
    start=$EPOCHREALTIME
    # shellcheck disable=SC2086
    /usr/bin/time -f '%M %U %S' -o "$work/rss" ${cmds[$i]} >/dev/null 2>&1
    end=$EPOCHREALTIME
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$work/ms.$i"
    read -r kb user sys < <(tail -1 "$work/rss")
    echo "$kb" >>"$work/kb.$i"
    awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f\n", (u + s) * 1000 }' >>"$work/cpu.$i"
  done
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -n "$1" | tail -1; }

floor_ms=$(median "$work/ms.0")
floor_kb=$(maxof "$work/kb.0")
printf '\nStart-up, %s runs each, interleaved. ms, p90 ms: wall time (median, 90th percentile); CPU ms:\n' "$runs"
printf 'user+sys, median (10 ms steps; steadier than wall on a busy machine); RSS: the largest peak of the\nruns; x node: median ms over the node floor'"'"'s.\n'
printf '%-32s %8s %8s %8s %8s %8s  %s\n' command "ms" "p90 ms" "CPU ms" "RSS MiB" "x node" target
verdict=ok
for i in "${!cmds[@]}"; do
  ms=$(median "$work/ms.$i")
  p90=$(sort -n "$work/ms.$i" | awk '{ v[NR] = $1 } END { i = int(NR * 0.9 + 0.5); if (i < 1) i = 1; print v[i] }')
  cpu=$(median "$work/cpu.$i")
  kb=$(maxof "$work/kb.$i")
  mib=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
  ratio=$(awk -v a="$ms" -v b="$floor_ms" 'BEGIN { printf "%.2f", a / b }')
  note=
  if [[ ${kinds[$i]} == sealer ]]; then
    if awk -v m="$ms" -v k="$mib" -v tm="$target_ms" -v tk="$target_mib" 'BEGIN { exit !(m < tm && k < tk) }'; then
      note="< $target_ms ms, < $target_mib MiB: met"
    else
      note="< $target_ms ms, < $target_mib MiB: MISSED"
      verdict=missed
    fi
  fi
  printf '%-32s %8s %8s %8s %8s %8s  %s\n' "${names[$i]}" "$ms" "$p90" "$cpu" "$mib" "$ratio" "$note"
done
printf '\nnode floor: %s ms, %.1f MiB (node %s). Target for sealer --version and sealer images: under %s ms and %s MiB (%s).\n' \
  "$floor_ms" "$(awk -v k="$floor_kb" 'BEGIN { print k / 1024 }')" "$(node --version)" "$target_ms" "$target_mib" "$verdict"
printf 'load average at the end: %s on %s cores (near or above the cores, wall times include waiting for a\ncore: read CPU ms and x node)\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
[[ -z $buildah_why ]] || printf 'buildah row skipped: %s\n' "$buildah_why"
printf 'sealer compiled from %s into %s\n' "$(cat "$dist/.bench-source" 2>/dev/null || echo '?')" "${dist#"$repo"/}"
