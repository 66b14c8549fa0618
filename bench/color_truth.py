"""How far the gallery's hue matching can be trusted: precision and recall against the photos' own pixels.

    .venv/bin/python bench/color_truth.py --photos /tmp/scroller-photos [--limit 1000] [--write-baseline FILE]

Ground truth, computed here from every pixel of each photo as decoded at full size, without the
gallery's analysis: a photo truly matches hue H (one of 12, every 30°) when at least 10% of all its
pixels are colourful and have an HSV hue within ±15° of H. "Colourful" is perceptual: a CIELAB
chroma C*ab of at least 20 (D65, sRGB), converted by littlecms through Pillow's ImageCms. Chroma
is how far a colour stands from the grey of the same lightness, the way a person judges it: a pale
greyish blue that HSV still calls 25% saturated has a chroma near 10 and reads as grey, while a deep
navy of low HSV value is plainly blue. (The gallery's own analysis uses its own numpy conversion.)

Prediction: what the gallery answers: `gallery.analysis.analyse_image` on the file's bytes, and
the scroller's rule: some dominant colour with a hue within ±15° of H covering at least 10%.

Turned copies: for photos whose strongest hue (1° steps) truly covers at least 15%, a copy with
every pixel's HSV hue turned by θ (60–150°, a fixed sequence), saved as JPEG q95 and analysed;
it is found when it matches at the original's strongest hue + θ.
"""

import argparse
import io
import json
import os
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gallery.analysis import analyse_image
from gallery.colors import DominantColor, pin_native_threads

HUES = tuple(range(0, 360, 30))
MARGIN = 15
MIN_SHARE = 0.10
MIN_CHROMA = 20.0
TURNED_MIN_SHARE = 0.15
MAX_PIXELS = 64_000_000
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}

_SRGB_TO_LAB = ImageCms.buildTransform(
    ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB", 6504), "RGB", "LAB"
)


@dataclass
class Counts:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0


@dataclass
class Evaluation:
    photos: int = 0
    overall: Counts = field(default_factory=Counts)
    per_hue: dict[int, Counts] = field(default_factory=lambda: {hue: Counts() for hue in HUES})
    turned_tried: int = 0
    turned_found: int = 0
    turned_misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "photos": self.photos,
            "precision": round(self.overall.precision, 4),
            "recall": round(self.overall.recall, 4),
            "true_positive": self.overall.true_positive,
            "false_positive": self.overall.false_positive,
            "false_negative": self.overall.false_negative,
            "turned_found": self.turned_found,
            "turned_tried": self.turned_tried,
        }


def hue_and_colorfulness(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: HSV hue in degrees (float) and whether it is colourful (CIELAB chroma ≥ MIN_CHROMA)."""
    rgb = image.convert("RGB")
    lab = np.asarray(ImageCms.applyTransform(rgb, _SRGB_TO_LAB)).reshape(-1, 3)
    # Pillow stores a* and b* as signed bytes in its unsigned LAB mode.
    opponents = lab[:, 1:].view(np.int8).astype(np.float64)
    chroma = np.hypot(opponents[:, 0], opponents[:, 1])
    pixels = np.asarray(rgb).reshape(-1, 3).astype(np.float64)
    return _hsv_hue(pixels), chroma >= MIN_CHROMA


def _hsv_hue(pixels: np.ndarray) -> np.ndarray:
    red, green, blue = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    high = pixels.max(axis=1)
    spread = high - pixels.min(axis=1)
    safe = np.where(spread == 0, 1, spread)
    hue = np.where(
        high == red,
        ((green - blue) / safe) % 6,
        np.where(high == green, (blue - red) / safe + 2, (red - green) / safe + 4),
    )
    return hue * 60 % 360


def true_shares(hues: np.ndarray, colorful: np.ndarray) -> np.ndarray:
    """For each whole degree H, the share of all pixels that are colourful and within ±MARGIN of H."""
    histogram = np.bincount(np.round(hues[colorful]).astype(int) % 360, minlength=360)
    window = np.ones(2 * MARGIN + 1)
    wrapped = np.concatenate([histogram[-MARGIN:], histogram, histogram[:MARGIN]])
    return np.convolve(wrapped, window, mode="valid") / len(hues)


def gallery_matches(colors: Iterable[DominantColor], *, hue: int) -> bool:
    return any(
        color.hue is not None and _distance(color.hue, hue) <= MARGIN and color.share >= MIN_SHARE for color in colors
    )


def _distance(a: float, b: float) -> float:
    difference = abs(a - b) % 360
    return min(difference, 360 - difference)


def turned(image: Image.Image, *, degrees: int) -> Image.Image:
    """Every pixel's HSV hue turned by `degrees`, saturation and value kept (Pillow's HSV, 256 hue steps)."""
    hsv = np.asarray(image.convert("RGB").convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + round(degrees * 256 / 360)) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def evaluate(paths: Sequence[Path], *, turned_every: int = 1, verbose: bool = False) -> Evaluation:
    """Precision and recall over `paths`; the turned-copy test on every `turned_every`-th eligible photo."""
    result = Evaluation()
    eligible = 0
    for path in paths:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            shares = true_shares(*hue_and_colorfulness(image))
            colors = analyse_image(data, max_pixels=MAX_PIXELS).colors
            result.photos += 1
            for hue in HUES:
                _count(result, hue=hue, truth=shares[hue] >= MIN_SHARE, found=gallery_matches(colors, hue=hue))
            if verbose:
                _report_errors(path, shares=shares, colors=colors)
            strongest = int(np.argmax(shares))
            if shares[strongest] < TURNED_MIN_SHARE:
                continue
            eligible += 1
            if eligible % turned_every:
                continue
            theta = 60 + (eligible * 37) % 91
            copy = analyse_image(jpeg_bytes(turned(image, degrees=theta)), max_pixels=MAX_PIXELS).colors
            result.turned_tried += 1
            if gallery_matches(copy, hue=(strongest + theta) % 360):
                result.turned_found += 1
            else:
                result.turned_misses.append(
                    f"{path.name}: {strongest}°+{theta}° -> {[(c.hue, round(c.share, 3)) for c in copy]}"
                )
    return result


def _count(result: Evaluation, *, hue: int, truth: bool, found: bool) -> None:
    for counts in (result.overall, result.per_hue[hue]):
        if truth and found:
            counts.true_positive += 1
        elif found:
            counts.false_positive += 1
        elif truth:
            counts.false_negative += 1


def _report_errors(path: Path, *, shares: np.ndarray, colors: Sequence[DominantColor]) -> None:
    for hue in HUES:
        truth, found = shares[hue] >= MIN_SHARE, gallery_matches(colors, hue=hue)
        if truth != found:
            kind = "false positive" if found else "false negative"
            described = [(c.hue, round(c.saturation, 2), round(c.value, 2), round(c.share, 3)) for c in colors]
            print(f"  {kind} {path.name} at {hue}°: true share {shares[hue]:.3f}; gallery {described}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/scroller-photos"))
    parser.add_argument("--limit", type=int, help="only the first this many photos, in name order (default: all)")
    parser.add_argument("--turned-every", type=int, default=10, help="turn every n-th eligible photo (default 10)")
    parser.add_argument("--verbose", action="store_true", help="print every mismatch")
    parser.add_argument("--write-baseline", type=Path, help="also write the overall figures to this JSON file")
    arguments = parser.parse_args()

    pin_native_threads()
    paths = sorted(path for path in arguments.photos.iterdir() if path.suffix.lower() in PHOTO_SUFFIXES)
    paths = paths[: arguments.limit]
    if not paths:
        sys.exit(f"no photos in {arguments.photos}")
    result = evaluate(paths, turned_every=arguments.turned_every, verbose=arguments.verbose)

    print(f"{result.photos} photos from {arguments.photos} x {len(HUES)} hues")
    print(f"{'hue':>5}{'precision':>11}{'recall':>8}{'TP':>6}{'FP':>6}{'FN':>6}")
    for hue, counts in result.per_hue.items():
        print(
            f"{hue:>5}{counts.precision:>11.3f}{counts.recall:>8.3f}"
            f"{counts.true_positive:>6}{counts.false_positive:>6}{counts.false_negative:>6}"
        )
    overall = result.overall
    print(
        f"  all{overall.precision:>11.3f}{overall.recall:>8.3f}"
        f"{overall.true_positive:>6}{overall.false_positive:>6}{overall.false_negative:>6}"
    )
    share = result.turned_found / result.turned_tried if result.turned_tried else 1.0
    print(f"turned copies found: {result.turned_found} of {result.turned_tried} ({share:.1%})")
    for miss in result.turned_misses[:10]:
        print(f"  missed {miss}")
    if arguments.write_baseline:
        arguments.write_baseline.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    print(f"reproduce: cd {shlex.quote(os.getcwd())} && {shlex.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()
