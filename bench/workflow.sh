#!/usr/bin/env bash
# Workflow benchmark: executions per second of the three-step image workflow (serialize the PNG
# from the store → classify it at the local endpoint → filter on confidence) on the local
# executor, beside the endpoint's own rate for the same PNG (wrk, one connection, the rate the
# classify step could reach alone), and the executor's overhead per state (a definition of 200
# chained Pass states). One run, same machine.
#
# Data and model: the shipped digits as in `wb demo images` (32×32 PNGs, ten classes), the CNN of
# experiment 05 trained for 2 epochs (the model's accuracy does not matter here), deployed on the
# local server (release build).
# Workflow: `wb workflow run` over $WB_BENCH_IMAGES test images (default 300), one execution each
# (sequential, every execution recorded in the store with its history), threshold 0.01 so every
# execution succeeds; executions/s = images / wall time of that one command (process start and
# the store writes included).
# Per state: `wb workflow run --definition` of 200 Pass states over 20 inputs, minus the same
# with 1 Pass state, divided by 20 × 199 states.
#
# Usage: bench/workflow.sh   (WB_BIN: a `wb` binary instead of building one; WB_BENCH_DIR:
#                             work directory, default target/bench-workflow; WB_BENCH_DURATION=8s)
# Needs: wrk (apt-get install wrk), python3 (for small JSON reads).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
work=${WB_BENCH_DIR:-$root/target/bench-workflow}
images=${WB_BENCH_IMAGES:-300}
duration=${WB_BENCH_DURATION:-8s}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

wb=${WB_BIN:-}
if [ -z "$wb" ]; then
  (cd "$root" && cargo build --release --locked -p wb-cli --no-default-features) >&2
  wb=${CARGO_TARGET_DIR:-$root/target}/release/wb
fi
cfg=(--config "$work/workbench.toml")
cleanup() { [ -f "$work/workbench.toml" ] && "$wb" --quiet "${cfg[@]}" clean >/dev/null 2>&1 || true; }
trap cleanup EXIT

digits_project "$wb" "$work"
"$wb" --quiet "${cfg[@]}" train --dataset digits --algorithm image-classification --job digits-cnn \
  --hp epochs=2 --hp optimizer=adam --hp learning_rate=0.001 >/dev/null
url=$("$wb" --quiet "${cfg[@]}" deploy --job digits-cnn --endpoint digits-cnn --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["url"].split("/endpoints/")[0])')

# The test images as store URIs (the workflow reads them from the store, as on S3).
store=$work/.workbench
mapfile -t files < <(find "$store/datasets/digits/partitions" -path '*/test/images/*' -name '*.png' | sort | head -n "$images")
uris=()
for f in "${files[@]}"; do uris+=(--image "file://$f"); done
n=${#files[@]}
echo "== $n test digits (32×32 PNG, $(stat -c %s "${files[0]}") bytes the first), endpoint digits-cnn (CNN); $(nproc) cores"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---- The three-step workflow ---------------------------------------------------------------
"$wb" --quiet "${cfg[@]}" workflow run --endpoint digits-cnn --threshold 0.01 "${uris[@]:0:2}" >/dev/null # warm
t0=$(now)
"$wb" --quiet "${cfg[@]}" workflow run --endpoint digits-cnn --threshold 0.01 "${uris[@]}" >"$work/run.out"
t1=$(now)
ok=$(grep -c SUCCEEDED "$work/run.out" || true)
[ "$ok" = "$n" ] || { echo "only $ok of $n executions succeeded" >&2; exit 1; }
run_s=$(elapsed "$t0" "$t1")
exec_rate=$(awk -v n="$n" -v s="$run_s" 'BEGIN { printf "%.1f", n / s }')

# ---- The endpoint alone, for the same kind of image -----------------------------------------
out=$(BODY=${files[0]} PATH_=/endpoints/digits-cnn/invocations wrk -t1 -c1 -d"$duration" --latency \
  -s "$root/bench/post_png.lua" "$url")
invoke_rate=$(awk '/^Requests\/sec/ {printf "%.1f", $2}' <<<"$out")

# ---- Overhead per state ---------------------------------------------------------------------
chain() { # states → a definition of that many chained Pass states
  python3 - "$1" <<'EOF'
import json, sys
k = int(sys.argv[1])
states = {f"S{i}": ({"Type": "Pass", "Next": f"S{i + 1}"} if i + 1 < k else {"Type": "Pass", "End": True}) for i in range(k)}
print(json.dumps({"StartAt": "S0", "States": states}))
EOF
}
chain 200 >"$work/pass200.json"
chain 1 >"$work/pass1.json"
timed_run() { # definition → seconds for 20 executions
  local a b
  a=$(now)
  "$wb" --quiet "${cfg[@]}" workflow run --endpoint digits-cnn --definition "$1" "${uris[@]:0:40}" >/dev/null
  b=$(now)
  elapsed "$a" "$b"
}
long_s=$(timed_run "$work/pass200.json")
short_s=$(timed_run "$work/pass1.json")
per_state_us=$(awk -v l="$long_s" -v s="$short_s" 'BEGIN { printf "%.1f", (l - s) / (20 * 199) * 1e6 }')

echo
printf '%-62s %10s\n' "workflow executions/s (wb workflow run, $n sequential)" "$exec_rate"
printf '%-62s %10s\n' "endpoint invocations/s (wrk -c1, same PNG size)" "$invoke_rate"
awk -v e="$exec_rate" -v i="$invoke_rate" 'BEGIN {
  printf "%-62s %10.2f\n", "ratio (workflow / endpoint alone)", e / i
  printf "%-62s %8.2f ms\n", "workflow cost per execution beyond the invocation", (1 / e - 1 / i) * 1000 }'
printf '%-62s %7s µs\n' "executor overhead per state (200 vs 1 Pass states, 20 runs)" "$per_state_us"
