#!/bin/bash
# Extra parity check (beyond issue 12's bullet): the SGVLM stage-2 localizer, old loop
# (23feac2, `videoqa localizer-train`) vs the shared loop (`videoqa train --recipe
# localizer`), plus the old loop with only its LR schedule replaced by the shared one
# (before_localizer_schedule.patch, in a worktree /tmp/before_sched). Needs the data of
# ../run_before.sh. Usage: extra/run_localizer.sh [CODE_DIR]   (default: this checkout)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=$(cd "${1:-$HERE/../../..}" && pwd)
P=${PARITY:-/tmp/parity}
D=$P/data
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
OLD() {  # OLD <code dir> args...: the old CLI (no __main__ guard in videoqa.cli.main)
  PYTHONPATH=$1 nice -n 5 "$PY" -c 'import sys, videoqa; assert videoqa.__file__.startswith(sys.argv.pop(1)); sys.argv[0] = "videoqa"; from videoqa.cli.main import main; sys.exit(main())' "$@"
}
ARGS=(localizer-train --benchmark $D/synth --features $D/sg16 --scene-graphs $D/sg_tokens
      --tokenizer $D/llm --epochs 3 --batch-size 16 --hidden-size 32 --threads 1 --seed 0)
[ -d /tmp/before/videoqa ] || git -C "$HERE/../../.." worktree add /tmp/before 23feac2
if [ ! -d /tmp/before_sched/videoqa ]; then
  git -C "$HERE/../../.." worktree add /tmp/before_sched 23feac2
  git -C /tmp/before_sched apply "$HERE/before_localizer_schedule.patch"
fi
OLD /tmp/before "${ARGS[@]}" --out $P/runs/before/localizer
OLD /tmp/before_sched "${ARGS[@]}" --out $P/runs/before_patched/localizer
PYTHONPATH=$CODE nice -n 5 "$PY" -m videoqa train --recipe localizer \
  --config "$HERE/localizer_after.yaml" --out $P/runs/after/localizer
M=(--map 'val.*=val_*' --map train_losses.total=train_losses.loss --ignore lr)
for a in before before_patched; do
  echo "== localizer: $a vs after"
  "$PY" "$HERE/../compare.py" $P/runs/$a/localizer/metrics.jsonl $P/runs/after/localizer/metrics.jsonl "${M[@]}" || true
done
