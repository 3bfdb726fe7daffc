#!/bin/bash
# Refactor parity, "after" side: the same reduced SpARC and SGVLM trainings on the shared
# training loop (videoqa train --recipe sparc|sgvlm), on the data run_before.sh built
# (checked against before/data.sha256 first), then compare.py against the before runs.
# Usage: experiments/refactor_parity/run_after.sh [CODE_DIR [TAG]]
#   CODE_DIR: the videoqa checkout to run (default: this repository, /work/main);
#             e.g. a clean `git worktree add /tmp/after <commit>`.
#   TAG:      run folder name under $PARITY/runs/ (default: after).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=$(cd "${1:-$HERE/../..}" && pwd)
TAG=${2:-after}
P=${PARITY:-/tmp/parity}
PY=${PY:-/work/main/.venv/bin/python}
OUT=$P/runs/$TAG
export PYTHONPATH=$CODE OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
V() { nice -n 5 "$PY" -m videoqa "$@"; }
"$PY" -c 'import videoqa, sys; f = videoqa.__file__; print("videoqa from", f); sys.exit(not f.startswith(sys.argv[1]))' "$CODE"
git -C "$CODE" log -1 --format='code: %h %s' | cut -c1-120
git -C "$CODE" status --short --untracked-files=no -- videoqa | sed 's/^/uncommitted: /'

# the data must be the before side's, unchanged
(cd $P/data && sha256sum --quiet -c <(grep -v 'synth/videos/\*' "$HERE/before/data.sha256"))
[ "$(cd $P/data && find synth/videos -type f | sort | xargs cat | sha256sum | cut -d' ' -f1)" = \
  "$(grep 'synth/videos/\*' "$HERE/before/data.sha256" | cut -d' ' -f1)" ]
echo "data: unchanged"

mkdir -p "$OUT"
V train --recipe sparc --config "$HERE/after/sparc_vgt.yaml" --set seed=0 --out $OUT/sparc_vgt
V train --recipe sgvlm --config "$HERE/after/sgvlm.yaml" --set seed=0 --out $OUT/sgvlm
V train --recipe sgvlm --config "$HERE/after/sgvlm.yaml" --set seed=1 --out $OUT/sgvlm_seed1

C() { "$PY" "$HERE/compare.py" "$@" || true; }
B=$P/runs/before
# 788 train questions / batch 32 = 25 steps per epoch
SG_MAP=(--a-epoch-steps 25 --map loss=losses.loss --map lm=losses.lm --map localizer=losses.localizer
        --map mc=losses.mc --map train_loss=train_losses.loss)
echo "== SpARC metrics.jsonl";      C $B/sparc_vgt/metrics.jsonl $OUT/sparc_vgt/metrics.jsonl
echo "== SpARC results.json";       C $B/sparc_vgt/results.json $OUT/sparc_vgt/results.json --map best_val_accuracy=best_value
echo "== SGVLM metrics.jsonl";      C $B/sgvlm/metrics.jsonl $OUT/sgvlm/metrics.jsonl "${SG_MAP[@]}"
echo "== SGVLM results.json";       C $B/sgvlm/results.json $OUT/sgvlm/results.json --map best_val_accuracy=best_value
echo "== SGVLM seed 1 metrics.jsonl"; C $B/sgvlm_seed1/metrics.jsonl $OUT/sgvlm_seed1/metrics.jsonl "${SG_MAP[@]}"
if [ -f $P/runs/before_patched/sgvlm_seed1/metrics.jsonl ]; then  # run_before.sh shuffle-proof
  echo "== SGVLM seed 1, before with the shared sampler's order (before_shuffle.patch)"
  C $P/runs/before_patched/sgvlm_seed1/metrics.jsonl $OUT/sgvlm_seed1/metrics.jsonl "${SG_MAP[@]}"
fi
