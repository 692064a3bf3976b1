#!/usr/bin/env bash
# Partition benchmark: `wb dataset register` + `wb dataset partition` on the generated
# readmission-like CSV, side by side with the anchors in ../shared/bench (pandas +
# scikit-learn, polars) on the same file, in one run. Reports wall seconds and peak RSS
# (/usr/bin/time -v).
#
# Usage: bench/partition.sh [ROWS...]         (default: 1000000 10000000)
# Needs: python3 (a venv with pandas, scikit-learn, pyarrow, polars is created in
# $CARGO_TARGET_DIR/bench-venv unless WB_BENCH_VENV names one), GNU time (/usr/bin/time), about 6 GB of free disk for 10M rows.
# The anchors load the whole table (pandas peaks at ~1.5 GB per million rows here), so they run
# only up to WB_BENCH_ANCHOR_MAX_ROWS rows (default 2,000,000) to keep the 24 GB machine alive.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
anchors=${WB_BENCH_ANCHORS:-$root/../shared/bench}
target=${CARGO_TARGET_DIR:-$root/target}
work=${WB_BENCH_DIR:-$target/bench-partition}
venv=${WB_BENCH_VENV:-$target/bench-venv}
rows_list=("${@:-1000000 10000000}")
read -r -a rows_list <<<"${rows_list[*]}"

(cd "$root" && cargo build --release --locked -p wb-cli --no-default-features) >&2
wb=$target/release/wb
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pandas scikit-learn pyarrow polars
fi

measure() { # label, command... → "label wall_s peak_MB"
  local label=$1; shift
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { cat "$log" >&2; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  printf '%-34s %8.2f s %8s MB %12s rows/s\n' "$label" "$wall" "$rss" "$(awk -v r="$ROWS" -v w="$wall" 'BEGIN { if (w > 0) printf "%.0f", r / w; else print "-" }')"
  rm -f "$log"
}

for rows in "${rows_list[@]}"; do
  export ROWS=$rows
  dir=$work/$rows
  rm -rf "$dir" && mkdir -p "$dir/pandas" "$dir/polars"
  "$wb" --quiet etl synth readmission --rows "$rows" --seed 1 --to "$dir/data.csv" >/dev/null
  size=$(du -m "$dir/data.csv" | cut -f1)
  echo "== $rows rows, $(head -1 "$dir/data.csv" | tr ',' '\n' | wc -l) columns, ${size} MB CSV"
  (cd "$dir" && "$wb" --quiet init >/dev/null)
  measure "wb dataset register" "$wb" --quiet --config "$dir/workbench.toml" dataset register r \
    --source "$dir/data.csv" --target readmitted --missing '?'
  measure "wb dataset partition" "$wb" --quiet --config "$dir/workbench.toml" dataset partition r
  measure "wb partition again (no-op)" "$wb" --quiet --config "$dir/workbench.toml" dataset partition r
  if [ "$rows" -gt "${WB_BENCH_ANCHOR_MAX_ROWS:-2000000}" ]; then
    echo "(anchors skipped above ${WB_BENCH_ANCHOR_MAX_ROWS:-2000000} rows: they hold the whole table in memory)"
    continue
  fi
  measure "pandas + scikit-learn (anchor)" "$venv/bin/python" "$anchors/anchor_partition.py" "$dir/data.csv" "$dir/pandas" readmitted
  measure "polars (anchor)" "$venv/bin/python" "$anchors/anchor_partition_polars.py" "$dir/data.csv" "$dir/polars" readmitted
done
