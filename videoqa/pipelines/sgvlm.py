"""``videoqa ask --model sgvlm:<checkpoint>``: answer with a trained SGVLM and show the
evidence its answer rests on — the localized frames (times, saliency) and, at each, the
top scene-graph triplets (subject, relation, object, time).

The checkpoint's config names what the model was trained on: the frame encoder spec
(``cnn:DIR``, a CLIP/SigLIP hub id or directory) and the scene-graph predictor folder;
both are loaded and run on the video's frames here, exactly as during feature
extraction (uniformly sampled frames, the same count as in training). A relative folder
(as training records it, e.g. ``runs/sg_predictor/checkpoints/best``) is looked up in the
working directory and then beside the checkpoint's ancestors, so that ``ask`` also
works from another directory.

The evidence is the frames the localizer selected (``num_selected_frames``; NoLoc:
uniformly spread ones), best saliency first, at most ``top_k`` of them. When an evidence
frame carries no triplet the result says why, in its ``warnings`` and in the frame's
``facts``: the model reads no scene graphs (NoSG), its checkpoint records no predictor
(it then answers with an empty scene-graph view), or the predictor detected no object in
that frame.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from videoqa.encoders.hf import quiet_transformers
from videoqa.errors import ModelUnavailableError
from videoqa.features.extract import VideoJob, decode_video
from videoqa.models.sgvlm.modeling import SGVLM
from videoqa.models.sgvlm.processing import SGVLMBatch
from videoqa.pipelines.ask import AskRun, StageTimer, check_inputs
from videoqa.pipelines.backbone import encoder_has_real_weights, load_pixel_encoder
from videoqa.pipelines.schema import AskResult, Evidence, ModelInfo
from videoqa.video.reader import probe

PREFIX = "sgvlm:"
SAMPLER = "uniform"
CNN_PREFIX = "cnn:"
NO_TRIPLETS = "no scene-graph triplets: "
"""How an evidence frame's ``facts`` begin when they hold no triplet, followed by why."""


def locate(path: str | Path, checkpoint: Path) -> Path:
    """``path`` as recorded in ``checkpoint``'s config: as given when it exists (absolute,
    or relative to the working directory), else relative to the first ancestor of the
    checkpoint that holds it (training records paths relative to its working directory,
    which is usually the folder above ``runs/``); unchanged when none does."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists():
        return path
    for parent in Path(checkpoint).resolve().parents:
        if (parent / path).exists():
            return parent / path
    return path


def _encoder_spec(spec: str, checkpoint: Path) -> str:
    """A ``cnn:DIR`` spec with its folder found by :func:`locate`; other specs as given."""
    if spec.startswith(CNN_PREFIX):
        return CNN_PREFIX + str(locate(spec[len(CNN_PREFIX) :], checkpoint))
    return spec


class SGVLMAnswerer:
    """Loads an SGVLM checkpoint with its frame encoder and scene-graph predictor.

    Args:
        checkpoint: a folder written by ``SGVLM.save_pretrained`` (the ``sgvlm`` recipe's
            ``checkpoints/best``).
        triplets_per_frame: scene-graph facts listed per evidence frame.
        top_k: at most this many evidence frames (of the frames the localizer selected,
            by saliency); None: all selected frames.
        name: the name results carry (default ``sgvlm:<checkpoint>``).
        device: torch device of the model and the encoders.

    Attributes:
        warnings: what the user must be told (also in every result).
        pretrained: whether the frame encoder has real (non-random) weights.

    Raises:
        ModelUnavailableError: the checkpoint, its frame encoder or the scene-graph
            predictor it records cannot be loaded, or the model was trained on oracle
            features that cannot be computed from pixels.
    """

    def __init__(
        self,
        checkpoint: str | Path,
        triplets_per_frame: int = 3,
        *,
        top_k: int | None = None,
        name: str | None = None,
        device: str = "cpu",
    ) -> None:
        self.checkpoint = Path(checkpoint)
        with quiet_transformers():  # no "Loading weights" bars in ask's output
            self.model = SGVLM.from_pretrained(self.checkpoint).to(device)
        cfg = self.model.config
        if cfg.num_frames is None:
            raise ModelUnavailableError(f"{checkpoint} does not record its frame count")
        self.encoder = load_pixel_encoder(
            _encoder_spec(cfg.frame_encoder, self.checkpoint),
            patches=cfg.patch_dim is not None,
            device=device,
            checkpoint=self.checkpoint,
        )
        self.predictor = None
        if cfg.use_scene_graph and cfg.scene_graph_predictor is not None:
            from videoqa.perception.scene_graph import SceneGraphPredictor

            self.predictor = SceneGraphPredictor.from_pretrained(
                locate(cfg.scene_graph_predictor, self.checkpoint)
            )
        self.triplets_per_frame = triplets_per_frame
        self.top_k = top_k
        self.device = device
        self.name = name or f"{PREFIX}{self.checkpoint}"
        self.pretrained = encoder_has_real_weights(self.encoder)
        self.warnings = self._warnings()

    @property
    def settings(self) -> dict[str, object]:
        """JSON-ready options that change the answers: the frame encoder, the sampler and
        frame count of training, and the evidence size."""
        cfg = self.model.config
        return {
            "frame_encoder": cfg.frame_encoder,
            "sampler": SAMPLER,
            "frames": cfg.num_frames,
            "top_k": self.top_k,
            "triplets_per_frame": self.triplets_per_frame,
        }

    def __call__(
        self, video: str | Path, question: str, choices: Sequence[str] | None = None
    ) -> AskRun:
        """Answer ``question`` (multiple choice when ``choices`` are given, else by
        generation) about ``video``.

        Raises:
            UsageError: an empty question or fewer than two choices.
            VideoError: the video cannot be read.
        """
        question, choices = check_inputs(question, choices)
        timer = StageTimer()  # its stages are what the server reports as progress
        start = time.perf_counter()
        with timer.stage("decode"):
            info = probe(video)
            frames = decode_video(
                VideoJob(Path(video).stem, Path(video)),
                SAMPLER,
                int(self.model.config.num_frames),
                size=self.encoder.input_size,
            )
        batch, graphs = self._inputs(frames, question, timer)
        with timer.stage("answer"), torch.inference_mode():
            prefix = self.model.visual_prefix(batch)
            if choices is not None:
                cands = list(choices)
                logp = self.model.score_candidates(batch, [cands])[0]
                probs = torch.softmax(logp, dim=0)
            else:
                cands = [self.model.generate(batch)[0]]
                probs = self.model.score_candidates(batch, [cands])[0].exp()
        timings = timer.timings
        timings["total"] = time.perf_counter() - start
        best = int(probs.argmax())
        evidence, notes = self._evidence(prefix, frames.times, frames.indices, graphs)
        result = AskResult(
            question=question,
            answer=cands[best],
            answer_index=best,
            choices=cands,
            probabilities=[float(p) for p in probs],
            open_ended=choices is None,
            evidence=evidence,
            sampled_times=[float(t) for t in frames.times],
            video=info,
            model=ModelInfo(
                name=self.name,
                arch="sgvlm",
                pretrained=self.pretrained,
                frame_encoder=self.model.config.frame_encoder,
            ),
            pretrained=self.pretrained,
            sampler=SAMPLER,
            timings=timings,
            warnings=[*self.warnings, *notes],
        )
        return AskRun(result=result, frames=frames, grid_image=None)

    def _inputs(self, frames, question: str, timer: StageTimer):
        with timer.stage("encode_frames"):
            feats, patches = self.encoder.encode(frames.frames)
        graphs = None
        with timer.stage("scene_graphs"):
            if self.predictor is not None:
                from videoqa.perception.scene_graph.store import scene_graphs_for_frames

                graphs = scene_graphs_for_frames(
                    self.predictor,
                    torch.from_numpy(frames.frames),
                    frames.times,
                    frame_indices=frames.indices,
                )
        sg_tokens = sg_mask = None
        if graphs is not None:
            sg_tokens = torch.from_numpy(graphs.tokens).float()[None]
            sg_mask = torch.from_numpy(graphs.token_mask)[None]
        elif self.model.config.use_scene_graph:  # no predictor recorded: an empty view
            cfg = self.model.config
            sg_tokens = torch.zeros(1, len(frames), cfg.max_sg_tokens, cfg.sg_dim)
            sg_mask = torch.zeros(1, len(frames), cfg.max_sg_tokens, dtype=torch.bool)
        proc = self.model.processor
        ids, mask = proc.questions([question])
        times = torch.tensor(frames.times, dtype=torch.float32)[None]
        batch = SGVLMBatch(
            frames=torch.from_numpy(feats).float()[None],
            frame_mask=torch.ones(1, len(frames), dtype=torch.bool),
            times=times,
            question_ids=ids,
            question_mask=mask,
            prompts=proc.prompts([question]),
            patches=None if patches is None else torch.from_numpy(patches).float()[None],
            sg_tokens=sg_tokens,
            sg_mask=sg_mask,
        )
        return batch.to(self.device), graphs

    def _evidence(
        self, prefix, times: np.ndarray, indices: np.ndarray, graphs
    ) -> tuple[list[Evidence], list[str]]:
        """The selected frames, best saliency first, at most ``top_k``, each with its
        triplets or the reason it has none; and the warnings of this answer."""
        selected = prefix.selected[0].tolist()
        if prefix.localizer is not None:
            sal = prefix.localizer.saliency[0].float()
            weights = torch.softmax(sal.masked_fill(~torch.isfinite(sal), -1e9) / 0.07, dim=0)
            raw = sal.tolist()
        else:
            weights = torch.full((len(times),), 1.0 / len(times))
            raw = [None] * len(times)
        ranked = sorted(selected, key=lambda t: -float(weights[t]))
        shown = ranked[: self.top_k]
        notes = []
        if self.top_k is not None and self.top_k > len(ranked):
            notes.append(
                f"top-k {self.top_k} asked for, but this SGVLM answers from the {len(ranked)} "
                "frames its localizer selects: the evidence lists those"
                if prefix.localizer is not None
                else f"top-k {self.top_k} asked for, but this SGVLM (NoLoc) answers from "
                f"{len(ranked)} uniformly spread frames: the evidence lists those"
            )
        items, empty = [], []
        for t in shown:
            facts = []
            if graphs is not None and self.triplets_per_frame > 0:
                for tr in graphs.triplet_evidence(t, self.triplets_per_frame):
                    facts.append(
                        f"({tr.subject}, {tr.predicate}, {tr.object}) at {tr.time:.2f}s p={tr.score:.2f}"
                    )
                if not facts:
                    empty.append(t)
                    facts.append(NO_TRIPLETS + self._empty_frame_reason(graphs, t))
            elif self.triplets_per_frame > 0:
                facts.append(NO_TRIPLETS + self._no_graphs_reason())
            items.append(
                Evidence(
                    time=float(times[t]),
                    score=float(weights[t]),
                    frame_index=int(indices[t]),
                    relevance=raw[t],
                    facts=facts,
                )
            )
        if empty:
            at = ", ".join(f"{times[t]:.2f}s" for t in sorted(empty))
            which = "any" if len(empty) == len(shown) else f"{len(empty)} of the {len(shown)}"
            notes.append(
                f"no scene-graph triplets in {which} evidence frame(s) ({at}): the scene-graph "
                f"predictor {self.model.config.scene_graph_predictor} found none there "
                f"(detection threshold {self.predictor.config.detect_threshold:g}; each "
                "frame's facts say why), so the answer's scene-graph view of those frames is "
                "empty"
            )
        return items, notes

    def _empty_frame_reason(self, graphs, t: int) -> str:
        found = int(np.asarray(graphs.object_mask[t]).sum())
        if found == 0:
            return (
                "the scene-graph predictor detected no object in this frame (threshold "
                f"{self.predictor.config.detect_threshold:g})"
            )
        return f"the scene-graph predictor detected {found} object(s) but scored no triplet"

    def _no_graphs_reason(self) -> str:
        if not self.model.config.use_scene_graph:
            return "this SGVLM reads no scene graphs (NoSG)"
        return f"{self.checkpoint} records no scene-graph predictor"

    def _warnings(self) -> list[str]:
        cfg, out = self.model.config, []
        if not self.pretrained:
            out.append(
                f"this SGVLM was trained on features of the frame encoder {cfg.frame_encoder!r}, "
                "which has random weights: the answer and evidence exercise the pipeline but "
                "carry no meaning"
            )
        if cfg.trained_on is not None:
            out.append(
                f"this SGVLM was trained on {cfg.trained_on}; on other videos its answers are "
                "out of domain"
            )
        if not cfg.use_scene_graph:
            out.append("this SGVLM reads no scene graphs (NoSG): its evidence has no triplets")
        elif cfg.scene_graph_predictor is None:
            out.append(
                f"{self.checkpoint} reads scene graphs but records no scene-graph predictor "
                "(config.json: scene_graph_predictor): it answers with an empty scene-graph "
                "view and its evidence has no triplets; train it on a store written by "
                "`videoqa extract scene-graphs` (data.scene_graphs_dir), or set "
                "scene_graph_predictor to the predictor's folder"
            )
        return out
