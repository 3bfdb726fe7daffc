"""``videoqa eval``: score a prediction file on a benchmark, or run a model and score it.

Two modes::

    videoqa eval --dataset nextqa-mc --annotations val.csv --predictions results.json [--json]
    videoqa eval --dataset nextqa-mc --annotations val.csv --video-root videos \\
        --model tiny [--out preds.jsonl --frames 16 --sampler uniform --limit 100]

The second writes one JSON line per question (resumable: a rerun skips the questions
already in ``--out``), then scores the file like the first. The file's first line records
the settings that made it; a rerun with other settings is refused. Without ``--out`` the
file goes to ``out/eval/<dataset>-<split>-<model>-<settings digest>.jsonl`` (so other
settings write elsewhere); its path is printed.

The prediction file's layout is detected (the official layouts of NExT-QA, NExT-OE,
STAR, TVQA, ActivityNet-QA, AGQA, Video-ChatGPT, lmms-eval and QVHighlights:
:mod:`videoqa.eval.predictions`); ``--format`` forces one. A file with no usable
prediction, or mostly unusable rows, fails (exit 2) with one message naming the formats
tried and the first offending record.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from videoqa.cli._common import stderr, user_errors
from videoqa.errors import UsageError

if TYPE_CHECKING:
    from videoqa.data.schema import Benchmark
    from videoqa.eval import AnyReport, RunSummary


def eval_command(
    dataset: str = typer.Option(..., "--dataset", "-d", help="Registered dataset name."),
    annotations: Path = typer.Option(..., "--annotations", "-a", help="Annotation file."),
    predictions: Path = typer.Option(
        None, "--predictions", "-p", help="Prediction file to score (JSON / JSON lines)."
    ),
    fmt: str = typer.Option(
        None,
        "--format",
        "-f",
        help="Layout of the prediction file (default: detected): nextqa, nextoe, mapping, "
        "star, activitynet-qa, video-chatgpt, agqa, lmms-eval, jsonl, qvhighlights.",
    ),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="Answer the questions with this model (MOS tables: 'default' or a quality "
        "model file), then score.",
    ),
    video_root: Path = typer.Option(None, "--video-root", help="Folder of the videos."),
    mapping: Path = typer.Option(None, "--mapping", help="Video id → relative path file."),
    option: list[str] = typer.Option(
        None, "--option", help="Loader option KEY=VALUE (repeatable), e.g. open_ended=true."
    ),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Predictions written by --model (JSON lines, resumable; default "
        "out/eval/<dataset>-<split>-<model>-<settings digest>.jsonl).",
    ),
    frames: int = typer.Option(16, "--frames", "-n", min=1, help="Frames per question."),
    sampler: str = typer.Option("uniform", "--sampler", help="uniform | head-tail | fps | clips."),
    top_k: int = typer.Option(4, "--top-k", "-k", min=1, help="Localized frames per answer."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first K samples."),
    train_annotations: Path = typer.Option(
        None,
        "--train-annotations",
        help="Training split: its answers become the open-ended answer vocabulary.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report JSON only (stdout)."),
) -> None:
    """Score PREDICTIONS (or the answers of MODEL) on a benchmark: accuracy per type and
    group, WUPS, QVHighlights metrics or quality correlations, with every missing,
    unknown and malformed prediction counted."""
    from videoqa.data import load_dataset
    from videoqa.eval import head
    from videoqa.eval.predictions import parse_format

    with user_errors():
        if predictions is not None and model is not None:
            raise UsageError("give --predictions FILE or --model NAME, not both")
        forced = parse_format(fmt)
        options = _loader_options(video_root, mapping, option or [])
        bench = head(load_dataset(dataset, annotations, **options), limit)
        if predictions is None and model is None:
            if not _is_quality_table(bench):
                raise UsageError("give --predictions FILE to score, or --model NAME to run")
            model = "default"  # a MOS table is scored with the shipped VQA² quality model
        if bench.issues:
            stderr.print(
                f"[yellow]{len(bench.issues)} annotation record(s) could not be loaded "
                f"(first: {bench.issues[0]})[/]",
                highlight=False,
            )
        summary = None
        if model is not None and _is_quality_table(bench):
            predictions = out or _default_out(dataset, bench.split, model, None)
            summary = _run_quality(bench, model, predictions)
        elif model is not None:
            _check_model_run(bench, video_root, sampler)
            vocabulary = _vocabulary(dataset, train_annotations, options, bench)
            run = ModelRun(dataset, bench.split, frames, sampler, top_k, vocabulary)
            predictions, summary = _run_model(bench, model, out, run)
        report = _score(bench, predictions, forced)
        if summary is not None:
            examples = {**report.examples}
            if summary.errors:
                examples["errors"] = [str(e) for e in summary.errors[:10]]
            report = report.model_copy(update={"errors": len(summary.errors), "examples": examples})
    _warn_coverage(report)
    if as_json:
        sys.stdout.write(json.dumps(report.to_json_dict(), indent=2) + "\n")
    else:
        _print_report(report)


def _score(bench: Benchmark, predictions: Path, forced: object) -> AnyReport:
    """Score the file; fail when not one prediction could be used; say once when the
    scores cannot match the official evaluator exactly (no POS tagger)."""
    from videoqa.eval import SampleKind, benchmark_kind, evaluate
    from videoqa.eval.predictions import forced_format

    if benchmark_kind(bench) is SampleKind.OPEN_ENDED:
        from videoqa.metrics.wups import import_nltk_light

        import_nltk_light()  # this process uses NLTK for WUPS only: ~1 s less to start
    with forced_format(forced):  # type: ignore[arg-type]
        report = evaluate(bench, predictions)
    _require_usable(report, bench)
    note = getattr(report, "normalizer", None)
    if note is not None and note.startswith("no POS tagger"):
        stderr.print(
            f"[yellow]note:[/] {note} (NLTK's tagger data was not found; install it with "
            "`python -m nltk.downloader averaged_perceptron_tagger_eng`, or set NLTK_DATA)",
            highlight=False,
        )
    return report


def _require_usable(report: AnyReport, bench: Benchmark) -> None:
    """Raise when no prediction of the file is for a scored sample of the benchmark.

    Raises:
        NoUsablePredictionsError: every usable prediction is for an unknown id.
    """
    from videoqa.eval.predictions import NoUsablePredictionsError

    if report.answered or report.count == report.unlabeled:
        return
    unknown = report.examples.get("unknown", [])
    first = f" (first: {unknown[0]!r})" if unknown else ""
    ids = ", ".join(repr(s.qid) for s in bench.samples[:3])
    raise NoUsablePredictionsError(
        f"{report.predictions}: no prediction is for a question of {report.dataset} "
        f"{report.split}: {report.unknown} unknown id(s){first}, {report.malformed} "
        f"malformed row(s); the benchmark's ids look like {ids}"
    )


def _loader_options(
    video_root: Path | None, mapping: Path | None, pairs: list[str]
) -> dict[str, object]:
    """``--video-root``, ``--mapping`` and ``--option KEY=VALUE`` as loader keywords.

    Values are read as JSON when they parse (``true``, ``3``), else kept as text.
    """
    options: dict[str, object] = {}
    if video_root is not None:
        options["video_root"] = video_root
    if mapping is not None:
        options["mapping"] = mapping
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def _check_model_run(bench: Benchmark, video_root: Path | None, sampler: str) -> None:
    """Fail before loading a model: not a QA set, a bad video root, an unknown sampler."""
    from videoqa.eval import SampleKind, benchmark_kind
    from videoqa.video.samplers import SAMPLERS

    kind = benchmark_kind(bench)
    if kind not in (SampleKind.MULTIPLE_CHOICE, SampleKind.OPEN_ENDED):
        raise UsageError(
            f"--model answers questions; {bench.name} holds {kind.value} samples: "
            "score a prediction file with --predictions"
        )
    if video_root is not None and not video_root.is_dir():
        raise UsageError(f"--video-root is not a directory: {video_root}")
    SAMPLERS.get(sampler)


def _is_quality_table(bench: Benchmark) -> bool:
    from videoqa.eval import SampleKind, benchmark_kind

    return benchmark_kind(bench) is SampleKind.QUALITY


def _run_quality(bench: Benchmark, model: str, out: Path) -> RunSummary:
    """Score each video with the VQA² quality model (``--model default`` or a
    ``.safetensors`` file written by ``videoqa quality-train``)."""
    from videoqa.eval.quality_runner import run_quality_predictions
    from videoqa.perception.quality import assess_video
    from videoqa.perception.quality.model import QualityModel, load_default_model

    quality_model = load_default_model() if model == "default" else QualityModel.load(model)
    stderr.print(f"predictions: {out}", highlight=False)
    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
    ) as progress:
        task = progress.add_task("scoring", total=len(bench.samples))
        summary = run_quality_predictions(
            bench,
            lambda path: assess_video(path, quality_model).score,
            out,
            model=model,
            on_step=lambda done, total: progress.update(task, completed=done, total=total),
        )
    _print_summary(summary, out, "scored")
    return summary


def _default_out(dataset: str, split: str, model: str, settings: dict | None) -> Path:
    """``out/eval/<dataset>-<split>-<model>[-<settings digest>].jsonl``: other settings,
    another file."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name or model)
    digest = ""
    if settings is not None:
        blob = json.dumps(settings, sort_keys=True).encode()
        digest = "-" + hashlib.sha256(blob).hexdigest()[:8]
    return Path("out") / "eval" / f"{dataset}-{split}-{safe}{digest}.jsonl"


def _vocabulary(
    dataset: str, train_annotations: Path | None, options: dict[str, object], bench: Benchmark
) -> list[str] | None:
    """The open-ended answer vocabulary: frequent training answers, or ``None`` (bundled)."""
    from videoqa.data import answer_vocabulary, load_dataset
    from videoqa.eval import SampleKind, benchmark_kind

    if train_annotations is None:
        return None
    if benchmark_kind(bench) is not SampleKind.OPEN_ENDED:
        stderr.print("[yellow]--train-annotations is only used for open-ended questions[/]")
        return None
    train_options = {k: v for k, v in options.items() if k not in ("video_root", "mapping")}
    train = load_dataset(dataset, train_annotations, **train_options)
    vocabulary = answer_vocabulary(train.samples)
    if not vocabulary:
        raise UsageError(f"{train_annotations.name}: no training answer occurs twice")
    stderr.print(f"answer vocabulary: {len(vocabulary)} training answers", highlight=False)
    return vocabulary


class ModelRun:
    """The settings of a ``--model`` run besides the model itself.

    Attributes:
        dataset, split: what is answered.
        frames, sampler, top_k: the ``ask`` options (:class:`~videoqa.pipelines.ask.AskConfig`).
        vocabulary: the open-ended answer vocabulary, or ``None`` (the bundled one).
    """

    def __init__(
        self,
        dataset: str,
        split: str,
        frames: int,
        sampler: str,
        top_k: int,
        vocabulary: list[str] | None,
    ) -> None:
        self.dataset, self.split = dataset, split
        self.frames, self.sampler, self.top_k = frames, sampler, top_k
        self.vocabulary = vocabulary

    def settings(self, model: str, ask: dict) -> dict:
        """JSON-ready settings recorded in (and checked against) the prediction file:
        the resolved model, the benchmark, the ``ask`` options that change answers and a
        digest of the answer vocabulary."""
        vocab = None
        if self.vocabulary is not None:
            blob = "\n".join(self.vocabulary).encode()
            vocab = (
                f"{len(self.vocabulary)} answers, sha256 {hashlib.sha256(blob).hexdigest()[:16]}"
            )
        return {
            "model": model,
            "dataset": self.dataset,
            "split": self.split,
            **ask,
            "vocabulary": vocab or "bundled",
        }


def _load_answerer(model: str, run: ModelRun):
    """The answerer named by ``--model`` (:func:`videoqa.pipelines.resolve.resolve`, the
    one place models are found: every spec ``ask`` takes), with its warnings printed.

    Raises:
        ModelUnavailableError: the model cannot be loaded.
    """
    from videoqa.pipelines.resolve import resolve

    with stderr.status(f"loading model {model}"):
        answerer = resolve(
            model,
            frames=run.frames,
            sampler=run.sampler,
            top_k=run.top_k,
            vocabulary=run.vocabulary,
        )
    for warning in answerer.warnings:
        stderr.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    return answerer


def _run_model(
    bench: Benchmark, model: str, out: Path | None, run: ModelRun
) -> tuple[Path, RunSummary]:
    """Load the model once and answer the questions not yet in the prediction file
    (``out``, or the default location for these settings, printed). The zero-shot
    pipeline runs with batched texts and overlapped decoding (:mod:`videoqa.eval.lookahead`)."""
    from contextlib import nullcontext

    from videoqa.eval import run_predictions
    from videoqa.eval.lookahead import CachedTextEncoder, LookaheadAnswerer
    from videoqa.pipelines.ask import AskPipeline

    loaded = _load_answerer(model, run)
    settings = run.settings(loaded.name, loaded.settings)
    path = out or _default_out(run.dataset, run.split, loaded.name, settings)
    stderr.print(f"predictions: {path}", highlight=False)
    if isinstance(loaded, AskPipeline):
        pipeline = AskPipeline(
            CachedTextEncoder(loaded.encoder),
            loaded.config,
            run.vocabulary,
            warnings=loaded.warnings,
        )
        answering = LookaheadAnswerer(pipeline)
    else:
        answering = nullcontext(loaded)
    columns = (
        TextColumn("answering"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with answering as answerer, Progress(*columns, console=stderr) as progress:
        task = progress.add_task("answering", total=len(bench.samples))

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = run_predictions(
            bench, answerer, path, model=loaded.name, settings=settings, on_step=step
        )
    _print_summary(summary, path, "answered")
    return path, summary


def _print_summary(summary: RunSummary, out: Path, verb: str) -> None:
    stderr.print(
        f"{summary.written} {verb}, {summary.skipped} already in {out.name}, "
        f"{len(summary.errors)} error(s) in {summary.seconds:.1f} s",
        highlight=False,
    )
    if summary.repaired:
        stderr.print(f"[yellow]removed an incomplete last line from {out.name}[/]")
    for error in summary.errors[:5]:
        stderr.print(f"[red]error:[/] {error}", highlight=False)


def _warn_coverage(report: AnyReport) -> None:
    if report.missing or report.unknown or report.malformed or report.invalid:
        stderr.print(
            f"[yellow]{report.missing} missing, {report.unknown} unknown, "
            f"{report.malformed} malformed, {report.invalid} invalid prediction(s)[/]",
            highlight=False,
        )


def _fmt(value: float | None) -> str:
    return "nan" if value is None else f"{value:.2f}"


def _score_table(report: AnyReport) -> Table:
    from videoqa.eval import MomentReport, MultipleChoiceReport, OpenEndedReport

    title = f"{report.dataset} {report.split}"
    if isinstance(report, MultipleChoiceReport):
        table = Table("", "accuracy %", "questions", title=title)
        table.add_row("overall", _fmt(report.accuracy), str(report.count))
        for group, acc in report.by_group.items():
            table.add_row(f"group {group}", _fmt(acc), str(report.group_counts[group]))
        for qtype, acc in report.by_type.items():
            table.add_row(qtype, _fmt(acc), str(report.type_counts[qtype]))
        return table
    if isinstance(report, OpenEndedReport):
        table = Table("", "accuracy %", "WUPS@0 %", "WUPS@0.9 %", "questions", title=title)
        table.add_row(
            "overall", *map(_fmt, (report.accuracy, report.wups0, report.wups9)), str(report.count)
        )
        rows = [(f"group {k}", v) for k, v in report.by_group.items()]
        for name, row in rows + list(report.by_type.items()):
            table.add_row(name, *map(_fmt, (row.accuracy, row.wups0, row.wups9)), str(row.count))
        return table
    if isinstance(report, MomentReport):
        table = Table("metric", "value", title=title)
        for name, value in report.brief.items():
            table.add_row(name, _fmt(value))
        return table
    table = Table("metric", "value", title=title)
    for name in ("srcc", "plcc", "krcc", "rmse"):
        table.add_row(name.upper(), f"{getattr(report, name):.4f}")
    return table


def _print_report(report: AnyReport) -> None:
    console = Console()
    console.print(_score_table(report))
    counts = Table("", "number", title="predictions")
    names = ("count", "answered", "missing", "unknown", "malformed", "invalid")
    optional = ("answer_mismatch", "unlabeled", "errors", "annotation_issues")
    for name in names + tuple(n for n in optional if getattr(report, n)):
        counts.add_row(name, str(getattr(report, name)))
    console.print(counts)
    for kind, ids in report.examples.items():
        console.print(f"[dim]{kind}: {', '.join(ids)}[/]", highlight=False)
    for issue in report.issues:
        console.print(f"[dim]malformed: {issue}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    app.command("eval")(eval_command)
