"""Leave-one-family-out measurements of the quality model and its baselines (issue 18).

Reads the cached family training set (the ``quality_families`` recipe's ``data``
section: ``experiments/quality/make_sources.py`` sources, distorted and featurized) and
a finished ``videoqa train --recipe quality --config quality_families`` run (its
leave-one-family-out folds in ``<run>/cross_validation/<family>``), and writes one JSON
with, per method, the issue's table:

* SRCC(overall, level) per ladder (clip x kind x codec, pristine = level 0), mean and
  worst over the held-out families' ladders;
* pristine scored above each of its distorted versions (combinations included);
* clean clips (pristine + clean variants) of held-out families classified ``none``;
* distortion-type accuracy of single distortions at levels 2-5.

Methods: the model (each family scored by the fold that never saw it), the shipped
model before this work (``--old-model``; trained on the three sample families only, so
only the photo / synth / ffmpeg families are unseen by it), NIQE alone (score = -NIQE;
"clean" when NIQE is under the threshold that best separates clean from level >= 2 on
the training families; no kind) and BRISQUE alone (the 36 features, standardized: ridge
regression onto the level-calibrated overall score and a ridge one-vs-rest classifier
onto the ten classes, both fitted in closed form on the training families).

Also: the issue's 8 s 640x360 check (a generated clip and an animated photo: Gaussian
blur sigma 0.01 / 1.5 / 3 / 6 at x264 CRF 12, and CRF 16 -> 51), the carphone pair,
and the compute seconds per second of 640x360 video.

    python experiments/quality/lofo.py --sources S/sources.json --work W --run RUN \
        --old-model OLD --out results.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np

from videoqa.perception.quality.dataset import build_family_training_set
from videoqa.perception.quality.evaluation import (
    LADDER_TARGET,
    EvalMetrics,
    ladder_values,
    video_metrics,
)
from videoqa.perception.quality.features import extract_quality_features, unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES, QualityModel
from videoqa.video.samples import sample_video

NAMES = unit_feature_names()
NIQE = NAMES.index("spatial.niqe")
BRISQUE = [i for i, n in enumerate(NAMES) if n.startswith("spatial.brisque_")]


def _video_table(data, mask):
    vids = np.unique(data.video[mask])
    return vids, [data.videos[v] for v in vids]


def _pool(per_family: dict[str, EvalMetrics], clean: dict[str, tuple[int, int]]) -> dict:
    ladders = ladder_values(per_family.values())
    pairs = sum(m.pairs for m in per_family.values())
    typed = sum(m.typed_videos for m in per_family.values())
    clean_n = sum(c[0] for c in clean.values())
    return {
        "ladders": len(ladders),
        "ladder_srcc_mean": float(np.mean(ladders)) if ladders else None,
        "ladder_srcc_worst": float(np.max(ladders)) if ladders else None,
        "ladders_above_-0.7": int(sum(x > LADDER_TARGET for x in ladders)),
        "pairs": pairs,
        "pairs_correct_share": sum(m.pairs_correct for m in per_family.values()) / max(pairs, 1),
        "clean_videos": clean_n,
        "clean_recognized_share": (sum(c[1] for c in clean.values()) / clean_n) if clean_n else None,
        "type_videos_level_ge2": typed,
        "type_accuracy_level_ge2": (
            sum(m.typed_correct for m in per_family.values()) / typed if typed else None
        ),
        "combo_classified_as_one_of_its_kinds": (
            sum(m.combo_correct for m in per_family.values())
            / max(sum(m.combo_videos for m in per_family.values()), 1)
        ),
        "per_family": {
            f: {
                "ladder_srcc_mean": float(np.mean(ladder_values([m]))) if m.ladder_srcc else None,
                "ladder_srcc_worst": float(np.max(ladder_values([m]))) if m.ladder_srcc else None,
                "pairs_correct_share": m.pairs_correct / max(m.pairs, 1),
                "clean": list(clean[f]),
                "type_accuracy_level_ge2": m.typed_correct / max(m.typed_videos, 1),
            }
            for f, m in per_family.items()
        },
    }  # fmt: skip


ANSWER_RULE = False
"""Classify as the answer path does: ``none`` when no distortion's visible probability
(mean over the third of the seconds where it is highest) reaches CLEAR_DISTORTION,
else the kind with the highest visible probability."""


def _model_scores(model: QualityModel, data, mask):
    from videoqa.perception.quality.answer import CLEAR_DISTORTION
    from videoqa.perception.quality.assess import visible_probability

    pred = model.predict(data.features[mask])
    vids = data.video[mask]
    out_c, out_s = [], []
    for v in np.unique(vids):
        sel = vids == v
        probs = pred.probabilities[sel]
        if ANSWER_RULE:
            vis = [visible_probability(probs[:, k]) for k in range(1, len(CLASS_NAMES))]
            top = int(np.argmax(vis))
            out_c.append("none" if vis[top] < CLEAR_DISTORTION else CLASS_NAMES[1 + top])
        else:
            out_c.append(CLASS_NAMES[int(np.argmax(probs.mean(axis=0)))])
        out_s.append(float(pred.scores[sel, 0].mean()))
    return out_c, np.asarray(out_s)


def _means(data, mask, cols):
    vids = data.video[mask]
    return np.stack([data.features[mask][vids == v][:, cols].mean(axis=0) for v in np.unique(vids)])


def evaluate_models(data, scored, families, fold_model, label_scored=True) -> dict:
    per, clean = {}, {}
    fam = data.sources()
    for f in families:
        model = fold_model(f)
        if model is None:
            continue
        held = fam == f
        m_s = held & scored[data.video]
        _, labels = _video_table(data, m_s)
        classes, scores = _model_scores(model, data, m_s)
        per[f] = video_metrics(labels, classes, scores)
        m_v = held & ~scored[data.video]
        extra_c, _ = _model_scores(model, data, m_v) if m_v.any() else ([], None)
        n_clean = per[f].clean_videos + len(extra_c)
        clean[f] = (n_clean, per[f].clean_recognized + sum(c == "none" for c in extra_c))
    return _pool(per, clean)


def _ridge(x, y, lam=1.0):
    x1 = np.hstack([x, np.ones((len(x), 1))])
    reg = lam * np.eye(x1.shape[1])
    reg[-1, -1] = 0.0
    return np.linalg.solve(x1.T @ x1 + reg, x1.T @ y)


def evaluate_baselines(data, scored, families) -> dict:
    fam = data.sources()
    levels = np.array([v.level for v in data.videos])
    results = {}
    for name in ("niqe", "brisque"):
        per, clean = {}, {}
        for f in families:
            train = fam != f
            test = fam == f
            tv, tlabels = _video_table(data, train)
            m_s = test & scored[data.video]
            _, labels = _video_table(data, m_s)
            m_v = test & ~scored[data.video]
            if name == "niqe":
                tr = _means(data, train, [NIQE])[:, 0]
                lv = levels[tv]
                grid = np.quantile(tr, np.linspace(0.02, 0.98, 97))

                def bal(t, tr=tr, lv=lv):
                    return (np.mean(tr[lv == 0] < t) + np.mean(tr[lv >= 2] >= t)) / 2

                thr = max(grid, key=bal)
                te = _means(data, m_s, [NIQE])[:, 0]
                scores = -te
                classes = ["none" if v < thr else "distorted" for v in te]
                extra = (
                    ["none" if v < thr else "d" for v in _means(data, m_v, [NIQE])[:, 0]]
                    if m_v.any()
                    else []
                )
            else:
                xt = _means(data, train, BRISQUE)
                mu, sd = xt.mean(0), xt.std(0) + 1e-9
                z = (xt - mu) / sd
                target = np.array([data.scores[data.video == v][0, 0] for v in tv])
                w = _ridge(z, target)
                onehot = np.zeros((len(tv), len(CLASS_NAMES)))
                for i, v in enumerate(tv):
                    onehot[i, data.classes[data.video == v][0]] = 1.0
                cw = _ridge(z, onehot)

                def predict(mask, mu=mu, sd=sd, w=w, cw=cw):
                    zz = (_means(data, mask, BRISQUE) - mu) / sd
                    zz = np.hstack([zz, np.ones((len(zz), 1))])
                    return zz @ w, [CLASS_NAMES[int(k)] for k in np.argmax(zz @ cw, axis=1)]

                scores, classes = predict(m_s)
                extra = predict(m_v)[1] if m_v.any() else []
            per[f] = video_metrics(labels, classes, scores)
            clean[f] = (per[f].clean_videos + len(extra),
                        per[f].clean_recognized + sum(c == "none" for c in extra))  # fmt: skip
        pooled = _pool(per, clean)
        if name == "niqe":
            pooled["type_accuracy_level_ge2"] = None  # NIQE has no notion of kind
            pooled["combo_classified_as_one_of_its_kinds"] = None
        results[name] = pooled
    return results


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def issue_check(models: dict[str, QualityModel], work: Path) -> dict:
    """The issue's 8 s 640x360 ladders on a generated clip and on an animated photo."""
    work.mkdir(parents=True, exist_ok=True)
    sources = {
        "testsrc2": ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "8"],
        "mandelbrot": ["-f", "lavfi", "-i", "mandelbrot=size=640x360:rate=25", "-t", "8"],
    }
    ladders = {"blur": [0.01, 1.5, 3.0, 6.0], "crf": [16, 23, 30, 37, 44, 51]}
    out: dict = {}
    feats_cache: dict[str, np.ndarray] = {}
    compute = []
    for src, spec in sources.items():
        for ladder, values in ladders.items():
            for v in values:
                dest = work / f"{src}_{ladder}{v}.mp4"
                if not dest.is_file():
                    vf = ["-vf", f"gblur=sigma={v}"] if ladder == "blur" else []
                    crf = "12" if ladder == "blur" else str(v)
                    _ffmpeg([*spec, *vf, "-c:v", "libx264", "-crf", crf, "-preset", "veryfast",
                             "-pix_fmt", "yuv420p", str(dest)])  # fmt: skip
                f = extract_quality_features(dest)
                compute.append(f.compute_seconds / f.info.duration)
                feats_cache[dest.name] = f.matrix()
    for mname, model in models.items():
        res = {}
        for src in sources:
            for ladder, values in ladders.items():
                rows = []
                for v in values:
                    pred = model.predict(feats_cache[f"{src}_{ladder}{v}.mp4"])
                    probs = pred.probabilities.mean(0)
                    rows.append({
                        "value": v, "overall": float(pred.scores[:, 0].mean()),
                        "sharpness": float(pred.scores[:, 1].mean()),
                        "compression": float(pred.scores[:, 3].mean()),
                        "class": CLASS_NAMES[int(np.argmax(probs))],
                        "p_class": float(probs.max()),
                    })  # fmt: skip
                ov = [r["overall"] for r in rows]
                res[f"{src}/{ladder}"] = {
                    "rows": rows,
                    "monotone_nonincreasing": bool(np.all(np.diff(ov) <= 1e-9)),
                }
        out[mname] = res
    out["compute_seconds_per_video_second_640x360"] = {
        "median": float(np.median(compute)),
        "max": float(np.max(compute)),
        "clips": len(compute),
    }
    return out


def carphone(models: dict[str, QualityModel]) -> dict:
    f = {n: extract_quality_features(sample_video(n)).matrix()
         for n in ("carphone_pristine", "carphone_distorted")}  # fmt: skip
    return {
        m: {n: float(model.predict(x).scores[:, 0].mean()) for n, x in f.items()}
        for m, model in models.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--old-model", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--check-dir", type=Path, default=Path("/tmp/quality/issue_check"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    data, scored = build_family_training_set(
        args.sources, args.work, jobs=1, codecs=("libx264", "mpeg4"), combos=4,
        variants_per_clip=2, seed=0,
    )  # fmt: skip
    families = sorted(set(data.sources().tolist()))
    cv = args.run / "cross_validation"

    def fold(f):
        p = cv / f / "checkpoints" / "best"
        return QualityModel.load(p) if p.is_dir() else None

    old = QualityModel.load(args.old_model)
    new = QualityModel.load(args.run / "checkpoints" / "best")
    global ANSWER_RULE
    result = {
        "videos": len(data.videos),
        "units": int(len(data.features)),
        "families": {f: int(sum(v.source == f for v in data.videos)) for f in families},
        "model_lofo": evaluate_models(data, scored, families, fold),
        "old_model_on_unseen_families": evaluate_models(
            data,
            scored,
            [f for f in families if f in ("photo", "synth", "ffmpeg")],
            lambda f: old,
        ),
        "model_lofo_same_families_as_old": evaluate_models(
            data, scored, [f for f in families if f in ("photo", "synth", "ffmpeg")], fold
        ),
        "baselines_lofo": evaluate_baselines(data, scored, families),
    }
    ANSWER_RULE = True
    result["model_lofo_answer_rule"] = evaluate_models(data, scored, families, fold)
    result["old_model_on_unseen_families_answer_rule"] = evaluate_models(
        data, scored, [f for f in families if f in ("photo", "synth", "ffmpeg")], lambda f: old
    )
    ANSWER_RULE = False
    models = {"old_shipped": old, "new_full": new}
    if fold("ffmpeg") is not None:
        models["fold_without_ffmpeg"] = fold("ffmpeg")
    result["issue_check_8s_640x360"] = issue_check(models, args.check_dir)
    result["carphone_pair"] = carphone(models)
    result["seconds"] = time.perf_counter() - t0
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(
        json.dumps({k: v for k, v in result.items() if k != "issue_check_8s_640x360"}, indent=1)[
            :6000
        ]
    )


if __name__ == "__main__":
    main()
