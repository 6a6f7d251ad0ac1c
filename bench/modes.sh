#!/usr/bin/env bash
# One Kubefile built with -m lite, -m local, -m container and -m cloud, in one run: time per phase
# (provision, bring-up, steps, harvest, commit, teardown) and peak memory. The base image is the
# stand-in cluster of the tests (test/support/README.md); its RUN writes a Deployment and its CMD
# starts it, so the live modes harvest the image that ran. Target: container adds under 30 s to lite.
# -m cloud runs against the tests' fake Alibaba Cloud endpoint (test/support/fake-aliyun), whose
# instances are node containers: it measures our side (API calls, waits, SSH), not a real cloud.
#
#   bench/modes.sh
#
# Environment:
#   BENCH_TMPDIR   where the temp dir goes (default /var/tmp)
#   BENCH_COMPILE  0 to skip `tsc` and use what is in .tmp/dist-bench (default 1)
#   BENCH_KEEP     1 to keep the temp dir (default 0)
# Needs root, dockerd, docker-registry, skopeo, busybox-static, tools/kubectl and the sealer-node:1
# image (bash scripts/setup.sh --services prepares all of them).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
tmpbase=${BENCH_TMPDIR:-/var/tmp}
dist=$repo/.tmp/dist-bench
work=$(mktemp -d "$tmpbase/sealer-bench-modes.XXXXXX")
reg_pid=
cleanup() {
  local rc=$?
  [[ -n $reg_pid ]] && kill "$reg_pid" 2>/dev/null || true
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

compile_sealer "$dist" "$work"
root=$work/root
ctx=$work/ctx
mkdir -p "$root" "$ctx" "$work/reg"

# A registry on loopback for -m lite/local, holding the app image.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:%s"}\n' "$work/reg" "$port" >"$work/reg.yml"
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

log "building the live base image and pushing the app image"
node --input-type=module -e "
  const { buildLiveBase } = await import('$dist/test/support/live-base.js');
  const { makeAppImage, pushAppImage } = await import('$dist/test/support/app-image.js');
  const { appContext } = await import('$dist/test/e2e/live-support.js');
  await buildLiveBase({ root: '$root', name: 'live-base:1' });
  await pushAppImage(await makeAppImage('bench'), '127.0.0.1:$port/test/app:1');
  await appContext('$ctx', { from: 'live-base:1' });
"

# The nodes of -m container reach the registry through a network it joins.
net=sealer-bench-$$
docker network create --label sealer-bench "$net" >/dev/null
regc=$(docker run -d --label sealer-bench --network "$net" sealer-test-node:1 sh -c 'printf "version: 0.1\nstorage: {filesystem: {rootdirectory: /r}}\nhttp: {addr: \":5000\"}\n" >/tmp/r.yml; exec docker-registry serve /tmp/r.yml')
trap 'docker rm -f -v "$regc" >/dev/null 2>&1; docker network rm "$net" >/dev/null 2>&1; cleanup' EXIT
rip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$regc")
for _ in $(seq 50); do curl -sf "http://$rip:5000/v2/" >/dev/null && break; sleep 0.1; done
skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://127.0.0.1:$port/test/app:1" "docker://$rip:5000/test/app:1"

# The fake cloud endpoint, its instances on the registry's network too; it prints its endpoint.
export ALIBABA_CLOUD_ACCESS_KEY_ID=bench-id ALIBABA_CLOUD_ACCESS_KEY_SECRET=bench-secret
node --input-type=module -e "
  const { FakeAliyun } = await import('$dist/test/support/fake-aliyun/index.js');
  const fake = await FakeAliyun.start({ accessKeyId: 'bench-id', accessKeySecret: 'bench-secret', nodeImage: 'sealer-node:1', instanceNetworks: ['$net'] });
  console.log(fake.endpoint);
  const stop = () => fake.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
" >"$work/fake.endpoint" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; docker rm -f -v "$regc" >/dev/null 2>&1; docker network rm "$net" >/dev/null 2>&1; cleanup' EXIT
for _ in $(seq 100); do [[ -s $work/fake.endpoint ]] && break; sleep 0.1; done
endpoint=$(head -1 "$work/fake.endpoint")

run_mode() {
  local mode=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/$mode.time" \
    $sealer_node "$sealer_js" --root "$root" --progress json build --no-cache -m "$mode" "$@" -t "bench-$mode:1" "$ctx" \
    >"$work/$mode.out" 2>"$work/$mode.events" || { log "-m $mode failed:"; tail -5 "$work/$mode.events" >&2; exit 1; }
}
log "-m lite";      run_mode lite --build-arg "APP_IMAGE=127.0.0.1:$port/test/app:1" --image "127.0.0.1:$port/test/app:1"
log "-m local";     run_mode local --build-arg "APP_IMAGE=127.0.0.1:$port/test/app:1"
log "-m container"; run_mode container --node-network "$net" --insecure-registry "$rip:5000" --build-arg "APP_IMAGE=$rip:5000/test/app:1"
log "-m cloud";     run_mode cloud --cloud-endpoint "http://$endpoint" --cloud-ssh-from 192.0.2.1/32 --insecure-registry "$rip:5000" --build-arg "APP_IMAGE=$rip:5000/test/app:1"

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
phases = ["provision", "bring-up", "steps", "harvest", "commit", "teardown"]
rows = {}
for mode in ["lite", "local", "container", "cloud"]:
    ms = dict.fromkeys(phases, 0.0)
    texts = {}
    for line in open(f"{work}/{mode}.events"):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("type") == "step-start":
            texts[e["id"]] = e.get("text", "")
        if e.get("type") != "step-done":
            continue
        i = e["id"]
        if i in ("provision", "bring-up", "harvest", "teardown"):
            ms[i] += e["ms"]
        elif texts.get(i, "").startswith("COLLECT"):
            ms["commit"] += e["ms"]
        elif i.startswith("step-"):
            ms["steps"] += e["ms"]
    ms["commit"] -= ms["harvest"]  # the harvest runs inside the COLLECT step
    wall, rss = open(f"{work}/{mode}.time").read().split()
    rows[mode] = (ms, float(wall), int(rss) // 1024)
print(f"{'mode':<10}" + "".join(f"{p:>11}" for p in phases) + f"{'wall s':>9}{'peak MiB':>10}")
for mode, (ms, wall, rss) in rows.items():
    print(f"{mode:<10}" + "".join(f"{ms[p]/1000:>11.2f}" for p in phases) + f"{wall:>9.2f}{rss:>10}")
print(f"container - lite: {rows['container'][1] - rows['lite'][1]:.2f} s (target: under 30 s)")
print(f"cloud (fake endpoint) - container: {rows['cloud'][1] - rows['container'][1]:.2f} s")
PY
