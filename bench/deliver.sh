#!/usr/bin/env bash
# Delivering a cluster image: `sealer run` of a ~1 GiB rootfs to 3 SSH hosts (1 master, 2 nodes)
# against `scp` of the same content as one uncompressed tarball to one host, in one run, with peak
# memory. The hosts are containers from the test node image on a Docker network this script
# creates. See bench/README.md ("deliver.sh").
#
#   bench/deliver.sh                    # ~1 GiB rootfs
#   BENCH_SIZE_MB=100 bench/deliver.sh  # quick check
#
# Environment:
#   BENCH_SIZE_MB   size of the rootfs in MiB (default 1024)
#   BENCH_SEED      seed of the generated data (default 42)
#   BENCH_TMPDIR    where the temp dir goes; must be a real disk, not tmpfs (default /var/tmp)
#   BENCH_DIST      compiled checkout to run (default .tmp/dist-bench5)
#   BENCH_COMPILE   0 to skip `tsc` and use what is in BENCH_DIST (default 1)
#   BENCH_PROFILE   1: after the timed runs, `sealer delete -a` and one more `sealer run` under
#                   `node --cpu-prof`, then the unchanged re-run under it too; prints their top
#                   frames by self time and copies the profiles to .tmp/bench-profiles/ (default 0)
#   BENCH_KEEP      1 to keep the temp dir (default 0; containers and network are always removed)
#
# Traffic goes only to the containers this script starts (and to 127.0.0.1).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
size_mb=${BENCH_SIZE_MB:-1024}
seed=${BENCH_SEED:-42}
tmpbase=${BENCH_TMPDIR:-/var/tmp}
dist=${BENCH_DIST:-$repo/.tmp/dist-bench5}
[[ $dist == /* ]] || dist=$repo/$dist
sealer_js=$dist/src/cli/main.js
profile=${BENCH_PROFILE:-0}
password=sealer-test-root   # the node image's root password (test hosts only)
cluster=bench
remote_rootfs=/var/lib/sealer/data/$cluster/rootfs

[[ $size_mb =~ ^[0-9]+$ && $size_mb -ge 16 ]] || { echo "BENCH_SIZE_MB must be a number >= 16" >&2; exit 2; }
for tool in docker ssh scp ssh-keygen python3 tar sha256sum ip; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/apt-packages.txt)" >&2; exit 1; }
done
if [[ ! -x /usr/bin/time ]]; then
  echo "/usr/bin/time (GNU time) is missing: apt-get install -y time" >&2
  exit 1
fi

# No proxy may see the traffic (it all goes to our containers or loopback).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY


work=$(mktemp -d "$tmpbase/sealer-bench-deliver.XXXXXX")
cd "$work"   # nothing this script writes lands in the caller's directory
tag="$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
network=sealer-bench-deliver-$tag
label=sealer-bench-run=$tag
net_created=0
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local ids
  ids=$(docker ps -aq --filter "label=$label" 2>/dev/null || true)
  if [[ -n $ids ]]; then
    # shellcheck disable=SC2086
    docker rm -f -v $ids >/dev/null 2>&1 || true
  fi
  if [[ $net_created == 1 ]]; then docker network rm "$network" >/dev/null 2>&1 || true; fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    log "kept $work"
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

# --- docker and the node image ----------------------------------------------------------------
bash "$repo/scripts/start-dockerd.sh" 2>"$work/dockerd.log" || { cat "$work/dockerd.log" >&2; exit 1; }
node_image=$(bash "$repo/scripts/build-node-image.sh" 2>"$work/node-image.log") || { cat "$work/node-image.log" >&2; exit 1; }

# --- the context and the image ----------------------------------------------------------------
# 800/1024 of the bytes in four large files (two incompressible, two text-like that gzip ~3:1),
# the rest in small text-like files of 4-256 KiB (log-uniform; ~3,800 files at 1 GiB), 100 a
# directory. The same size and seed give the same bytes.
ctx=$work/ctx
mkdir -p "$ctx"
log "generating ${size_mb} MiB under $ctx ($fstype, seed $seed)"
gen_start=$EPOCHREALTIME
python3 "$repo/bench/gen-rootfs.py" "$ctx" "$size_mb" "$seed"
gen_secs=$(awk -v a="$gen_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
printf 'FROM scratch\nCOPY . .\n' >"$ctx/Kubefile"

image=deliver:v1
store=$work/store
known_hosts=$work/known_hosts
log "sealer build --no-collect (timed separately)"
build_start=$EPOCHREALTIME
$sealer_node "$sealer_js" --root "$store" --progress plain build --no-collect -t "$image" "$ctx" >"$work/build.out" 2>"$work/build.err" || {
  log "sealer build failed:"
  tail -20 "$work/build.err" >&2
  exit 1
}
build_secs=$(awk -v a="$build_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
rm -rf "$ctx"   # the rootfs comes from the store from here on

# `sealer run` assembles the image's rootfs (unpacks its layers) once per image, on its first
# run, and reuses it after. scp gets a tarball made beforehand, so sealer gets its rootfs
# beforehand too: a run against a closed loopback port assembles it and then fails to connect.
log "assembling the rootfs (sealer run against 127.0.0.1:1, which refuses; not in the table)"
asm_start=$EPOCHREALTIME
if SEALER_PASSWORD=$password $sealer_node "$sealer_js" --root "$store" --progress plain run --known-hosts "$known_hosts" \
  --port 1 --cluster-name "$cluster" -m 127.0.0.1 "$image" >"$work/assemble.out" 2>"$work/assemble.err"; then
  log "the run against 127.0.0.1:1 did not fail?"
  exit 1
fi
asm_secs=$(awk -v a="$asm_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
mapfile -t rootfs_dirs < <(find "$store/rootfs" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)
if [[ ${#rootfs_dirs[@]} != 1 ]]; then
  log "expected one assembled rootfs under $store/rootfs, found ${#rootfs_dirs[@]}:"
  tail -5 "$work/assemble.err" >&2
  exit 1
fi
rootfs=${rootfs_dirs[0]}
file_count=$(find "$rootfs" -type f | wc -l)
rootfs_bytes=$(find "$rootfs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
rootfs_mib=$(awk -v b="$rootfs_bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
layer_bytes=$(find "$store/blobs" -type f -size +1M -printf '%s\n' | sort -n | tail -1)
layer_mib=$(awk -v b="$layer_bytes" 'BEGIN { printf "%.0f", b / 1048576 }')

# The same content as one uncompressed tarball, made before any timing.
tarball=$work/rootfs.tar
tar -cf "$tarball" -C "$rootfs" .
tar_bytes=$(stat -c %s "$tarball")
tar_sha=$(sha256sum "$tarball" | cut -d' ' -f1)
verify_files=(large/random-1.bin large/text-2.log)
declare -A local_sha=()
for f in "${verify_files[@]}"; do local_sha[$f]=$(sha256sum "$rootfs/$f" | cut -d' ' -f1); done
sync

# --- hosts: 3 containers on a network of their own ---------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C sealer-bench -f "$work/id_ed25519"
pubkey=$(cat "$work/id_ed25519.pub")

# A free /24 for the network (never one this machine routes), retried on overlap like the tests.
pick_subnet() {
  python3 - <<'EOF'
import ipaddress, random, re, subprocess
out = subprocess.run(['ip', '-4', 'route', 'show'], capture_output=True, text=True).stdout
routed = []
for line in out.splitlines():
    m = re.match(r'^(\d+\.\d+\.\d+\.\d+(/\d+)?)\s', line)
    if m:
        routed.append(ipaddress.ip_network(m.group(1), strict=False))
for _ in range(100):
    net = ipaddress.ip_network(f'10.{200 + random.randrange(50)}.{random.randrange(256)}.0/24')
    if not any(net.overlaps(r) for r in routed):
        print(net)
        break
EOF
}
subnet=
for _ in 1 2 3 4 5 6 7 8; do
  subnet=$(pick_subnet)
  [[ -n $subnet ]] || continue
  if docker network create --subnet "$subnet" --label "$label" "$network" >/dev/null 2>"$work/net.err"; then
    net_created=1
    break
  fi
  grep -qi overlap "$work/net.err" || { cat "$work/net.err" >&2; exit 1; }
done
[[ $net_created == 1 ]] || { log "no free subnet for the bench network"; exit 1; }
prefix=${subnet%.0/24}
ips=("$prefix.10" "$prefix.11" "$prefix.12")
names=()
for i in 0 1 2; do
  name=sealer-bench-node-$tag-$i
  docker run -d --name "$name" --hostname "node$i" --network "$network" --ip "${ips[$i]}" \
    --label "$label" -e "SEALER_AUTHORIZED_KEY=$pubkey" "$node_image" >/dev/null
  names+=("$name")
done
mapfile -t host_ids < <(docker inspect -f '{{.Id}}' "${names[@]}")
wait_ssh() {  # wait_ssh IP: until something on IP:22 sends an SSH banner (30 s)
  local i banner
  for ((i = 0; i < 150; i++)); do
    banner=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -c 4 <&3' _ "$1" 2>/dev/null || true)
    [[ $banner == SSH- ]] && return 0
    sleep 0.2
  done
  log "sshd on $1 did not answer within 30 s"
  exit 1
}
for ip in "${ips[@]}"; do wait_ssh "$ip"; done
log "hosts up: ${ips[*]} on $network ($subnet)"
dexec() { docker exec "$1" sh -c "$2"; }   # dexec NAME SCRIPT: on a host, not through SSH

# --- timing -----------------------------------------------------------------------------------
# hosts_cpu_ns: CPU time (ns) the 3 containers have used so far (cgroup v1 cpuacct or v2 cpu.stat);
# empty when the cgroup files are not where Docker usually puts them.
hosts_cpu_ns() {
  local id f sum=0 v
  for id in "${host_ids[@]}"; do
    v=
    for f in /sys/fs/cgroup/cpuacct/docker/$id/cpuacct.usage /sys/fs/cgroup/cpu,cpuacct/docker/$id/cpuacct.usage; do
      [[ -r $f ]] && { v=$(<"$f"); break; }
    done
    if [[ -z $v ]]; then
      for f in /sys/fs/cgroup/system.slice/docker-$id.scope/cpu.stat /sys/fs/cgroup/docker/$id/cpu.stat; do
        [[ -r $f ]] && { v=$(awk '$1 == "usage_usec" { print $2 * 1000 }' "$f"); break; }
      done
    fi
    [[ -n $v ]] || return 0
    sum=$((sum + v))
  done
  echo "$sum"
}
cpu_stat() { awk '/^cpu / { idle = $5 + $6; t = 0; for (i = 2; i <= NF; i++) t += $i; print t, idle }' /proc/stat; }
# timed NAME CMD...: runs CMD under GNU `time -v` with stdout/stderr in $work/NAME.{out,err};
# sets t_secs (wall), t_rss_mib (peak RSS of the largest process), t_cpu (user+sys of CMD and
# its children), t_hcpu (CPU seconds the 3 hosts used meanwhile: sshd, tar, gzip...), t_box (busy
# share of all cores of the machine meanwhile: hosts, us and everyone else), t_rc.
timed() {
  local name=$1
  shift
  sync
  t_rc=0
  local c0 c1 h0 h1 start=$EPOCHREALTIME
  c0=$(cpu_stat)
  h0=$(hosts_cpu_ns)
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || t_rc=$?
  t_secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  c1=$(cpu_stat)
  h1=$(hosts_cpu_ns)
  if [[ -n $h0 && -n $h1 ]]; then t_hcpu=$(awk -v a="$h0" -v b="$h1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'); else t_hcpu=-; fi
  t_box=$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; i = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (t - i) / t : 0) }')
  t_rss_mib=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/$name.time")
  t_cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$work/$name.time")
  if [[ $t_rc != 0 ]]; then
    log "  $name failed (exit $t_rc):"
    tail -15 "$work/$name.err" >&2
  fi
}

declare -A r_secs=() r_rss=() r_cpu=() r_hcpu=() r_box=() r_failed=() r_bytes=()
row_keys=()
record() {  # record KEY BYTES (after timed): BYTES is what one host received
  local key=$1
  [[ -n ${r_secs[$key]+x} ]] || row_keys+=("$key")
  r_secs[$key]="${r_secs[$key]:-}${r_secs[$key]:+ }$t_secs"
  if [[ -z ${r_rss[$key]:-} ]] || ((t_rss_mib > r_rss[$key])); then r_rss[$key]=$t_rss_mib; fi
  r_cpu[$key]="${r_cpu[$key]:-}${r_cpu[$key]:+ }$t_cpu"
  r_box[$key]="${r_box[$key]:-}${r_box[$key]:+ }$t_box"
  r_hcpu[$key]="${r_hcpu[$key]:-}${r_hcpu[$key]:+ }$t_hcpu"
  r_bytes[$key]=$2
  [[ $t_rc == 0 ]] || r_failed[$key]=1
}
checks=()
check() { checks+=("$1"); log "check: $1"; }

ord=0
next_id() { ord=$((ord + 1)); rid=$(printf '%02d-%s' "$ord" "$1"); }   # sets rid

export SEALER_PASSWORD=$password   # read by every sealer run/delete below
run_args=(--root "$store" --progress plain run --known-hosts "$known_hosts" --cluster-name "$cluster"
  -m "${ips[0]}" -n "${ips[1]},${ips[2]}" --format json "$image")

# delivered FILE: "ip=bytes ..." from `sealer run --format json`
delivered() {
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])).get("delivered", {}); print(" ".join(f"{k}={v}" for k, v in sorted(d.items())))' "$1" 2>/dev/null || echo '?'
}

# verify_hosts WHAT [DIR]: the sha256 of the large files under DIR (default: where sealer puts the
# rootfs) on every host equals the local one, and every host has as many files there as locally.
verify_hosts() {
  local what=$1 remote_rootfs=${2:-$remote_rootfs} i f got n bad=()
  for i in 0 1 2; do
    for f in "${verify_files[@]}"; do
      got=$(dexec "${names[$i]}" "sha256sum '$remote_rootfs/$f' 2>/dev/null | cut -d' ' -f1" || true)
      [[ $got == "${local_sha[$f]}" ]] || bad+=("${ips[$i]}:$f sha256 ${got:-missing}")
    done
    n=$(dexec "${names[$i]}" "find '$remote_rootfs' -type f | wc -l" 2>/dev/null || echo 0)
    [[ $n == "$file_count" ]] || bad+=("${ips[$i]}: $n files, local $file_count")
  done
  if [[ ${#bad[@]} == 0 ]]; then
    check "$what: sha256 of ${verify_files[*]} on all 3 hosts = local (${local_sha[${verify_files[0]}]:0:12}…), $file_count files each"
  else
    check "$what: MISMATCH: ${bad[*]}"
  fi
}

# streamed FILE: per host, what the delivery streams carried (`streams` of `sealer run --format json`):
# wire bytes, file bytes sent as they are, file bytes through the compressor, and the compression.
streamed() {
  python3 - "$1" <<'PY' 2>/dev/null || echo '?'
import json, sys
d = json.load(open(sys.argv[1])).get('streams', {})
print(' '.join(f"{k}: wire={v['wireBytes']} stored={v['storedBytes']} packed={v['packedBytes']} ({v['compression']})" for k, v in sorted(d.items())))
PY
}
# wire_total FILE: bytes all hosts' streams carried (for the table's "sent" column)
wire_total() {
  python3 -c 'import json, sys; print(sum(v["wireBytes"] for v in json.load(open(sys.argv[1])).get("streams", {}).values()))' "$1" 2>/dev/null || echo '?'
}
declare -A r_sent=()
sealer_run() {  # sealer_run N: a full delivery to hosts that have nothing
  log "sealer run $1: 1 master + 2 nodes"
  next_id "sealer-run-$1"
  local id=$rid
  timed "$id" $sealer_node "$sealer_js" "${run_args[@]}"
  record "sealer run (3 hosts)" "$rootfs_bytes"
  r_sent["sealer run (3 hosts)"]=$(wire_total "$work/$id.out")
  check "sealer run $1: delivered $(delivered "$work/$id.out") bytes (rootfs $rootfs_bytes)"
  check "sealer run $1: streams $(streamed "$work/$id.out"); $(grep -m1 -o 'compression [a-z]* for [^"]*' "$work/$id.err" || echo 'no compression choice logged')"
  verify_hosts "sealer run $1"
}
sealer_again() {
  log "sealer run again (nothing to send)"
  next_id sealer-again
  local id=$rid
  timed "$id" $sealer_node "$sealer_js" "${run_args[@]}"
  record "sealer run again (idempotent)" "$rootfs_bytes"
  r_sent["sealer run again (idempotent)"]=$(wire_total "$work/$id.out")
  check "sealer run again: delivered $(delivered "$work/$id.out") bytes; $(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(len(r.get("ran", [])), "steps run,", len(r.get("skipped", [])), "skipped")' "$work/$id.out" 2>/dev/null || echo '?')"
}
sealer_delete() {
  log "sealer delete -a"
  next_id sealer-delete
  timed "$rid" $sealer_node "$sealer_js" --root "$store" --progress plain delete --known-hosts "$known_hosts" -c "$cluster" -a
  local left=0 i
  for i in 0 1 2; do
    left=$((left + $(dexec "${names[$i]}" 'ls -d /var/lib/sealer/data 2>/dev/null | wc -l')))
  done
  if [[ $t_rc == 0 && $left == 0 ]]; then check "sealer delete -a: ${t_secs}s, /var/lib/sealer/data gone on all 3 hosts"; else check "sealer delete -a: FAILED (exit $t_rc, $left hosts keep data)"; fi
  [[ $t_rc == 0 ]]
}

ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes
  -o LogLevel=ERROR -i "$work/id_ed25519")
scp_one() {  # scp_one N: the tarball to the first host
  log "scp $1: the tarball to ${ips[0]}"
  dexec "${names[0]}" 'rm -f /root/rootfs.tar'
  next_id "scp-1-$1"
  timed "$rid" scp -q "${ssh_opts[@]}" "$tarball" "root@${ips[0]}:/root/rootfs.tar"
  record "scp tarball (1 host)" "$tar_bytes"
  r_sent["scp tarball (1 host)"]=$tar_bytes
  if [[ $1 == 1 ]]; then
    local got
    got=$(dexec "${names[0]}" 'sha256sum /root/rootfs.tar | cut -d" " -f1')
    if [[ $got == "$tar_sha" ]]; then check "scp: sha256 of the tarball on ${ips[0]} = local"; else check "scp: TARBALL SHA256 DIFFERS ($got)"; fi
  fi
  dexec "${names[0]}" 'rm -f /root/rootfs.tar'
}
scp_three() {  # scp_three N: the tarball to all 3 hosts at once (3 scp processes): a reference
  log "scp $1: the tarball to 3 hosts at once"
  local i
  for i in 0 1 2; do dexec "${names[$i]}" 'rm -f /root/rootfs.tar'; done
  next_id "scp-3-$1"
  timed "$rid" bash -c '
    key=$1 tarball=$2; shift 2
    opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR -i "$key")
    pids=()
    for ip in "$@"; do scp -q "${opts[@]}" "$tarball" "root@$ip:/root/rootfs.tar" & pids+=($!); done
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    exit $rc' _ "$work/id_ed25519" "$tarball" "${ips[@]}"
  record "scp tarball x3 in parallel (3 hosts)" "$tar_bytes"
  r_sent["scp tarball x3 in parallel (3 hosts)"]=$((3 * tar_bytes))
  for i in 0 1 2; do dexec "${names[$i]}" 'rm -f /root/rootfs.tar'; done
}

# References, not peers: sealer's own pipeline shape with OpenSSH and coreutils. One tar stream,
# gzip -1 once, copied to 3 ssh processes; each host runs the receive script of
# src/host/tree-upload.ts (the stream through tee into sha256sum, gzip -dc, tar -x). It shows
# what the design costs on these cores, apart from how sealer implements it. The same without
# gzip shows what the compression costs.
cat >"$work/recv.sh" <<'EOF'
set -euo pipefail
d="$1"
mkdir -p -- "$d"
t="$(mktemp -d)"
trap 'rm -rf -- "$t"' EXIT
mkfifo "$t/p"
sha256sum < "$t/p" > "$t/sum" &
h=$!
tee "$t/p" | gzip -dc | tar -x -p --numeric-owner -f - -C "$d" 2>"$t/err" || { cat "$t/err" >&2; exit 1; }
wait "$h"
cut -d' ' -f1 < "$t/sum"
EOF
sed 's/ | gzip -dc | / | /' "$work/recv.sh" >"$work/recv-raw.sh"
shell_dir=/var/lib/sealer-bench-shell
shell_pipeline() {  # shell_pipeline N gzip|raw
  local i recv=recv.sh zip=(gzip -1) label="ref: tar|gzip -1|tee|3 ssh (3 hosts)"
  if [[ $2 == raw ]]; then recv=recv-raw.sh zip=(cat) label="ref: tar|tee|3 ssh, no gzip (3 hosts)"; fi
  log "reference ($2): tar | ${zip[*]} | tee | 3 x ssh, sealer's receive script"
  for i in 0 1 2; do
    docker cp "$work/$recv" "${names[$i]}:/root/sealer-bench-recv.sh" >/dev/null
    dexec "${names[$i]}" "rm -rf $shell_dir"
  done
  rm -f "$work"/shell-fifo.*
  mkfifo "$work/shell-fifo.0" "$work/shell-fifo.1"
  next_id "shell-$2-$1"
  timed "$rid" bash -c '
    set -o pipefail
    key=$1 rootfs=$2 w=$3 dir=$4 ip0=$5 ip1=$6 ip2=$7; shift 7
    opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR -i "$key")
    ssh "${opts[@]}" "root@$ip0" bash /root/sealer-bench-recv.sh "$dir" <"$w/shell-fifo.0" >"$w/shell-sum.0" & p0=$!
    ssh "${opts[@]}" "root@$ip1" bash /root/sealer-bench-recv.sh "$dir" <"$w/shell-fifo.1" >"$w/shell-sum.1" & p1=$!
    rc=0
    tar -cf - -C "$rootfs" . | "$@" | tee "$w/shell-fifo.0" "$w/shell-fifo.1" |
      ssh "${opts[@]}" "root@$ip2" bash /root/sealer-bench-recv.sh "$dir" >"$w/shell-sum.2" || rc=1
    wait "$p0" || rc=1
    wait "$p1" || rc=1
    exit $rc' _ "$work/id_ed25519" "$rootfs" "$work" "$shell_dir" "${ips[@]}" "${zip[@]}"
  record "$label" "$rootfs_bytes"
  [[ $1 == 1 ]] && verify_hosts "reference pipeline ($2)" "$shell_dir"
  for i in 0 1 2; do dexec "${names[$i]}" "rm -rf $shell_dir /root/sealer-bench-recv.sh"; done
}

# Order: sealer, scp, scp, sealer (ABBA; the page cache is warm throughout and cannot be dropped),
# the reference pipeline in the middle.
sealer_run 1
sealer_again
scp_one 1
scp_three 1
shell_pipeline 1 gzip
shell_pipeline 1 raw
scp_three 2
scp_one 2
sealer_delete
sealer_run 2

# --- optional profile ---------------------------------------------------------------------------
profile_note=
if [[ $profile == 1 ]]; then
  sealer_delete
  log "profiling sealer run (node --cpu-prof)"
  next_id sealer-run-prof
  timed "$rid" node --cpu-prof --cpu-prof-dir "$work/prof" "$sealer_js" "${run_args[@]}"
  prof_secs=$t_secs
  prof_file=$(ls "$work"/prof/*.cpuprofile 2>/dev/null | head -1 || true)
  if [[ -n $prof_file ]]; then
    mkdir -p "$repo/.tmp/bench-profiles"
    saved=$repo/.tmp/bench-profiles/deliver-run-${size_mb}MB-$(date +%Y%m%d%H%M%S).cpuprofile
    cp "$prof_file" "$saved"
    profile_note=$(
      python3 "$repo/bench/profile-top.py" "$prof_file"
    )
    profile_note="cpu profile of sealer run (${prof_secs}s wall under --cpu-prof): $saved"$'\n'"$profile_note"
  fi
  # The unchanged re-run too: what is left of it is start-up, connecting and listing.
  log "profiling sealer run again (node --cpu-prof)"
  next_id sealer-again-prof
  timed "$rid" node --cpu-prof --cpu-prof-dir "$work/prof-again" "$sealer_js" "${run_args[@]}"
  again_secs=$t_secs
  prof_file=$(ls "$work"/prof-again/*.cpuprofile 2>/dev/null | head -1 || true)
  if [[ -n $prof_file ]]; then
    saved=$repo/.tmp/bench-profiles/deliver-again-${size_mb}MB-$(date +%Y%m%d%H%M%S).cpuprofile
    cp "$prof_file" "$saved"
    profile_note+=$'\n\n'"cpu profile of the unchanged re-run (${again_secs}s wall under --cpu-prof): $saved"$'\n'"$(python3 "$repo/bench/profile-top.py" "$prof_file")"
  fi
fi

# `delete -a` once more (not timed): it must leave the hosts as they were.
sealer_delete >/dev/null || true

# --- report -----------------------------------------------------------------------------------
best() { tr ' ' '\n' <<<"$1" | sort -g | head -1; }
at_best() {  # at_best SECS_LIST OTHER_LIST: the OTHER of the fastest run
  paste -d' ' <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | sort -g | head -1 | cut -d' ' -f2
}
echo
echo "deliver: ${size_mb} MiB rootfs ($file_count files, $rootfs_bytes bytes = $rootfs_mib MiB), generated in ${gen_secs}s; sealer build --no-collect ${build_secs}s (gzip layer $layer_mib MiB); rootfs assembled in ${asm_secs}s (neither in the table)"
echo "tarball: $tar_bytes bytes (tar -cf of the assembled rootfs, made before timing)"
echo "hosts: 3 containers ($node_image) on $network ($subnet): master ${ips[0]}, nodes ${ips[1]} ${ips[2]}; sshd $(dexec "${names[0]}" 'sshd -V 2>&1 | head -1' 2>/dev/null || echo '?'); they share this machine's cores"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); sealer $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$repo" && git diff --quiet HEAD -- src 2>/dev/null || echo '+dirty src'), node $(node --version), $(ssh -V 2>&1)"
echo "load average: $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (others' work on this machine shows here)"
echo "method: ABBA order (sealer run, scp, scp, sealer run after delete -a); seconds = the faster of the runs (all in 'runs');"
echo "        MB/s = bytes one host received (10^6) / seconds, and x hosts for the aggregate; peak RSS = the larger run,"
echo "        largest single process (GNU time -v); CPU s = user+sys of the client process tree; hosts s = CPU seconds"
echo "        the 3 host containers used meanwhile (their cgroups: sshd, tar, gzip, sha256sum); box% = busy share of"
echo "        all $(nproc) cores meanwhile (us, the hosts and everyone else on this machine)"
echo
fmt='%-38s %8s %-13s %7s %9s %8s %6s %7s %5s %12s\n'
# shellcheck disable=SC2059
printf "$fmt" what seconds runs MB/s "aggr MB/s" "RSS MiB" "CPU s" "hosts s" "box%" "sent bytes"
for key in "${row_keys[@]}"; do
  secs=$(best "${r_secs[$key]}")
  nh=1
  [[ $key == *"(3 hosts)" ]] && nh=3
  mbs=$(awk -v b="${r_bytes[$key]}" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')
  agg=$(awk -v b="${r_bytes[$key]}" -v s="$secs" -v n="$nh" 'BEGIN { printf "%.1f", n * b / 1e6 / s }')
  if [[ $key == *idempotent* ]]; then mbs=- agg=-; fi
  cpu=$(at_best "${r_secs[$key]}" "${r_cpu[$key]}")
  box=$(at_best "${r_secs[$key]}" "${r_box[$key]}")
  hcpu=$(at_best "${r_secs[$key]}" "${r_hcpu[$key]}")
  [[ -z ${r_failed[$key]:-} ]] || secs="FAILED"
  # shellcheck disable=SC2059
  printf "$fmt" "$key" "$secs" "${r_secs[$key]// //}" "$mbs" "$agg" "${r_rss[$key]}" "$cpu" "$hcpu" "$box" "${r_sent[$key]:--}"
done
s_key="sealer run (3 hosts)" p_key="scp tarball (1 host)" p3_key="scp tarball x3 in parallel (3 hosts)"
echo
echo "ratio sealer run (3 hosts) / scp (1 host): time $(awk -v a="$(best "${r_secs[$s_key]}")" -v b="$(best "${r_secs[$p_key]}")" 'BEGIN { printf "%.2f", a / b }') (target: close to 1), peak RSS $(awk -v a="${r_rss[$s_key]}" -v b="${r_rss[$p_key]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
echo "ratio sealer run (3 hosts) / 3 scp at once (3 hosts): time $(awk -v a="$(best "${r_secs[$s_key]}")" -v b="$(best "${r_secs[$p3_key]}")" 'BEGIN { printf "%.2f", a / b }') (target: at most 1.2), peak RSS ${r_rss[$s_key]} vs ${r_rss[$p3_key]} MiB, bytes sent ${r_sent[$s_key]:-?} vs ${r_sent[$p3_key]:-?}"
a_key="sealer run again (idempotent)"
echo "unchanged re-run: $(best "${r_secs[$a_key]}") s (target: under 1 s), sent ${r_sent[$a_key]:-?} bytes"
r_key="ref: tar|gzip -1|tee|3 ssh (3 hosts)"
echo "ratio sealer run (3 hosts) / reference pipeline (3 hosts): time $(awk -v a="$(best "${r_secs[$s_key]}")" -v b="$(best "${r_secs[$r_key]}")" 'BEGIN { printf "%.2f", a / b }') (the same design in shell: gzip -1 once, hashed and unpacked on each host)"
echo
for c in "${checks[@]}"; do echo "check: $c"; done
[[ -z $profile_note ]] || { echo; echo "$profile_note"; }
