#!/usr/bin/env bash
# Training benchmark: each wb-models algorithm (crates/wb-models/examples/train_bench.rs)
# against scikit-learn (bench/train_sklearn.py) on the same train/validation channel CSVs
# (target first, no header). Reports fit seconds and validation ROC AUC per algorithm.
#
# Usage: bench/train.sh [ROWS]                      generate readmission-like data (default
#                                                   200000 rows), partition it with `wb`, bench
#        bench/train.sh TRAIN.csv VALIDATION.csv    bench existing channel files
# Environment: WB_BENCH_TREES (forest size, default 50), WB_BENCH_DEPTH (tree and forest depth,
# default 10), WB_BENCH_ROUNDS / WB_BENCH_BOOST_DEPTH / WB_BENCH_ETA (gradient boosting: 100, 6,
# 0.3, the same for ours, xgboost and scikit-learn's HistGradientBoosting), WB_BENCH_CLASSES (default 2), WB_BIN (a `wb` binary to use instead of building
# one), WB_BENCH_DIR (work directory, default target/bench-train),
# WB_BENCH_REGRESSION_COLUMN (default 15, num_medications of the generated data; 0 skips): the
# regression round, where that feature column becomes the target (the class column is dropped)
# for our regression trees, forest and xgboost against scikit-learn's regressors and XGBRegressor.
# Needs: python3 (a venv with pandas, scikit-learn and xgboost-cpu is created in target/bench-venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/target/bench-venv
trees=${WB_BENCH_TREES:-50}
depth=${WB_BENCH_DEPTH:-10}
classes=${WB_BENCH_CLASSES:-2}
rounds=${WB_BENCH_ROUNDS:-100}
boost_depth=${WB_BENCH_BOOST_DEPTH:-6}
eta=${WB_BENCH_ETA:-0.3}
algorithms=${WB_BENCH_ALGORITHMS:-logistic-regression,decision-tree,random-forest,gaussian-nb,xgboost}

if [ "$#" -eq 2 ] && [ -f "$1" ] && [ -f "$2" ]; then
  train=$1
  validation=$2
else
  rows=${1:-200000}
  work=${WB_BENCH_DIR:-$root/target/bench-train}/$rows
  wb=${WB_BIN:-}
  if [ -z "$wb" ]; then
    (cd "$root" && cargo build --release --locked -p wb-cli --no-default-features) >&2
    wb=$root/target/release/wb
  fi
  if [ ! -d "$work/.workbench" ]; then
    rm -rf "$work" && mkdir -p "$work"
    "$wb" --quiet etl synth readmission --rows "$rows" --seed 1 --to "$work/data.csv" >/dev/null
    (cd "$work" && "$wb" --quiet init >/dev/null)
    "$wb" --quiet --config "$work/workbench.toml" dataset register r \
      --source "$work/data.csv" --target readmitted --missing '?' >/dev/null
    "$wb" --quiet --config "$work/workbench.toml" dataset partition r >/dev/null
  fi
  train=$(find "$work/.workbench" -path '*/channels/train/*.csv' | sort | head -1)
  validation=$(find "$work/.workbench" -path '*/channels/validation/*.csv' | sort | head -1)
fi

(cd "$root" && cargo build --release --locked -p wb-models --example train_bench) >&2
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import sklearn, pandas, xgboost' 2>/dev/null ||
  "$venv/bin/pip" install --quiet scikit-learn pandas xgboost-cpu==3.1.2

echo "== $(basename "$train") / $(basename "$validation"): trees $trees, depth $depth, $(nproc) cores"
"${CARGO_TARGET_DIR:-$root/target}/release/examples/train_bench" "$train" "$validation" --classes "$classes" \
  --set "decision-tree.max_depth=$depth" \
  --algorithms "$algorithms" \
  --set "random-forest.max_depth=$depth" --set "random-forest.num_trees=$trees" \
  --set "xgboost.num_round=$rounds" --set "xgboost.max_depth=$boost_depth" --set "xgboost.eta=$eta"
"$venv/bin/python" "$root/bench/train_sklearn.py" "$train" "$validation" \
  --max-depth "$depth" --trees "$trees" --jobs "$(nproc)" \
  --rounds "$rounds" --boost-depth "$boost_depth" --eta "$eta" \
  --algorithms "$algorithms,hist-gradient-boosting"

regression_column=${WB_BENCH_REGRESSION_COLUMN:-15}
if [ "$regression_column" -gt 0 ]; then
  regression_dir=$(mktemp -d)
  trap 'rm -rf "$regression_dir"' EXIT
  # Feature column J (1-based, after the target) first, the class column dropped.
  "$venv/bin/python" - "$regression_column" "$train" "$validation" "$regression_dir" <<'PY'
import sys, pandas as pd
column, out = int(sys.argv[1]), sys.argv[4]
for path, name in ((sys.argv[2], "train"), (sys.argv[3], "validation")):
    frame = pd.read_csv(path, header=None)
    rest = [c for c in frame.columns if c not in (0, column)]
    frame[[column] + rest].to_csv(f"{out}/{name}.csv", header=False, index=False)
PY
  echo "== regression: feature column $regression_column as the target"
  "${CARGO_TARGET_DIR:-$root/target}/release/examples/train_bench" "$regression_dir/train.csv" "$regression_dir/validation.csv" \
    --classes 0 --algorithms decision-tree,random-forest,xgboost \
    --set "decision-tree.max_depth=$depth" \
    --set "random-forest.max_depth=$depth" --set "random-forest.num_trees=$trees" \
    --set "xgboost.num_round=$rounds" --set "xgboost.max_depth=$boost_depth" --set "xgboost.eta=$eta"
  "$venv/bin/python" "$root/bench/train_sklearn.py" "$regression_dir/train.csv" "$regression_dir/validation.csv" \
    --regression --max-depth "$depth" --trees "$trees" --jobs "$(nproc)" \
    --rounds "$rounds" --boost-depth "$boost_depth" --eta "$eta" \
    --algorithms decision-tree,random-forest,xgboost,hist-gradient-boosting
fi
