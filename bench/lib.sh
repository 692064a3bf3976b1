# Shared by the bench scripts (sourced, not run).

# wait_for URL: waits until GET URL/ping answers 200 (10 s at most).
wait_for() {
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$1/ping" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server at $1 did not answer /ping" >&2; return 1
}

# digits_project WB WORK: a fresh project in WORK (after cleaning an earlier one) holding the
# shipped digits as `wb demo images` has them: the CIFAR-10 archive, its PNGs and .lst files in
# WORK/digits, registered as the image dataset `digits` and partitioned once.
digits_project() {
  local wb=$1 work=$2
  local cfg=(--config "$work/workbench.toml")
  [ -f "$work/workbench.toml" ] && "$wb" --quiet "${cfg[@]}" clean --all >/dev/null 2>&1 || true
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && "$wb" --quiet init >/dev/null)
  "$wb" --quiet etl digits --to "$work/digits.tar.gz" >/dev/null
  "$wb" --quiet etl cifar "$work/digits.tar.gz" --to "$work/digits" >/dev/null
  "$wb" --quiet "${cfg[@]}" dataset register digits --images "$work/digits" \
    --lst "$work/digits/train.lst" --lst "$work/digits/test.lst" >/dev/null
  "$wb" --quiet "${cfg[@]}" dataset partition digits >/dev/null
}
