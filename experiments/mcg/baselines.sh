#!/usr/bin/env bash
# HGA and VGT (baseline recipe, plain cross-entropy) on the same synthetic split as the
# MCG runs, on 16 uniform frames encoded by the random-weight `tiny` CLIP preset (frozen
# random features: the backbones learn only above them, MCG learns its pixels end to
# end), hidden size 64, 10 epochs, lr 1e-3, 1,200 training questions, 3 seeds. Results: experiments/mcg/results/base_*.json.
#   nice -n 10 env OMP_NUM_THREADS=1 bash experiments/mcg/baselines.sh /tmp/mcg/data/short /tmp/mcg/runs
set -euo pipefail
DATA=$1; RUNS=$2; PY=${PY:-.venv/bin/python}
FEATS=$RUNS/tiny_features
[ -f "$FEATS/meta.json" ] || .venv/bin/videoqa extract features --annotations "$DATA" --split all \
  --encoder tiny --frames 16 --patches --workers 1 --out "$FEATS" --json > /dev/null
for arch in hga vgt; do
  for seed in 0 1 2; do
    name=base_${arch}_s${seed}
    [ -f experiments/mcg/results/$name.json ] && continue
    $PY - "$arch" "$seed" "$DATA" "$FEATS" "$RUNS/$name" "$name" <<'PY'
import json, sys, time
import torch
from videoqa.recipes import build_recipe
from videoqa.training import TrainingLoop
from videoqa.training.logs import read_metrics
arch, seed, data, feats, out, name = sys.argv[1:]
torch.set_num_threads(1)
over = [f"data.benchmark_dir={data}", f"data.features_dir={feats}", f"seed={seed}", f"output_dir={out}",
        "data.limit=1200", "data.test_splits=[test]", "epochs=10", "model.config.hidden_size=64",
        "optim.lr=1.0e-3", "logging.progress=false"]
recipe = build_recipe(f"baseline_{arch}", over)
cpu = time.process_time()
res = TrainingLoop(recipe).fit(overwrite=True)
curve = [{"epoch": r["epoch"], "val_accuracy": r.get("val_accuracy"), "train_losses": r.get("train_losses")}
         for r in read_metrics(f"{out}/metrics.jsonl") if r.get("kind") == "epoch"]
rec = {"name": name, "cpu_seconds": time.process_time() - cpu, "best_epoch": res.best_epoch,
       "best_value": res.best_value, "curve": curve, "tests": res.tests}
open(f"experiments/mcg/results/{name}.json", "w").write(json.dumps(rec, indent=1) + "\n")
print(name, res.best_value, res.tests.get("test", {}).get("accuracy") if isinstance(res.tests.get("test"), dict) else res.tests)
PY
  done
done
