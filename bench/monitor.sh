#!/usr/bin/env bash
# Capture-analysis benchmark (P5): predictions and low-confidence predictions per hour of a
# SageMaker data-capture corpus, the workbench's capture reader (examples/capture_hourly.rs,
# release build) beside the pandas and polars anchors (../shared/bench/anchor_capture_*.py), same
# files, same threshold, one run, same machine. Reports wall seconds, peak RSS
# (/usr/bin/time -v), MB/s and the ratios, and checks that all three found the same records and
# hours.
#
# Usage: bench/monitor.sh            (WB_BENCH_MB=200: corpus size; WB_BENCH_THRESHOLD=0.93;
#                                     WB_BENCH_RUNS=3: runs per tool, the best is kept)
# Needs: python3 (a venv with pinned pandas and polars is created in target/bench-venv), GNU
# time (/usr/bin/time). The corpus (gen_capture.py, ~195 MB for 200) is generated once.
#
# Measured 2026-12-06 on this 2-core machine (load average ~6 from other builds), 195 MB /
# 425,984 records / 593 files, best of 3 wall seconds including process start:
#   wb hourly fast path 0.35 s, 16 MB peak; wb rows path (for_each_batch) 0.47 s, 15 MB;
#   pandas 13.3 s, 1,088 MB; polars 2.05 s, 77 MB
#   → 37.9x pandas, 5.9x polars, 68x less memory than pandas.
# Re-measured after the full monitoring run was added (same day, medians of 5 paired
# runs): reader 0.48 s / 16 MiB, pandas 9.7 s / 1,087 MiB (19.9x), polars 1.63 s / 77 MiB (4.3x),
# full monitoring run 1.40 s / 34 MiB (3.5x the reader; goal 2x).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
anchors=${WB_BENCH_ANCHORS:-$root/../shared/bench}
target=${CARGO_TARGET_DIR:-$root/target}
work=${WB_BENCH_DIR:-$target/bench-monitor}
venv=$target/bench-venv
mb=${WB_BENCH_MB:-200}
threshold=${WB_BENCH_THRESHOLD:-0.93}
runs=${WB_BENCH_RUNS:-3}
corpus=$work/corpus-$mb

# WB_BENCH_CARGO_FLAGS: extra cargo flags (e.g. --config to give this build its own artefacts in a
# target directory shared by several worktrees).
# shellcheck disable=SC2086
(cd "$root" && cargo build --release --locked --workspace --example capture_hourly ${WB_BENCH_CARGO_FLAGS:-}) >&2
wb=$target/release/examples/capture_hourly
if ! "$venv/bin/python" -c 'import pandas, polars' 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "pandas==3.1.1" "polars==2.1.0"
fi
if [ ! -f "$corpus/.complete" ]; then
  rm -rf "$corpus" && mkdir -p "$corpus"
  python3 "$anchors/gen_capture.py" "$corpus" --mb "$mb" >/dev/null
  touch "$corpus/.complete"
fi
bytes=$(find "$corpus" -name '*.jsonl' -printf '%s\n' | awk '{ s += $1 } END { print s }')
files=$(find "$corpus" -name '*.jsonl' | wc -l)

measure() { # name, command... → sets wall_<name>, rss_<name>, out_<name> (best wall of $runs)
  local name=$1; shift
  local best="" best_rss="" out="" log; log=$(mktemp)
  for _ in $(seq 1 "$runs"); do
    /usr/bin/time -v "$@" >"$log.out" 2>"$log" || { cat "$log" "$log.out" >&2; return 1; }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$wall; best_rss=$rss; out=$(cat "$log.out")
    fi
  done
  rm -f "$log" "$log.out"
  printf -v "wall_$name" '%s' "$best"
  printf -v "rss_$name" '%s' "$best_rss"
  printf -v "out_$name" '%s' "$out"
}

echo "== $(nproc) cores, $files files, $((bytes / 1000000)) MB, threshold $threshold, best of $runs"
measure wb "$wb" "$corpus" "$threshold" --endpoint ep
measure wbrows "$wb" "$corpus" "$threshold" --endpoint ep --rows
measure wbfull "$wb" "$corpus" "$threshold" --endpoint ep --full
measure pandas "$venv/bin/python" "$anchors/anchor_capture_pandas.py" "$corpus" "$threshold"
measure polars "$venv/bin/python" "$anchors/anchor_capture_polars.py" "$corpus" "$threshold"

row() { # label name
  local wall=wall_$2 rss=rss_$2 out=out_$2
  printf '%-40s %7.2f s %7s MB %7.0f MB/s   (prints: %s)\n' "$1" "${!wall}" "${!rss}" \
    "$(awk -v b="$bytes" -v w="${!wall}" 'BEGIN { print (w > 0 ? b / w / 1e6 : 0) }')" "${!out}"
}
row "wb capture reader (hourly fast path)" wb
row "wb capture reader (rows, for_each_batch)" wbrows
row "wb full monitoring run (stats+violations)" wbfull
row "pandas (anchor)" pandas
row "polars (anchor)" polars
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
echo "speed-up vs pandas: $(ratio "$wall_pandas" "$wall_wb")x (goal >= 20x), vs polars: $(ratio "$wall_polars" "$wall_wb")x (goal >= 3x)"
echo "full monitoring run (every row profiled, checked, hourly): $(ratio "$wall_wbfull" "$wall_wb")x the hourly fast path (goal < 2x), $(ratio "$wall_pandas" "$wall_wbfull")x faster than pandas' hourly count"
echo "peak memory: $(ratio "$rss_pandas" "$rss_wb")x less than pandas (goal >= 10x), $(ratio "$rss_polars" "$rss_wb")x less than polars"

# Same result: records and hours (the anchors print "seconds records hours").
read -r _ wb_records wb_hours _ <<<"$out_wb"
read -r _ rows_records rows_hours _ <<<"$out_wbrows"
for a in pandas polars; do
  o=out_$a
  read -r _ a_records a_hours <<<"${!o}"
  if [ "$a_records" != "$wb_records" ] || [ "$a_hours" != "$wb_hours" ]; then
    echo "MISMATCH: $a found $a_records records in $a_hours hours, wb $wb_records in $wb_hours" >&2
    exit 1
  fi
done
[ "$rows_records $rows_hours" = "$wb_records $wb_hours" ] || { echo "MISMATCH between the two wb paths" >&2; exit 1; }
read -r _ full_records full_hours _ full_low _ <<<"$out_wbfull"
[ "$full_records $full_hours" = "$wb_records $wb_hours" ] || { echo "MISMATCH between the full run and the reader" >&2; exit 1; }
# And the same low-confidence count (the anchors do not print it): polars, outside the timing.
low=$("$venv/bin/python" - "$corpus" "$threshold" <<'PY'
import glob, sys, polars as pl
files = sorted(glob.glob(f"{sys.argv[1]}/**/*.jsonl", recursive=True))
df = pl.scan_ndjson(files).select(pl.col("captureData").struct.field("endpointOutput").struct.field("data")
    .str.split(",").list.eval(pl.element().cast(pl.Float64)).list.max().alias("c")).collect()
print(int((df["c"] < float(sys.argv[2])).sum()))
PY
)
read -r _ _ _ _ wb_low <<<"$out_wb"
read -r _ _ _ _ rows_low <<<"$out_wbrows"
if [ "$low" != "$wb_low" ] || [ "$low" != "$rows_low" ] || [ "$low" != "$full_low" ]; then
  echo "MISMATCH: polars counts $low low-confidence predictions, wb $wb_low (rows path $rows_low)" >&2
  exit 1
fi
echo "same records ($wb_records), hours ($wb_hours) and low-confidence predictions ($low) in all four"
