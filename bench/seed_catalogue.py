"""Fill a dedicated MariaDB database with N synthetic images for the scroller benchmarks.

    .venv/bin/python bench/seed_catalogue.py --count 1000000 --database-url mysql://root@127.0.0.1:3306/scroller_bench_1m

Creates the database if needed, migrates it, and refuses to touch one that already
holds images unless --replace is given. Rows are made on the server, not sent one
by one: image rows come from an INSERT ... SELECT over MariaDB's sequence engine
(seq_1_to_N) joined to a small table of 48 real thumbnails made by the app's own
encoder (gallery.thumbnails: 400 px JPEG in xz), from --photos or synthetic
photo-like pictures, and the ~2.5 dominant colours per image are generated with numpy and
loaded with LOAD DATA LOCAL INFILE, then copied into each image's palette. Each image gets the
mosaic tile of one of 1000 photos (or of its thumbnail kind), with a mean colour nudged to be its
own, and a random perceptual hash. Hues follow a photo-like mixture (many oranges,
blues and greens, few purples); 4 % of the images are monochrome, 10 % private and
2 % soft-deleted, spread evenly over 50 owners.
"""

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
THUMBNAIL_KINDS = 48
# Photos whose mosaic tiles the images share (image N has photo N mod this many's).
TILE_PHOTOS = 1000
OWNERS = 50
CHUNK = 100_000
NULL_FIELD = "\\N"
# Which images are monochrome, private or deleted: the same rules in SQL (on the id) and in numpy.
MONOCHROME_EVERY, PRIVATE_EVERY, DELETED_EVERY = 25, 10, 50
# (weight, centre hue, spread) of a photo collection's dominant hues; the rest is uniform.
HUE_MIXTURE = [(0.33, 28, 14), (0.24, 212, 16), (0.20, 105, 25), (0.10, 2, 8), (0.05, 285, 22), (0.03, 175, 10)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True, help="number of images")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="mysql://user@host:port/name (a dedicated database)",
    )
    parser.add_argument("--replace", action="store_true", help="empty the image tables first if they hold anything")
    parser.add_argument(
        "--photos",
        type=Path,
        help="make the thumbnails from the first photos in this folder (e.g. /tmp/scroller-photos from make_photos.py) instead of synthetic ones",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("mysql://"):
        parser.error("--database-url must be a mysql:// URL of a dedicated MariaDB database")
    return args


def create_database(url: str) -> None:
    import MySQLdb

    parsed = urlparse(url)
    server = MySQLdb.connect(
        host=parsed.hostname, port=parsed.port or 3306, user=parsed.username or "root", passwd=parsed.password or ""
    )
    name = parsed.path.lstrip("/")
    server.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scroller.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def raw_connection(url: str):
    """A connection of our own that may LOAD DATA LOCAL and keeps the bulk work out of Django's."""
    import MySQLdb

    parsed = urlparse(url)
    return MySQLdb.connect(
        host=parsed.hostname,
        port=parsed.port or 3306,
        user=parsed.username or "root",
        passwd=parsed.password or "",
        db=parsed.path.lstrip("/"),
        local_infile=1,
        charset="utf8mb4",
        autocommit=True,
    )


def thumbnails_from_photos(folder: Path) -> list[tuple[bytes, int, int]]:
    """Stored thumbnails of the first THUMBNAIL_KINDS photos in `folder`, made by the app's own code."""
    from PIL import Image as PILImage

    from gallery.thumbnails import encode_thumbnail, scale_down

    paths = sorted(path for path in folder.iterdir() if path.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})[
        :THUMBNAIL_KINDS
    ]
    if not paths:
        sys.exit(f"no photos in {folder}")
    thumbnails = []
    for path in paths:
        with PILImage.open(path) as photo:
            thumbnail = scale_down(photo.convert("RGB"))
        thumbnails.append((encode_thumbnail(thumbnail), thumbnail.width, thumbnail.height))
    return thumbnails


def photo_like_thumbnails(*, rng: np.random.Generator) -> list[tuple[bytes, int, int]]:
    """Stored thumbnails (the app's encoder, 400 px) of blurred shapes plus grain, which compress about as photos do."""
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFilter

    from gallery.thumbnails import encode_thumbnail

    thumbnails = []
    for kind in range(THUMBNAIL_KINDS):
        width, height = (400, 300) if kind % 3 else (300, 400)
        canvas = PILImage.new("HSV", (width, height), (int(kind * 255 / THUMBNAIL_KINDS), 140, 170)).convert("RGB")
        draw = ImageDraw.Draw(canvas)
        for _ in range(16):
            x, y, radius = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(8, 90))
            draw.ellipse(
                [x - radius, y - radius, x + radius, y + radius], fill=tuple(int(v) for v in rng.integers(0, 255, 3))
            )
        pixels = np.asarray(canvas.filter(ImageFilter.GaussianBlur(3)), dtype=np.int16)
        pixels = pixels + rng.normal(0, 6, pixels.shape).astype(np.int16)
        thumbnail = PILImage.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        thumbnails.append((encode_thumbnail(thumbnail), width, height))
    return thumbnails


def ensure_empty(cursor, *, replace: bool) -> None:
    cursor.execute("SELECT COUNT(*) FROM gallery_image")
    (existing,) = cursor.fetchone()
    if existing and not replace:
        sys.exit(f"the database already holds {existing} images; pass --replace to start over")
    if existing:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        cursor.execute("TRUNCATE gallery_dominantcolor")
        cursor.execute("TRUNCATE gallery_image")
        cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


def create_owners() -> list[int]:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    names = [f"bench-{index:02d}" for index in range(OWNERS)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create([User(username=name, password="!") for name in names if name not in existing])
    return list(User.objects.filter(username__in=names).order_by("username").values_list("pk", flat=True))


def load_images(cursor, *, count: int, owners: list[int], thumbnails: list[tuple[bytes, int, int]]) -> None:
    cursor.execute("CREATE TEMPORARY TABLE bench_thumbnail (k INT PRIMARY KEY, data LONGBLOB, width INT, height INT)")
    cursor.executemany(
        "INSERT INTO bench_thumbnail VALUES (%s, %s, %s, %s)",
        [(k, data, w, h) for k, (data, w, h) in enumerate(thumbnails)],
    )
    cursor.execute("CREATE TEMPORARY TABLE bench_owner (k INT PRIMARY KEY, user_id BIGINT)")
    cursor.executemany("INSERT INTO bench_owner VALUES (%s, %s)", list(enumerate(owners)))
    for first in range(1, count + 1, CHUNK):
        last = min(first + CHUNK - 1, count)
        cursor.execute(
            f"""
            INSERT INTO gallery_image (id, owner_id, original_name, sha256, width, height, format, byte_size, original,
                thumbnail, thumbnail_width, thumbnail_height, is_monochrome, palette, description, visibility, created_at,
                terms_changed_at, deleted_at)
            SELECT s.seq, o.user_id, CONCAT('photo-', s.seq, '.jpg'), SHA2(s.seq, 256),
                t.width * 16, t.height * 16, 'JPEG', 1500000 + s.seq % 900000,
                CONCAT('originals/', o.user_id, '/', SHA2(s.seq, 256), '.jpg'),
                t.data, t.width, t.height, s.seq % {MONOCHROME_EVERY} = 0, '[]', '',
                IF(s.seq % {PRIVATE_EVERY} = 1, 'private', 'public'),
                NOW() - INTERVAL ({count} - s.seq) SECOND, NOW() - INTERVAL ({count} - s.seq) SECOND,
                IF(s.seq % {DELETED_EVERY} = 3, NOW(), NULL)
            FROM seq_{first}_to_{last} s
            JOIN bench_thumbnail t ON t.k = s.seq % {THUMBNAIL_KINDS}
            JOIN bench_owner o ON o.k = s.seq % {OWNERS}
            """
        )


def hues(rng: np.random.Generator, size: int) -> np.ndarray:
    weights = np.array([weight for weight, _, _ in HUE_MIXTURE] + [1 - sum(weight for weight, _, _ in HUE_MIXTURE)])
    component = rng.choice(len(weights), size=size, p=weights)
    centres = np.array([centre for _, centre, _ in HUE_MIXTURE] + [180])
    spreads = np.array([spread for _, _, spread in HUE_MIXTURE] + [0])
    drawn = rng.normal(centres[component], np.maximum(spreads[component], 1e-9))
    uniform = component == len(HUE_MIXTURE)
    drawn[uniform] = rng.uniform(0, 360, uniform.sum())
    return np.mod(np.rint(drawn), 360).astype(np.int64)


def color_rows(
    *, rng: np.random.Generator, first: int, last: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Columns image_id, rank, hue (-1 = none), saturation, value, share, shuffle for images first..last."""
    ids = np.arange(first, last + 1)
    per_image = rng.choice([1, 2, 3, 4], size=ids.size, p=[0.15, 0.30, 0.40, 0.15])
    image_id = np.repeat(ids, per_image)
    starts = np.cumsum(per_image) - per_image
    rank = np.arange(image_id.size) - np.repeat(starts, per_image)
    # Shares: a random split of each image, largest first (rank 0).
    raw = rng.gamma(1.2, size=image_id.size)
    totals = np.add.reduceat(raw, starts)
    share = raw / np.repeat(totals, per_image) * rng.uniform(0.75, 1.0, image_id.size)
    order = np.lexsort((-share, image_id))
    share = share[order]
    # Colours of one photo are often shades of its first colour.
    own_hue = hues(rng, image_id.size)
    first_hue = np.repeat(own_hue[starts], per_image)
    shade = rng.random(image_id.size) < 0.4
    hue = np.where(shade, np.mod(first_hue + rng.integers(-20, 21, image_id.size), 360), own_hue)
    boring = (rng.random(image_id.size) < 0.18) | (image_id % MONOCHROME_EVERY == 0)
    hue = np.where(boring, -1, hue)
    saturation = np.where(boring, rng.uniform(0, 0.1, image_id.size), rng.uniform(0.25, 1, image_id.size))
    value = rng.uniform(0.15, 1, image_id.size)
    shuffle = np.repeat(rng.integers(0, 2**32, ids.size, dtype=np.uint64), per_image)
    return image_id, rank, hue, saturation, value, share, shuffle


def load_colors(cursor, *, count: int, rng: np.random.Generator) -> int:
    # The image rows are being written at the same time; they are consistent by construction.
    cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
    loaded = 0
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "colours.tsv"
        for first in range(1, count + 1, CHUNK * 5):
            last = min(first + CHUNK * 5 - 1, count)
            image_id, rank, hue, saturation, value, share, shuffle = color_rows(rng=rng, first=first, last=last)
            with path.open("w") as out:
                for row in zip(
                    image_id.tolist(),
                    rank.tolist(),
                    hue.tolist(),
                    saturation.tolist(),
                    value.tolist(),
                    share.tolist(),
                    shuffle.tolist(),
                    strict=False,
                ):
                    hue_field = NULL_FIELD if row[2] < 0 else row[2]
                    out.write(f"{row[0]}\t{row[1]}\t{hue_field}\t{row[3]:.4f}\t{row[4]:.4f}\t{row[5]:.5f}\t{row[6]}\n")
            cursor.execute(
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE gallery_dominantcolor "
                "(image_id, `rank`, hue, saturation, value, share, shuffle)"
            )
            loaded += image_id.size
    return loaded


def fill_palettes(cursor, *, count: int) -> None:
    """Image.palette from the colour rows, as the app stores both."""
    for first in range(1, count + 1, CHUNK):
        last = min(first + CHUNK - 1, count)
        cursor.execute(
            "UPDATE gallery_image i JOIN ("
            "  SELECT image_id, JSON_ARRAYAGG(JSON_ARRAY(hue, saturation, value, share) ORDER BY `rank`) AS palette"
            "  FROM gallery_dominantcolor WHERE image_id BETWEEN %s AND %s GROUP BY image_id"
            ") c ON c.image_id = i.id SET i.palette = c.palette",
            [first, last],
        )


def tiles_from_photos(folder: Path) -> list[tuple[bytes, tuple[float, float, float]]]:
    """Mosaic tiles (pixels and mean CIELAB colour) of up to TILE_PHOTOS photos, made by the app's own code."""
    from gallery.analysis import decode_image, tile_sample
    from gallery.mosaic.tiles import mosaic_tile

    paths = sorted(path for path in folder.iterdir() if path.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})
    tiles = [
        mosaic_tile(tile_sample(decode_image(path.read_bytes(), max_pixels=64_000_000).thumbnail))
        for path in paths[:TILE_PHOTOS]
    ]
    return [(tile.pixels, tile.lab) for tile in tiles]


def tiles_from_thumbnails(thumbnails: list[tuple[bytes, int, int]]) -> list[tuple[bytes, tuple[float, float, float]]]:
    from gallery.analysis import tile_sample
    from gallery.mosaic.tiles import mosaic_tile
    from gallery.thumbnails import decode_thumbnail

    tiles = [mosaic_tile(tile_sample(decode_thumbnail(data).convert("RGB"))) for data, _, _ in thumbnails]
    return [(tile.pixels, tile.lab) for tile in tiles]


def fill_tiles(
    cursor, *, count: int, tiles: list[tuple[bytes, tuple[float, float, float]]], rng: np.random.Generator
) -> None:
    """Mosaic tiles and perceptual hashes, as ingest stores them.

    Image N gets tile N mod len(tiles) (real photos' tiles, so that the library's colours are
    spread as photos' are), its mean colour moved by a little noise so that no two images match
    a cell equally well, and a random perceptual hash.
    """
    cursor.execute("CREATE TEMPORARY TABLE bench_tile (k INT PRIMARY KEY, pixels BLOB, l DOUBLE, a DOUBLE, b DOUBLE)")
    cursor.executemany(
        "INSERT INTO bench_tile VALUES (%s, %s, %s, %s, %s)",
        [(k, pixels, *lab) for k, (pixels, lab) in enumerate(tiles)],
    )
    cursor.execute(
        "CREATE TEMPORARY TABLE bench_image_tile (id BIGINT PRIMARY KEY, dl DOUBLE, da DOUBLE, db DOUBLE, phash BIGINT)"
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "tiles.tsv"
        noise = rng.normal(0, 2.0, (count, 3))
        hashes = rng.integers(-(2**63), 2**63 - 1, count, dtype=np.int64)
        with path.open("w") as out:
            for image_id, (dl, da, db), phash in zip(range(1, count + 1), noise.tolist(), hashes.tolist(), strict=True):
                out.write(f"{image_id}\t{dl:.3f}\t{da:.3f}\t{db:.3f}\t{phash}\n")
        cursor.execute(f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE bench_image_tile")
    for first in range(1, count + 1, CHUNK):
        cursor.execute(
            "UPDATE gallery_image i JOIN bench_image_tile s ON s.id = i.id"
            f" JOIN bench_tile t ON t.k = MOD(i.id, {len(tiles)})"
            " SET i.mosaic_l = t.l + s.dl, i.mosaic_a = t.a + s.da, i.mosaic_b = t.b + s.db,"
            " i.perceptual_hash = s.phash, i.mosaic_tile = t.pixels WHERE i.id BETWEEN %s AND %s",
            [first, min(first + CHUNK - 1, count)],
        )


def timed(label: str, work, **kwargs):
    started = time.perf_counter()
    result = work(**kwargs)
    print(f"  {label}: {time.perf_counter() - started:.0f} s", flush=True)
    return result


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    create_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(args.seed)
    ensure_empty(raw_connection(args.database_url).cursor(), replace=args.replace)
    owners = create_owners()
    thumbnails = thumbnails_from_photos(args.photos) if args.photos else photo_like_thumbnails(rng=rng)
    print(f"seeding {args.count:,} images into {args.database_url}", flush=True)
    # The server writes the image rows while this process generates and loads the colours.
    with ThreadPoolExecutor(max_workers=2) as pool:
        images = pool.submit(
            timed,
            "image rows",
            load_images,
            cursor=raw_connection(args.database_url).cursor(),
            count=args.count,
            owners=owners,
            thumbnails=thumbnails,
        )
        colors = pool.submit(
            timed,
            "colour rows",
            load_colors,
            cursor=raw_connection(args.database_url).cursor(),
            count=args.count,
            rng=rng,
        )
        images.result()
        loaded = colors.result()
    cursor = raw_connection(args.database_url).cursor()
    timed("palettes", fill_palettes, cursor=cursor, count=args.count)
    tiles = tiles_from_photos(args.photos) if args.photos else tiles_from_thumbnails(thumbnails)
    timed("mosaic tiles and hashes", fill_tiles, cursor=cursor, count=args.count, tiles=tiles, rng=rng)
    cursor.execute("ANALYZE TABLE gallery_image, gallery_dominantcolor")
    cursor.fetchall()
    average = sum(len(data) for data, _, _ in thumbnails) / len(thumbnails)
    print(
        f"done: {args.count:,} images, {loaded:,} colours, thumbnails {average / 1024:.1f} KiB on average, {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
