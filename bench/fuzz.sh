#!/usr/bin/env bash
# Fuzzing (issue 16): the long mode of the harness in tests/fuzz for every target (or the ones
# named), one after the other, WB_FUZZ_SECONDS each, in the debug build. Prints one line per
# target: inputs tried, minutes, panics, hangs. A panicking or hanging input is kept in
# tests/fuzz/corpus/<target>/ (and `cargo test --test fuzz` replays it from then on); the
# script exits non-zero when a target found one or did not finish.
#
# Usage: bench/fuzz.sh [TARGET...]   (csv_ingest decoders capture archive; default: all four)
# Environment: WB_FUZZ_SECONDS (per target, default 600), WB_FUZZ_SEED (default: the clock),
# WB_FUZZ_HANG_SECONDS (default 10), WB_FUZZ_MEMORY_MB (the test process's virtual memory
# limit, default 8192: an input that makes the library allocate without bound aborts the run,
# and the next run of the target keeps that input). Logs: target/fuzz/<target>.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
all=(csv_ingest decoders capture archive)
targets=("${@:-${all[@]}}")
logs=$root/target/fuzz
memory_mb=${WB_FUZZ_MEMORY_MB:-8192}
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target $t (targets: ${all[*]})" >&2; exit 2; }
done
mkdir -p "$logs"

(cd "$root" && cargo test --locked --test fuzz --no-run) >&2

field() { # name, summary line → value
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

status=0
printf '%-12s %10s %8s %7s %6s\n' target inputs minutes panics hangs
for t in "${targets[@]}"; do
  log=$logs/$t.log
  (
    ulimit -v $((memory_mb * 1024))
    cd "$root" && cargo test --locked --test fuzz -- --ignored --exact "long::$t" --test-threads 1 --nocapture
  ) >"$log" 2>&1 || status=1
  summary=$(grep '^fuzz-summary .* mode=long' "$log" | tail -1 || true)
  if [ -z "$summary" ]; then
    printf '%-12s the run died without a summary: see %s\n' "$t" "$log"
    status=1
    continue
  fi
  minutes=$(awk -v s="$(field seconds "$summary")" 'BEGIN { printf "%.1f", s / 60 }')
  printf '%-12s %10s %8s %7s %6s\n' "$t" "$(field inputs "$summary")" "$minutes" "$(field panics "$summary")" \
    "$(field hangs "$summary")"
done
exit $status
