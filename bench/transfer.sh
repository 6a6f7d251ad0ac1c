#!/usr/bin/env bash
# Moving a cluster image: `sealer push`, `pull`, `save` and `load` of one generated image against
# `skopeo copy` of the same image and `tar`/`cp` of the same bytes, in one run, with peak memory.
# See bench/README.md ("transfer.sh").
#
#   bench/transfer.sh                    # ~1 GiB image (context bytes, before compression)
#   BENCH_SIZE_MB=100 bench/transfer.sh  # quick check
#
# Environment:
#   BENCH_SIZE_MB   size of the build context in MiB (default 1024)
#   BENCH_SEED      seed of the generated data (default 42)
#   BENCH_TMPDIR    where the temp dir goes; must be a real disk, not tmpfs (default /var/tmp)
#   BENCH_DIST      compiled checkout to run (default .tmp/dist-bench-transfer)
#   BENCH_COMPILE   0 to skip `tsc` and use what is in BENCH_DIST (default 1)
#   BENCH_PROFILE   push|pull|save|load: after the timed runs, run that sealer operation once more
#                   under `node --cpu-prof`, print its top frames by self time and copy the profile
#                   to .tmp/bench-profiles/ (default: none)
#   BENCH_KEEP      1 to keep the temp dir (default 0)
#
# Every process this script starts listens on or talks to 127.0.0.1 only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
size_mb=${BENCH_SIZE_MB:-1024}
seed=${BENCH_SEED:-42}
tmpbase=${BENCH_TMPDIR:-/var/tmp}
dist=${BENCH_DIST:-$repo/.tmp/dist-bench-transfer}
[[ $dist == /* ]] || dist=$repo/$dist
sealer_js=$dist/src/cli/main.js
profile_op=${BENCH_PROFILE:-}

[[ $size_mb =~ ^[0-9]+$ && $size_mb -ge 16 ]] || { echo "BENCH_SIZE_MB must be a number >= 16" >&2; exit 2; }
[[ -z $profile_op || $profile_op =~ ^(push|pull|save|load)$ ]] || { echo "BENCH_PROFILE must be push, pull, save or load" >&2; exit 2; }
for tool in skopeo docker-registry curl python3 tar; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/apt-packages.txt)" >&2; exit 1; }
done
if [[ ! -x /usr/bin/time ]]; then
  echo "/usr/bin/time (GNU time) is missing: apt-get install -y time" >&2
  exit 1
fi

# Loopback only: no proxy may see the traffic.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

work=$(mktemp -d "$tmpbase/sealer-bench-transfer.XXXXXX")
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A reg_pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${reg_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${reg_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
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

# --- the context and the image ----------------------------------------------------------------
# 800/1024 of the bytes in four large files (two incompressible, two text-like, ~3:1 with gzip),
# the rest in small text-like files of 4-256 KiB (log-uniform; ~3,800 files at 1 GiB), 100 a
# directory. The same size and seed give the same bytes.
ctx=$work/ctx
mkdir -p "$ctx"
log "generating ${size_mb} MiB under $ctx ($fstype, seed $seed)"
gen_start=$EPOCHREALTIME
python3 "$repo/bench/gen-rootfs.py" "$ctx/data" "$size_mb" "$seed"
gen_secs=$(awk -v a="$gen_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
printf 'FROM scratch\nCOPY data data\n' >"$ctx/Kubefile"
file_count=$(find "$ctx/data" -type f | wc -l)
data_mib=$(du -sm "$ctx/data" | cut -f1)

image=transfer:v1
store_ref=docker.io/library/$image   # the ref name in the store's index.json
src=$work/store-src
log "sealer build --no-collect (timed separately)"
build_start=$EPOCHREALTIME
sealer --root "$src" --progress plain build -t "$image" --no-collect "$ctx" >"$work/build.out" 2>"$work/build.err" || {
  log "sealer build failed:"
  tail -20 "$work/build.err" >&2
  exit 1
}
build_secs=$(awk -v a="$build_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
rm -rf "$ctx"   # not needed any more; frees the disk and the page cache for what is measured

# The image's blobs: "digest size" lines (manifest, config, layers), the layer digests alone,
# and the total bytes every transfer moves.
python3 - "$src" "$store_ref" >"$work/blobs.txt" <<'EOF'
import json, os, sys
root, ref = sys.argv[1], sys.argv[2]
def blob(d):
    return os.path.join(root, 'blobs', *d.split(':'))
index = json.load(open(os.path.join(root, 'index.json')))
desc = next(m for m in index['manifests'] if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == ref)
todo = [desc]
while todo:
    d = todo.pop()
    print(d['digest'], d['size'], 'layer' if 'layer' in d['mediaType'] else 'meta')
    if d['mediaType'].endswith(('manifest.v1+json', 'manifest.v2+json', 'index.v1+json', 'list.v2+json')):
        m = json.load(open(blob(d['digest'])))
        todo += m.get('manifests', [])
        if 'config' in m:
            todo.append(m['config'])
        todo += m.get('layers', [])
EOF
image_bytes=$(awk '{ s += $2 } END { print s }' "$work/blobs.txt")
layer_digests=$(awk '$3 == "layer" { print $1 }' "$work/blobs.txt" | sort | tr '\n' ' ')
store_blob_bytes=$(find "$src/blobs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
image_mib=$(awk -v b="$image_bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
sync

# --- registries -------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# start_registry NAME: Debian's docker-registry on a free loopback port, storage under
# $work/NAME/storage (on disk); sets reg_host.
start_registry() {
  local name=$1 dir=$work/$1 port
  mkdir -p "$dir/storage"
  port=$(free_port)
  cat >"$dir/config.yml" <<EOF
version: 0.1
log: { level: warn, formatter: text, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $dir/storage }
  delete: { enabled: true }
  maintenance: { uploadpurging: { enabled: false } }
http: { addr: "127.0.0.1:$port", secret: sealer-bench-secret }
EOF
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  reg_pids[$name]=$!
  local i
  for ((i = 0; i < 200; i++)); do
    if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null | grep -q '^200$'; then
      reg_host=127.0.0.1:$port
      return 0
    fi
    kill -0 "${reg_pids[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  log "docker-registry $name did not start:"
  cat "$dir/log" >&2
  exit 1
}
stop_registry() {  # stop_registry NAME: kill it and remove its storage
  local name=$1
  kill "${reg_pids[$name]}" 2>/dev/null || true
  wait "${reg_pids[$name]}" 2>/dev/null || true
  unset "reg_pids[$name]"
  rm -rf "${work:?}/$name"
}

# --- timing -----------------------------------------------------------------------------------
# timed NAME CMD...: runs CMD under GNU `time -v` with stdout/stderr in $work/NAME.{out,err};
# sets t_secs (wall, from bash), t_rss_mib (peak RSS of the largest process), t_cpu, t_rc.
timed() {
  local name=$1
  shift
  sync
  t_rc=0
  local start=$EPOCHREALTIME
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || t_rc=$?
  t_secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  t_rss_mib=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/$name.time")
  t_cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$work/$name.time")
  if [[ $t_rc != 0 ]]; then
    log "  $name failed (exit $t_rc):"
    tail -15 "$work/$name.err" >&2
  fi
}

# Results, keyed "OP|TOOL": the seconds of each run, the largest peak RSS and CPU of any run.
declare -A r_secs=() r_rss=() r_cpu=() r_failed=()
row_keys=()
record() {  # record OP TOOL (after timed)
  local key="$1|$2"
  [[ -n ${r_secs[$key]+x} ]] || row_keys+=("$key")
  r_secs[$key]="${r_secs[$key]:-}${r_secs[$key]:+ }$t_secs"
  if [[ -z ${r_rss[$key]:-} ]] || ((t_rss_mib > r_rss[$key])); then r_rss[$key]=$t_rss_mib; fi
  r_cpu[$key]="${r_cpu[$key]:-}${r_cpu[$key]:+ }$t_cpu"
  [[ $t_rc == 0 ]] || r_failed[$key]=1
}
checks=()
check() { checks+=("$1"); log "check: $1"; }

# has_layers DIR WHAT: every layer blob of the image is in the OCI layout DIR with the right hash.
has_layers() {
  local dir=$1 what=$2 d bad=0
  for d in $layer_digests; do
    local f=$dir/blobs/sha256/${d#sha256:}
    if [[ ! -f $f ]] || [[ $(sha256sum "$f" | cut -d' ' -f1) != "${d#sha256:}" ]]; then bad=1; fi
  done
  if [[ $bad == 0 ]]; then check "$what: every layer present, sha256 matches"; else check "$what: MISSING OR BAD LAYERS"; fi
}
# registry_layers HOST/REPO:TAG WHAT: the registry serves the image with the store's layers.
registry_layers() {
  local got
  got=$(skopeo inspect --tls-verify=false --no-creds "docker://$1" 2>"$work/inspect.err" |
    python3 -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin)["Layers"])) + " ")' 2>>"$work/inspect.err" || true)
  if [[ $got == "$layer_digests" ]]; then check "$2: skopeo inspect shows the store's layers"; else check "$2: LAYERS DIFFER ($got)"; fi
}

ord=0
run_id() { ord=$((ord + 1)); printf '%02d-%s' "$ord" "$1"; }

# Each pair runs twice in ABBA order (sealer, peer(s), peer(s) reversed, sealer): the page cache
# cannot be dropped here, so each tool gets one run before and one after the other.

# --- push: each run into a fresh registry, so nothing is already there to mount or skip -------
push_sealer() {
  start_registry "reg-$1"
  local dest=$reg_host/sealer/transfer:v1
  log "push $1: sealer push -> $dest"
  timed "$(run_id push-sealer)" node "${prof[@]}" "$sealer_js" --root "$src" --progress plain push "$image" "$dest"
  [[ ${#prof[@]} -gt 0 ]] && return 0
  record push "sealer push"
  [[ $1 == 1 ]] && registry_layers "$dest" "sealer push"
  if [[ $1 == 1 ]]; then pull_src=$dest; else stop_registry "reg-$1"; fi   # the first stays for the pulls
}
push_skopeo() {
  start_registry "reg-skopeo-$1"
  local dest=$reg_host/skopeo/transfer:v1
  log "push $1: skopeo copy oci: -> docker://$dest"
  timed "$(run_id push-skopeo)" skopeo copy --quiet --dest-tls-verify=false --dest-no-creds "oci:$src:$store_ref" "docker://$dest"
  record push "skopeo copy oci: -> docker://"
  [[ $1 == 1 ]] && registry_layers "$dest" "skopeo copy to the registry"
  stop_registry "reg-skopeo-$1"
}
prof=()
push_sealer 1
push_skopeo 1
push_skopeo 2
push_sealer 2

# --- pull: both from the registry sealer pushed to, each run into a fresh store/dir -----------
pull_sealer() {
  local dest=$work/pull-sealer-$1
  log "pull $1: sealer pull $pull_src"
  timed "$(run_id pull-sealer)" node "${prof[@]}" "$sealer_js" --root "$dest" --progress plain pull "$pull_src"
  [[ ${#prof[@]} -gt 0 ]] && { rm -rf "$dest"; return 0; }
  record pull "sealer pull"
  [[ $1 == 1 ]] && has_layers "$dest" "sealer pull"
  rm -rf "$dest"
}
pull_skopeo() {
  local dest=$work/pull-skopeo-$1
  log "pull $1: skopeo copy docker://$pull_src -> oci:"
  timed "$(run_id pull-skopeo)" skopeo copy --quiet --src-tls-verify=false --src-no-creds "docker://$pull_src" "oci:$dest:x"
  record pull "skopeo copy docker:// -> oci:"
  [[ $1 == 1 ]] && has_layers "$dest" "skopeo copy from the registry"
  rm -rf "$dest"
}
pull_sealer 1
pull_skopeo 1
pull_skopeo 2
pull_sealer 2

# --- save: one archive of the image vs tar/cp of the same store files -------------------------
save_sealer() {
  local out=$work/save-sealer-$1.tar
  log "save $1: sealer save -o X.tar"
  timed "$(run_id save-sealer)" node "${prof[@]}" "$sealer_js" --root "$src" --progress plain save -o "$out" "$image"
  [[ ${#prof[@]} -gt 0 ]] && { rm -f "$out"; return 0; }
  record save "sealer save -o X.tar"
  if [[ $1 == 1 ]]; then
    archive=$out
    archive_bytes=$(stat -c %s "$out")
    if skopeo inspect --raw "oci-archive:$out:$store_ref" >/dev/null 2>"$work/inspect.err"; then
      check "sealer save: skopeo inspect oci-archive: reads it ($archive_bytes bytes)"
    else
      check "sealer save: skopeo inspect oci-archive: FAILED ($(head -c 300 "$work/inspect.err"))"
    fi
  else
    rm -f "$out"
  fi
}
save_tar() {
  local out=$work/save-tar-$1.tar
  log "save $1: tar -cf of the store's layout"
  timed "$(run_id save-tar)" tar -cf "$out" -C "$src" oci-layout index.json blobs
  record save "tar -cf (store blobs)"
  rm -f "$out"
}
save_cp() {
  local out=$work/save-cp-$1
  log "save $1: cp -r of the store's blobs"
  timed "$(run_id save-cp)" cp -r "$src/blobs" "$out"
  record save "cp -r (store blobs)"
  rm -rf "$out"
}
save_sealer 1
save_tar 1
save_cp 1
save_cp 2
save_tar 2
save_sealer 2

# --- load: the archive of the first save, each run into a fresh store/dir ---------------------
load_sealer() {
  local dest=$work/load-sealer-$1
  log "load $1: sealer load -i X.tar"
  timed "$(run_id load-sealer)" node "${prof[@]}" "$sealer_js" --root "$dest" --progress plain load -i "$archive"
  [[ ${#prof[@]} -gt 0 ]] && { rm -rf "$dest"; return 0; }
  record load "sealer load -i X.tar"
  [[ $1 == 1 ]] && has_layers "$dest" "sealer load"
  rm -rf "$dest"
}
load_tar() {
  local dest=$work/load-tar-$1
  mkdir -p "$dest"
  log "load $1: tar -xf X.tar"
  timed "$(run_id load-tar)" tar -xf "$archive" -C "$dest"
  record load "tar -xf X.tar"
  rm -rf "$dest"
}
load_tar_verify() {  # the floor for a load that checks digests: extract, then hash every blob
  local dest=$work/load-tarv-$1
  mkdir -p "$dest"
  log "load $1: tar -xf X.tar + sha256sum of every blob"
  timed "$(run_id load-tarv)" bash -c 'tar -xf "$1" -C "$2" && cd "$2/blobs/sha256" && for f in *; do echo "$f  $f"; done | sha256sum --quiet -c -' _ "$archive" "$dest"
  record load "tar -xf + sha256sum -c"
  rm -rf "$dest"
}
load_sealer 1
load_tar 1
load_tar_verify 1
load_tar_verify 2
load_tar 2
load_sealer 2

# --- optional profile of one sealer operation --------------------------------------------------
profile_note=
if [[ -n $profile_op ]]; then
  prof=(--cpu-prof --cpu-prof-dir "$work/prof")
  log "profiling sealer $profile_op"
  case $profile_op in
    push) push_sealer prof; stop_registry reg-prof ;;
    pull) pull_sealer prof ;;
    save) save_sealer prof ;;
    load) load_sealer prof ;;
  esac
  prof_secs=$t_secs
  prof=()
  prof_file=$(ls "$work"/prof/*.cpuprofile 2>/dev/null | head -1 || true)
  if [[ -n $prof_file ]]; then
    mkdir -p "$repo/.tmp/bench-profiles"
    saved=$repo/.tmp/bench-profiles/transfer-$profile_op-${size_mb}MB-$(date +%Y%m%d%H%M%S).cpuprofile
    cp "$prof_file" "$saved"
    profile_note=$(
      python3 "$repo/bench/profile-top.py" "$prof_file"
    )
    profile_note="cpu profile of sealer $profile_op (${prof_secs}s under --cpu-prof): $saved"$'\n'"$profile_note"
  fi
fi

# --- the fixed cost of one sealer process ------------------------------------------------------
timed startup $sealer_node "$sealer_js" --root "$work/empty-store" --progress quiet images
startup="sealer startup (images, empty store): ${t_secs}s, ${t_rss_mib} MiB peak RSS"
timed startup-skopeo skopeo --version
startup="$startup; skopeo --version: ${t_secs}s, ${t_rss_mib} MiB"

# --- report -----------------------------------------------------------------------------------
best() { tr ' ' '\n' <<<"$1" | sort -g | head -1; }
echo
echo "transfer: ${size_mb} MiB context ($file_count files, $data_mib MiB on disk, $fstype), generated in ${gen_secs}s; sealer build --no-collect ${build_secs}s (not in the table)"
echo "image: $(wc -l <"$work/blobs.txt") blobs, $image_bytes bytes ($image_mib MiB, gzip layer); store blobs $store_blob_bytes bytes"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); sealer $(cat "$dist/.bench-source" 2>/dev/null || echo "compiled outside this script; HEAD now $(cd "$repo" && git rev-parse --short HEAD)"), node $(node --version), $(skopeo --version), $(docker-registry --version 2>/dev/null | awk '{ print $1, $3 }')"
echo "$startup (a fixed cost in every sealer row)"
echo "load average: $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (others' work on this machine shows here)"
echo "method: each pair ran twice in ABBA order (sealer, peer, peer, sealer; page cache warm, it cannot be dropped here);"
echo "        seconds = the faster of the two runs (both in 'runs'); MB/s = image bytes (10^6) / seconds;"
echo "        CPU s = user+sys of the faster run; peak RSS = the larger of the two runs, largest single process"
echo "        (GNU time -v); ratios = sealer / this row (time: below 1 means sealer is faster)"
echo
fmt='%-5s %-30s %8s %-13s %8s %9s %9s %11s %10s\n'
# shellcheck disable=SC2059
printf "$fmt" op tool seconds runs MB/s "RSS MiB" "CPU s" "time ratio" "RSS ratio"
for key in "${row_keys[@]}"; do
  op=${key%%|*} tool=${key#*|}
  secs=$(best "${r_secs[$key]}")
  mbs=$(awk -v b="$image_bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')
  cpu=$(paste -d' ' <(tr ' ' '\n' <<<"${r_secs[$key]}") <(tr ' ' '\n' <<<"${r_cpu[$key]}") | sort -g | head -1 | cut -d' ' -f2)
  tr=- rr=-
  if [[ $tool != sealer* ]]; then
    skey=$(printf '%s\n' "${row_keys[@]}" | grep "^$op|sealer" | head -1)
    ssecs=$(best "${r_secs[$skey]}")
    tr=$(awk -v a="$ssecs" -v b="$secs" 'BEGIN { printf "%.2f", a / b }')
    rr=$(awk -v a="${r_rss[$skey]}" -v b="${r_rss[$key]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  fi
  [[ -z ${r_failed[$key]:-} ]] || secs="FAILED"
  # shellcheck disable=SC2059
  printf "$fmt" "$op" "$tool" "$secs" "${r_secs[$key]// //}" "$mbs" "${r_rss[$key]}" "$cpu" "$tr" "$rr"
done
echo
for c in "${checks[@]}"; do echo "check: $c"; done
[[ -z $profile_note ]] || { echo; echo "$profile_note"; }
