#!/usr/bin/env bash
# Image benchmark: local training and PNG serving of the workbench's image models beside the
# best Python alternative that installs from PyPI here (scikit-learn; PyTorch's PyPI wheel is
# the CUDA build, 539 MB plus the nvidia-* wheels, and its CPU wheels are not on PyPI), one run,
# same machine, same images.
#
# Data: the shipped UCI digits packed as a CIFAR-10 archive (`wb etl digits`), all ten digits as
# `wb demo images` uses them (`wb etl cifar`: 32×32 RGB PNGs), registered and partitioned once
# (60/20/20).
# Training (validation accuracy, seconds per epoch):
#   wb image-classification (the small CNN; epochs=8, optimizer=adam, learning_rate=0.001: experiment 05)
#     beside sklearn MLPClassifier (one hidden layer of 128, adam, max_iter=8, batches of 32);
#   wb image-logistic (pixel baseline; epochs=20, learning_rate=0.01)
#     beside sklearn LogisticRegression (lbfgs, max_iter=20),
#   the Python side (bench/train_images_sklearn.py) reading the partition's own train/validation
#   channels (.lst + PNGs, decoded with Pillow). wb's seconds per epoch are the epochs' own
#   times as the trainer logs them (WB_LOG=wb_models=info; each includes a pass over the
#   validation images, which sklearn's iterations do not) and the whole job's time (channel
#   copy and hash check, decoding, packing, storing) divided by the epochs; sklearn's are fit
#   seconds / iterations (decoding the PNGs is timed apart).
# Serving (wrk -t1 --latency, POST image/png of one 32×32 test digit, 1 and 8 connections):
#   the CNN deployed with `wb deploy` (the local server, release build) beside gunicorn + Flask
#   (bench/anchor_serve_png_flask.py, 2 sync workers: Pillow decode → the sklearn MLP →
#   JSON array of probabilities). Prints images/s, p50 and p99 and the ratios.
#
# Usage: bench/images.sh     (WB_BENCH_DURATION=8s; WB_BIN: a `wb` binary instead of building
#                             one; WB_BENCH_DIR: work directory, default target/bench-images)
# Needs: wrk (apt-get install wrk); python3 with venv (a venv in target/bench-venv gets
# scikit-learn, numpy, Pillow, Flask and gunicorn, pinned, when missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
work=${WB_BENCH_DIR:-$root/target/bench-images}
venv=$root/target/bench-venv
duration=${WB_BENCH_DURATION:-8s}
cnn_epochs=8
pixel_epochs=20
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

wb=${WB_BIN:-}
if [ -z "$wb" ]; then
  (cd "$root" && cargo build --release --locked -p wb-cli --no-default-features) >&2
  wb=${CARGO_TARGET_DIR:-$root/target}/release/wb
fi
if ! "$venv/bin/python" -c 'import sklearn, PIL, flask, gunicorn' 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet scikit-learn==1.9.1 numpy==2.4.6 pillow==13.0.0 flask==3.1.3 gunicorn==27.0.1
fi
py=$venv/bin/python
cfg=(--config "$work/workbench.toml")

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Stops the local model server `wb deploy` started (and removes the jobs and endpoints).
  [ -f "$work/workbench.toml" ] && "$wb" --quiet "${cfg[@]}" clean >/dev/null 2>&1 || true
}
trap cleanup EXIT

digits_project "$wb" "$work"
channels=$(find "$work/.workbench/datasets/digits/partitions" -mindepth 2 -maxdepth 2 -type d -name channels | head -1)
counts() { cat "$channels/$1_lst"/*.lst | grep -c .; }
echo "== digits 0-9 as 32×32 RGB PNGs: $(counts train) train, $(counts validation) validation images;" \
  "$(nproc) cores, wrk -t1 -d$duration"

# ---- Training -------------------------------------------------------------------------------
json() { "$py" -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
train() { # job algorithm epochs hp... → one line: job_seconds accuracy epoch_seconds_sum epochs_logged
  local job=$1 algorithm=$2 epochs=$3; shift 3
  local out seconds accuracy
  # WB_LOG=wb_models=info: the trainer logs each epoch's own seconds ("image classifier epoch").
  out=$(WB_LOG=wb_models=info "$wb" "${cfg[@]}" train --dataset digits --algorithm "$algorithm" --job "$job" \
    --hp "epochs=$epochs" "$@" --json 2>"$work/$job.log")
  seconds=$(json 'd["training_seconds"]' <<<"$out")
  accuracy=$(json 'round(d["metrics"]["accuracy"], 4)' <<<"$out")
  echo "$seconds $accuracy $(sed 's/\x1b\[[0-9;]*m//g' "$work/$job.log" | grep 'image classifier epoch' |
    grep -o 'seconds=[0-9.e+-]*' | awk -F= '{s += $2; n++} END {printf "%.4f %d", s, n}')"
}
# The hyperparameters of experiments 05 and 06 (no crop for the CNN: it flips digits).
read -r cnn_s cnn_acc cnn_sum cnn_n < <(train digits-cnn image-classification "$cnn_epochs" \
  --hp optimizer=adam --hp learning_rate=0.001)
read -r pix_s pix_acc pix_sum pix_n < <(train digits-pixels image-logistic "$pixel_epochs" --hp learning_rate=0.01)
"$py" "$root/bench/train_images_sklearn.py" "$channels" --mlp-epochs "$cnn_epochs" \
  --logistic-epochs "$pixel_epochs" --model-out "$work/mlp.pkl" | tee "$work/sklearn.out" >&2
sk() { # model field → the value before "s/epoch", or the accuracy
  awk -v m="$1" -v f="$2" '$1 == "sklearn" && $2 == m {
    if (f == "accuracy") print $NF; else for (i = 3; i < NF; i++) if ($(i + 1) == f) print $i }' "$work/sklearn.out"
}
mlp_epoch=$(sk mlp s/epoch); mlp_acc=$(sk mlp accuracy)
lr_epoch=$(sk logistic s/epoch); lr_acc=$(sk logistic accuracy)

echo
echo "training                                   s/epoch (epochs' own | whole job / epochs)  val. accuracy"
row() { printf '%-42s %8s | %-8s %21s\n' "$1" "$2" "$3" "$4"; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
row "wb image-classification (CNN, $cnn_epochs epochs)" "$(per "$cnn_sum" "$cnn_n")" "$(per "$cnn_s" "$cnn_epochs")" "$cnn_acc"
row "sklearn MLPClassifier (128, adam, $cnn_epochs it)" "$mlp_epoch" "" "$mlp_acc"
row "wb image-logistic ($pixel_epochs epochs)" "$(per "$pix_sum" "$pix_n")" "$(per "$pix_s" "$pixel_epochs")" "$pix_acc"
row "sklearn LogisticRegression (lbfgs, $pixel_epochs it)" "$lr_epoch" "" "$lr_acc"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "ratios (s/epoch, whole job / epochs): CNN / MLP $(ratio "$(per "$cnn_s" "$cnn_epochs")" "$mlp_epoch")×," \
  "pixel baseline / LogisticRegression $(ratio "$(per "$pix_s" "$pixel_epochs")" "$lr_epoch")×;" \
  "accuracy CNN $cnn_acc vs MLP $mlp_acc, pixels $pix_acc vs LogisticRegression $lr_acc"

# ---- Serving --------------------------------------------------------------------------------
body=$work/digits/$(awk -F'\t' 'NR == 1 { print $3 }' "$work/digits/test.lst")
path=/endpoints/digits-cnn/invocations
check() { # url → POSTs the PNG once and checks the answer is a JSON array of 10 probabilities
  local answer
  answer=$(curl -fsS -H 'Content-Type: image/png' --data-binary @"$body" "$1$path")
  "$py" -c 'import json, sys; p = json.loads(sys.argv[1]); assert len(p) == 10 and abs(sum(p) - 1) < 1e-4, p' "$answer"
}
declare -A rps p50 p99
load() { # key url connections → fills rps/p50/p99[key:connections], prints one line
  local key=$1 url=$2 conns=$3 out bad
  out=$(BODY=$body PATH_=$path wrk -t1 -c"$conns" -d"$duration" --latency -s "$root/bench/post_png.lua" "$url")
  rps[$key:$conns]=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50[$key:$conns]=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99[$key:$conns]=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-40s c=%-3s %8s images/s  p50 %9s  p99 %9s%s\n' "$key" "$conns" "${rps[$key:$conns]}" \
    "${p50[$key:$conns]}" "${p99[$key:$conns]}" "${bad:+  ($bad non-2xx!)}"
}

echo
echo "serving: POST image/png ($(stat -c %s "$body") bytes, $(basename "$body")) to $path"
url=$("$wb" --quiet "${cfg[@]}" deploy --job digits-cnn --endpoint digits-cnn --json | json 'd["url"].split("/endpoints/")[0]')
wait_for "$url"
check "$url"
for c in 1 8; do load "wb serve (CNN)" "$url" "$c"; done

port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MODEL=$work/mlp.pkl SIDE=32 "$venv/bin/gunicorn" -w 2 -b "127.0.0.1:$port" --chdir "$root/bench" \
  anchor_serve_png_flask:app >"$work/flask.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port"
check "http://127.0.0.1:$port"
for c in 1 8; do load "gunicorn + Flask (MLP, 2 workers)" "http://127.0.0.1:$port" "$c"; done
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

ms() { # wrk duration (12.34us, 1.2ms, 1.5s) → milliseconds
  awk -v d="$1" 'BEGIN { v = d + 0; if (d ~ /us$/) v /= 1000; else if (d ~ /ms$/) v *= 1; else if (d ~ /m$/) v *= 60000; else if (d ~ /s$/) v *= 1000; printf "%.4f", v }'
}
for c in 1 8; do
  w="wb serve (CNN):$c" f="gunicorn + Flask (MLP, 2 workers):$c"
  echo "ratio c=$c: images/s ${rps[$w]} vs ${rps[$f]} = $(ratio "${rps[$w]}" "${rps[$f]}")×;" \
    "p50 ${p50[$w]} vs ${p50[$f]} = $(ratio "$(ms "${p50[$f]}")" "$(ms "${p50[$w]}")")× lower;" \
    "p99 ${p99[$w]} vs ${p99[$f]} = $(ratio "$(ms "${p99[$f]}")" "$(ms "${p99[$w]}")")× lower"
done
