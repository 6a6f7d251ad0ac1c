# Shared by the bench/*.sh scripts: source it after setting `repo`.

log() { printf '%s\n' "$*" >&2; }

# warn_if_tmpfs DIR: benchmarks must read and write a real disk. Sets `fstype` for the report.
warn_if_tmpfs() {
  fstype=$(stat -f -c %T "$1")
  if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
    log "warning: $1 is on $fstype; set BENCH_TMPDIR to a directory on a disk"
  fi
}

# compile_sealer DIST WORK: compiles the project into DIST (its own output dir, so benchmarks do
# not race other builds), unless BENCH_COMPILE=0. A failed compile keeps an existing DIST with a
# warning. Records the commit compiled in DIST/.bench-source. Defines `sealer` to run it.
compile_sealer() {
  local dist=$1 work=$2 from
  sealer_js=$dist/src/cli/main.js
  if [[ ${BENCH_COMPILE:-1} != 0 ]]; then
    log "compiling into ${dist#"$repo"/}"
    from=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$repo" && git diff --quiet HEAD -- src 2>/dev/null || echo '+dirty src')
    if (cd "$repo" && npx tsc -p tsconfig.json --outDir "$dist") >"$work/tsc.log" 2>&1; then
      echo "$from" >"$dist/.bench-source"
    elif [[ -f $sealer_js ]]; then
      log "warning: tsc failed (others may be editing); using the existing ${dist#"$repo"/}:"
      grep -m5 'error TS' "$work/tsc.log" >&2 || true
    else
      cat "$work/tsc.log" >&2
      exit 1
    fi
  fi
  [[ -f $sealer_js ]] || { log "no $sealer_js; run with BENCH_COMPILE=1"; exit 1; }
  sealer_node=$(launcher_of "$sealer_js")
}

# launcher_of MAIN_JS: the interpreter and flags of MAIN_JS's `#!/usr/bin/env -S node ...` line,
# so benchmarks run node with the V8 flags an installed `sealer` runs with.
launcher_of() {
  local line
  IFS= read -r line <"$1"
  line=${line#'#!/usr/bin/env '}
  line=${line#'-S '}
  echo "$line"
}

sealer() { $sealer_node "$sealer_js" "$@"; }
