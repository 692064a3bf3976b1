#!/usr/bin/env bash
# Serving benchmark: the workbench model server (examples/serve_bench.rs, release build) beside
# the gunicorn + Flask anchor (../shared/bench/anchor_serve_flask.py, 2 sync workers), same
# 11-feature logistic regression shape, same wrk load, one run, same machine.
#
# Loads (wrk -t1, --latency, POST text/csv to /endpoints/bench/invocations):
#   1-row CSV at 1, 8 and 64 connections; 1000-row CSV at 8 connections;
#   then the workbench alone at 8 connections with data capture of every request (100 %).
# Prints requests/s, p50 and p99 per load and server.
#
# Usage: bench/serve.sh          (WB_BENCH_DURATION=8s; WB_BENCH_THREADS="2 1": the server's Tokio
#                                 worker counts to measure, each a separate run)
# Needs: wrk (apt-get install wrk); for the anchor, a venv in target/bench-venv with flask,
# gunicorn, numpy and scikit-learn (created when missing; WB_BENCH_SKIP_ANCHOR=1 skips it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
anchors=${WB_BENCH_ANCHORS:-$root/../shared/bench}
work=${WB_BENCH_DIR:-$root/target/bench-serve}
venv=$root/target/bench-venv
duration=${WB_BENCH_DURATION:-8s}
read -r -a threads_list <<<"${WB_BENCH_THREADS:-2 1}"
path=/endpoints/bench/invocations
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

(cd "$root" && cargo build --release --locked -p wb-serving --example serve_bench) >&2
server=$root/target/release/examples/serve_bench
rm -rf "$work" && mkdir -p "$work"

# Request bodies: 11 standard-normal-ish values per row.
awk 'BEGIN { srand(1); for (r = 0; r < 1000; r++) { line = ""; for (c = 0; c < 11; c++) {
  v = 0; for (k = 0; k < 12; k++) v += rand(); line = line (c ? "," : "") sprintf("%.6f", v - 6) }
  print line } }' >"$work/rows1000.csv"
head -1 "$work/rows1000.csv" >"$work/row.csv"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT


load() { # label url connections body → one line: label rps p50 p99 (non-2xx count)
  local label=$1 url=$2 conns=$3 body=$4 out
  out=$(BODY=$body PATH_=$path wrk -t1 -c"$conns" -d"$duration" --latency -s "$anchors/post_csv.lua" "$url")
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-34s %-22s %10s req/s  p50 %9s  p99 %9s%s\n' "$label" "$(basename "$body") c=$conns" "$rps" "$p50" "$p99" \
    "${bad:+  ($bad non-2xx!)}"
}

run_loads() { # label url
  load "$1" "$2" 1 "$work/row.csv"
  load "$1" "$2" 8 "$work/row.csv"
  load "$1" "$2" 64 "$work/row.csv"
  load "$1" "$2" 8 "$work/rows1000.csv"
}

echo "== $(nproc) cores, wrk -t1 -d$duration, POST text/csv $path"
start_wb() { # out-file args... → sets wb_url
  local out=$1; shift
  rm -f "$out"
  "$server" "$@" >"$out" 2>"$out.err" &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^url=' "$out" 2>/dev/null && break; sleep 0.1; done
  wb_url=$(sed -n 's/^url=//p' "$out")
  wait_for "$wb_url"
  curl -fsS -H 'Content-Type: text/csv' --data-binary @"$work/row.csv" "$wb_url$path" >/dev/null
}

for threads in "${threads_list[@]}"; do
  start_wb "$work/wb.out" --threads "$threads"
  run_loads "wb serve ($threads Tokio worker(s))" "$wb_url"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

if [ "${WB_BENCH_SKIP_ANCHOR:-0}" != 1 ]; then
  if ! "$venv/bin/python" -c 'import flask, gunicorn, sklearn' 2>/dev/null; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet flask gunicorn numpy scikit-learn
  fi
  "$venv/bin/python" "$anchors/anchor_serve_flask.py" train "$work/model.pkl" 11
  port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  MODEL=$work/model.pkl "$venv/bin/gunicorn" -w 2 -b "127.0.0.1:$port" --chdir "$anchors" \
    anchor_serve_flask:app >"$work/flask.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port"
  curl -fsS -H 'Content-Type: text/csv' --data-binary @"$work/row.csv" "http://127.0.0.1:$port$path" >/dev/null
  run_loads "gunicorn + Flask (anchor, 2 workers)" "http://127.0.0.1:$port"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
fi

# Data capture of every request: the cost on the hot path, and nothing lost at shutdown.
threads=${threads_list[0]}
start_wb "$work/wbc.out" --threads "$threads" --capture "$work/capture" --sampling 100
load "wb serve ($threads), capture 100 %" "$wb_url" 8 "$work/row.csv"
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
lines=$(find "$work/capture/capture" -name '*.jsonl' -exec cat {} + | wc -l)
echo "capture: $lines lines in $(find "$work/capture/capture" -name '*.jsonl' | wc -l) files (warm-up request included);" \
  "server report: $(tail -1 "$work/wbc.out.err")"
