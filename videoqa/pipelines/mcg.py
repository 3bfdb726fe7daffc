"""``videoqa ask --model mcg:<checkpoint>``: answer with a trained MCG (arXiv:2410.09379)
from the video's pixels and show what the answer rests on.

The checkpoint records the frame count, the evaluation sampler (``uniform``, as the
released code evaluates) and the frame size; the frames are decoded with the reader at
full size, then resized (antialiased bilinear) and normalised by the model's processor.
Training decodes straight to the frame size (the reader's area filter) and samples long
videos from a cache of at most 512 evenly spread frames, so the pixels and, on long
videos, the sampled times differ slightly from training's. Multiple
choice scores every candidate by the answer decoder's log-likelihood (softmax over the
candidates gives the probabilities); without choices the decoder generates the answer
by beam search (its probability is ``exp`` of its summed log-likelihood).

Evidence is the token-level alignment (MCG §3.3): every question word attends to the
video's patches (``softmax(w·p / τ_l)``), the attention is averaged over the words with
their CLS-attention weights, and each sampled frame gets the share of that attention
on its patches (``score``, summing to 1 over the frames) and its per-patch map
(``weight_map``, rows × cols of the patch grid, scaled so the frame's strongest patch
is 1). The ``top_k`` frames with the most attention are listed, best first; with
``--save-evidence`` each is saved with the map overlaid.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch

from videoqa.encoders.hf import quiet_transformers
from videoqa.features.extract import VideoJob, decode_video
from videoqa.models.mcg import MCG, MCGBatch
from videoqa.pipelines.ask import AskRun, StageTimer, check_inputs
from videoqa.pipelines.schema import AskResult, Evidence, ModelInfo
from videoqa.video.reader import probe

PREFIX = "mcg:"


class MCGAnswerer:
    """Loads an MCG checkpoint (the ``mcg`` recipe's ``checkpoints/best``).

    Args:
        checkpoint: a folder written by ``MCG.save_pretrained``.
        top_k: evidence frames listed (most attended first).
        name: the name results carry (default ``mcg:<checkpoint>``).
        device: torch device of the model.

    Raises:
        CheckpointError: the checkpoint cannot be loaded.
    """

    def __init__(
        self, checkpoint: str | Path, *, top_k: int = 4, name: str | None = None, device: str = "cpu"
    ) -> None:
        self.checkpoint = Path(checkpoint)
        with quiet_transformers():
            self.model = MCG.from_pretrained(self.checkpoint).to(device)
        self.top_k = top_k
        self.device = device
        self.name = name or f"{PREFIX}{self.checkpoint}"
        self.pretrained = True  # trained weights (see warnings for what they were trained on)
        self.warnings = self._warnings()

    @property
    def settings(self) -> dict[str, object]:
        """JSON-ready options that change the answers."""
        cfg = self.model.config
        return {
            "sampler": cfg.eval_sampler,
            "frames": cfg.num_frames,
            "image_size": cfg.video.image_size,
            "num_beams": cfg.num_beams,
            "top_k": self.top_k,
        }

    @property
    def wants_text_stream(self) -> bool:
        """Whether the model reads what is said in the video (trained with an extra text
        stream: ``MCGConfig.text_stream``); the router then passes the transcript."""
        return bool(self.model.config.text_stream)

    def __call__(
        self,
        video: str | Path,
        question: str,
        choices: Sequence[str] | None = None,
        *,
        text_stream: str | None = None,
    ) -> AskRun:
        """Answer ``question`` about ``video`` (multiple choice when ``choices`` are
        given, else generated).

        Args:
            text_stream: what is said in the video (subtitles / transcript text), the
                question's second segment for a model trained with one
                (:attr:`wants_text_stream`); ignored otherwise.

        Raises:
            UsageError: an empty question or fewer than two choices.
            VideoError: the video cannot be read.
        """
        question, choices = check_inputs(question, choices)
        cfg, proc = self.model.config, self.model.processor
        timer = StageTimer()  # its stages are what the server reports as progress
        start = time.perf_counter()
        with timer.stage("decode"):
            info = probe(video)
            frames = decode_video(
                VideoJob(Path(video).stem, Path(video)), cfg.eval_sampler, cfg.num_frames
            )
        with timer.stage("answer"):
            batch = MCGBatch(
                proc.frames(frames.frames)[None],
                torch.tensor(frames.times, dtype=torch.float32)[None],
                proc.text([question], [text_stream] if text_stream and self.wants_text_stream else None),
            ).to(self.device)
            with torch.inference_mode():
                encoded = self.model.memory(batch)  # the video and question, encoded once
                if choices is not None:
                    cands = list(choices)
                    probs = torch.softmax(self.model.loglikelihood(batch, [cands], encoded)[0], dim=0)
                else:
                    cands = self.model.generate(batch, encoded=encoded)
                    probs = self.model.loglikelihood(batch, [cands], encoded)[0].exp()
                patches, per_frame = self.model.alignment(batch, encoded)
        timings = timer.timings
        timings["total"] = time.perf_counter() - start
        best = int(probs.argmax())
        result = AskResult(
            question=question,
            answer=cands[best],
            answer_index=best,
            choices=cands,
            probabilities=[float(p) for p in probs],
            open_ended=choices is None,
            evidence=self._evidence(patches[0], per_frame[0], frames.times, frames.indices, batch, encoded[3]),
            sampled_times=[float(t) for t in frames.times],
            video=info,
            model=ModelInfo(name=self.name, arch="mcg", pretrained=self.pretrained),
            pretrained=self.pretrained,
            sampler=cfg.eval_sampler,
            timings=timings,
            warnings=list(self.warnings),
        )
        return AskRun(result=result, frames=frames, grid_image=None)

    def _evidence(self, patches, per_frame, times, indices, batch: MCGBatch, text) -> list[Evidence]:
        side = self.model.config.video.patches_per_side
        words = self._words(batch, text)
        order = torch.argsort(per_frame, descending=True)[: self.top_k].tolist()
        items = []
        for t in order:
            grid = patches[t].reshape(side, side)
            grid = grid / grid.max().clamp(min=1e-12)
            items.append(
                Evidence(
                    time=float(times[t]),
                    score=float(per_frame[t]),
                    frame_index=int(indices[t]),
                    weight_map=[[round(float(v), 4) for v in row] for row in grid],
                    facts=[f"token-level alignment of the question words ({words}) on this frame's patches"],
                )
            )
        return items

    def _words(self, batch: MCGBatch, text) -> str:
        """The question's words with their CLS-attention weights (top 5)."""
        ids = batch.text.input_ids[0].tolist()
        index = batch.text.word_index[0].tolist()
        pieces: dict[int, list[int]] = {}
        for i, w in zip(ids, index, strict=True):
            if w >= 0:
                pieces.setdefault(w, []).append(i)
        weights = text.word_attention[0]
        total = float(weights[text.word_mask[0]].sum()) or 1.0
        named = [
            (self.model.tokenizer.decode(p).replace(" ##", "").replace("##", ""), float(weights[w]) / total)
            for w, p in pieces.items()
        ]
        named.sort(key=lambda x: -x[1])
        return ", ".join(f"{w} {v:.2f}" for w, v in named[:5])

    def _warnings(self) -> list[str]:
        cfg, out = self.model.config, []
        if cfg.trained_on is not None:
            out.append(
                f"this MCG was trained on {cfg.trained_on}; on other videos its answers are "
                "out of domain"
            )
        if cfg.video.pretrained is None:
            out.append(
                "its video tower was trained from scratch at "
                f"{cfg.video.image_size}x{cfg.video.image_size} px (no pretrained TimeSformer)"
            )
        return out


__all__ = ["MCGAnswerer"]
