#!/bin/bash
# Refactor parity, "before" side: the reduced SpARC and SGVLM trainings on commit
# 23feac2 (git worktree at /tmp/before), plus the data both sides share.
# Usage: experiments/refactor_parity/run_before.sh [data|train|all|shuffle-proof]   (default: all)
#   shuffle-proof: the old code with only SGVLM's epoch order changed to the shared
#   sampler's (before_shuffle.patch, in a second worktree /tmp/before_patched), seed 1
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BEFORE=${BEFORE:-/tmp/before}
P=${PARITY:-/tmp/parity}
D=$P/data
PY=${PY:-/work/main/.venv/bin/python}
[ -d "$BEFORE/videoqa" ] || git -C "$HERE/../.." worktree add "$BEFORE" 23feac2
export PYTHONPATH=$BEFORE OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# videoqa.cli.main has no __main__ guard: call main() ourselves
V() { nice -n 5 "$PY" -c 'import sys; sys.argv[0]="videoqa"; from videoqa.cli.main import main; sys.exit(main())' "$@"; }
"$PY" -c 'import videoqa, sys; f = videoqa.__file__; print("videoqa from", f); sys.exit(not f.startswith(sys.argv[1]))' "$BEFORE"
mkdir -p "$P/runs/before"

data() {
  V synth --out $D/synth --videos 60 --seed 0 --workers 1 --json
  # SpARC: frames of the MP4s through the tiny (random-weight) CLIP encoder, a feature teacher
  V extract --annotations $D/synth --out $D/feats_tiny --split all --encoder tiny --frames 16 --workers 1 --json
  V teacher-train --synthetic $D/synth --features $D/feats_tiny --out $D/teacher_model --epochs 5 --patience 5 --hidden-size 64 --seed 0 --json
  V teach --annotations $D/synth --split train --features $D/feats_tiny --teacher feature:$D/teacher_model --out $D/teacher_train.h5 --json
  # SGVLM: oracle features, tiny LLM, quickest scene-graph stages, 1-epoch localizer
  V synth-features --benchmark $D/synth --out $D/sg16 --frames 16
  V sgvlm-llm --benchmark $D/synth --out $D/llm --hidden 64 --layers 1 --heads 2
  V sg-train --synthetic $D/synth --out $D/sg_predictor --epochs 1 --frames-per-video 2 --threads 1 --seed 0 --json
  V sg-extract --synthetic $D/synth --predictor $D/sg_predictor --like $D/sg16 --out $D/sg_tokens --json
  V localizer-train --benchmark $D/synth --features $D/sg16 --scene-graphs $D/sg_tokens --tokenizer $D/llm --out $D/localizer --epochs 1 --hidden-size 32 --threads 1 --seed 0
}

train() {
  V train --recipe sparc --config "$HERE/before/sparc_vgt.yaml" --set seed=0
  V sgvlm-train --config "$HERE/before/sgvlm.yaml" --set seed=0
  # extra: with seed 0 the old SGVLM order (seed*1000+epoch) and the shared sampler's
  # (seed*100003+epoch) coincide; seed 1 tells them apart
  V sgvlm-train --config "$HERE/before/sgvlm.yaml" --set seed=1 --out $P/runs/before/sgvlm_seed1
}

shuffle_proof() {
  local patched=${BEFORE_PATCHED:-/tmp/before_patched}
  if [ ! -d "$patched/videoqa" ]; then
    git -C "$HERE/../.." worktree add "$patched" 23feac2
    git -C "$patched" apply "$HERE/before_shuffle.patch"
  fi
  PYTHONPATH=$patched V sgvlm-train --config "$HERE/before/sgvlm.yaml" --set seed=1 \
    --out $P/runs/before_patched/sgvlm_seed1
}

case "${1:-all}" in
  data) data ;;
  train) train ;;
  all) data; train ;;
  shuffle-proof) shuffle_proof ;;
  *) echo "usage: $0 [data|train|all|shuffle-proof]" >&2; exit 2 ;;
esac
