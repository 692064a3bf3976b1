#!/usr/bin/env bash
# Scoring benchmark: `wb compare` scoring three models on a 10,000-row test split through their
# local endpoints, against ../shared/bench/anchor_score_boto3.py (a boto3 `invoke_endpoint`
# loop in batches of 100, models one after another) against the same endpoints.
#
# Usage: bench/score.sh [ROWS]     readmission-like data (default 50000 rows: a 10,000-row test
#                                  split at the default 60/20/20 partition)
# Environment: WB_BIN (a `wb` binary to use instead of building one), WB_BENCH_DIR (work
# directory, default target/bench-score), WB_BENCH_RUNS (runs of each, default 3).
# Needs: python3 (a venv with boto3 and pyarrow is created in target/bench-venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/target/bench-venv
rows=${1:-50000}
runs=${WB_BENCH_RUNS:-3}
work=${WB_BENCH_DIR:-$root/target/bench-score}/$rows
anchor=$root/../shared/bench/anchor_score_boto3.py

wb=${WB_BIN:-}
if [ -z "$wb" ]; then
  (cd "$root" && cargo build --release --locked -p wb-cli --no-default-features) >&2
  wb=$root/target/release/wb
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import boto3, pyarrow' 2>/dev/null || "$venv/bin/pip" install --quiet boto3 pyarrow
cfg=(--config "$work/workbench.toml")

if [ ! -f "$work/ready" ]; then
  [ -f "$work/workbench.toml" ] && "$wb" --quiet "${cfg[@]}" clean --all >/dev/null 2>&1 || true
  rm -rf "$work" && mkdir -p "$work"
  "$wb" --quiet etl synth readmission --rows "$rows" --seed 1 --to "$work/data.csv" >/dev/null
  (cd "$work" && "$wb" --quiet init >/dev/null)
  "$wb" --quiet "${cfg[@]}" dataset register r --source "$work/data.csv" --target readmitted --missing '?' >/dev/null
  "$wb" --quiet "${cfg[@]}" dataset partition r >/dev/null
  for spec in "logistic logistic-regression" "tree decision-tree --hp max_depth=8" "bayes gaussian-nb"; do
    set -- $spec
    name=$1 alg=$2
    shift 2
    "$wb" --quiet "${cfg[@]}" train --dataset r --algorithm "$alg" --job "r-$name" "$@" >/dev/null
    "$wb" --quiet "${cfg[@]}" deploy --job "r-$name" --endpoint "r-$name" >/dev/null
    "$wb" --quiet "${cfg[@]}" register "r-$name" --endpoint "r-$name" --description "$alg" >/dev/null
  done
  # The test split's raw feature rows (schema order, no header, no target) for the anchor.
  "$venv/bin/python" - "$work" <<'EOF'
import csv, json, sys, pathlib
import pyarrow.parquet as pq, pyarrow as pa
work = pathlib.Path(sys.argv[1])
manifest = json.loads((work / ".workbench/datasets/r/manifest.json").read_text())
features = [f["name"] for f in manifest["features"]]
tables = [pq.read_table(work / ".workbench" / f["path"]) for f in manifest["splits"]["test"]["files"]]
table = pa.concat_tables(tables).select(features)
with open(work / "test.csv", "w", newline="") as out:
    w = csv.writer(out, lineterminator="\n")
    for row in table.to_pylist():
        w.writerow(["" if row[c] is None else row[c] for c in features])
print(f"test split: {table.num_rows} rows x {len(features)} features", file=sys.stderr)
EOF
  touch "$work/ready"
fi

url=$("$wb" --quiet "${cfg[@]}" endpoints list --json | "$venv/bin/python" -c 'import json,sys; e=json.load(sys.stdin); print(e["endpoints"][0]["url"].split("/endpoints/")[0])')
echo "== scoring r-logistic, r-tree, r-bayes on $(wc -l < "$work/test.csv") test rows at $url, $(nproc) cores"

best() { sort -n | head -1; }
anchor_times=()
anchor_walls=()
for _ in $(seq "$runs"); do
  t0=$(date +%s.%N)
  anchor_times+=("$("$venv/bin/python" "$anchor" "$url" "$work/test.csv" r-logistic r-tree r-bayes)")
  t1=$(date +%s.%N)
  anchor_walls+=("$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f')")
done
anchor_best=$(printf '%s\n' "${anchor_times[@]}" | best)
anchor_wall=$(printf '%s\n' "${anchor_walls[@]}" | best)
echo "boto3 anchor (batches of 100, sequential): invoke loop ${anchor_times[*]} s (best $anchor_best s); whole process ${anchor_walls[*]} s (best $anchor_wall s)"

measure() {
  local label=$1
  shift
  local times=() scorings=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$wb" --quiet "${cfg[@]}" compare --json "$@" > "$work/last.json" || true
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l | xargs printf '%.3f')")
    scorings+=("$("$venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["report"]["timings"]["scoring_ms"] / 1000)' "$work/last.json")")
  done
  local b s
  b=$(printf '%s\n' "${times[@]}" | best)
  s=$(printf '%s\n' "${scorings[@]}" | best)
  echo "$label"
  echo "    scoring phase ${scorings[*]} s (best $s s) vs the anchor's invoke loop: $(echo "$anchor_best / $s" | bc -l | xargs printf '%.1f')x"
  echo "    whole command ${times[*]} s (best $b s) vs the anchor's whole process: $(echo "$anchor_wall / $b" | bc -l | xargs printf '%.1f')x, vs its invoke loop alone: $(echo "$anchor_best / $b" | bc -l | xargs printf '%.1f')x"
  local scoring
  scoring=$("$venv/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1]))["report"]; t=r["timings"]; print("scoring %d ms, statistics %d ms, explanations %d ms, total %d ms; %d models, %d failures" % (t["scoring_ms"], t["statistics_ms"], t["explanations_ms"], t["total_ms"], len(r["models"]), len(r["failures"])))' "$work/last.json")
  echo "    last run: $scoring"
}
measure "wb compare, batches of 100 (scoring + metrics only)" --batch-size 100 --resamples 0 --importance-budget 0
measure "wb compare, batches of 500 (scoring + metrics only)" --batch-size 500 --resamples 0 --importance-budget 0
measure "wb compare, defaults (1000 bootstrap resamples, importance, report)"
