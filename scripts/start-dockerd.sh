#!/usr/bin/env bash
# Starts Debian's dockerd in the background when `docker info` fails, and waits until the engine
# answers. Idempotent: when an engine already answers, it does nothing. Needs root (as in CI).
#
#   DOCKERD_LOG      where dockerd logs (default /var/log/sealer-dockerd.log)
#   DOCKERD_TIMEOUT  seconds to wait for the engine (default 60)
set -euo pipefail

log_file="${DOCKERD_LOG:-/var/log/sealer-dockerd.log}"
timeout="${DOCKERD_TIMEOUT:-60}"

if docker info >/dev/null 2>&1; then
  echo "dockerd: already running" >&2
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd: not installed (apt-get install docker.io)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "dockerd: must be started as root" >&2
  exit 1
fi

# A dockerd that is starting (or a stale pid file) is left to finish; only start one when none runs.
pid_file=/var/run/docker.pid
running=""
if [ -f "$pid_file" ]; then
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    running="$pid"
  else
    rm -f "$pid_file"
  fi
fi

if [ -z "$running" ]; then
  mkdir -p "$(dirname "$log_file")"
  echo "dockerd: starting (log: $log_file)" >&2
  # setsid detaches dockerd from this shell's session, so it outlives the caller.
  setsid dockerd >>"$log_file" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$timeout"); do
  if docker info >/dev/null 2>&1; then
    echo "dockerd: ready" >&2
    exit 0
  fi
  sleep 1
done

echo "dockerd: not ready after ${timeout}s; last lines of $log_file:" >&2
tail -n 20 "$log_file" >&2 || true
exit 1
