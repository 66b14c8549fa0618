"""Give every image of a seeded benchmark catalogue five labels, and build its search index, in bulk.

    .venv/bin/python bench/seed_labels.py --database-url mysql://root@127.0.0.1:3306/scroller_search_bench_100k

Run after bench/seed_catalogue.py. The labels are drawn as a classifier's top five would be:
1000 classes, like ImageNet's leaf nouns of WordNet under animal, plant, food, natural object
and artifact (sampled from Debian's wordnet-base with a fixed seed, so every catalogue size
gets the same classes); a few classes far more common than the rest; the first label at
30-95 % and the others, often its siblings in WordNet, sharing what is left. Each image's
index rows are made by the app's own gallery.search.terms (labels widened with WordNet,
file name, palette colours), their keywords numbered by gallery.search.services.keyword_ids_for,
and loaded with LOAD DATA LOCAL INFILE; the labels land in Image.labels. Replaces whatever labels
and index the catalogue had.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_catalogue import raw_connection, setup_django

CLASSES = 1000
CHUNK = 10_000
# animal, plant, natural object, food, artifact: what ImageNet's classes are kinds of.
ROOTS = (15388, 17222, 19128, 21265, 21939)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("mysql://"):
        parser.error("--database-url must be the mysql:// URL of a catalogue made by bench/seed_catalogue.py")
    return args


def leaf_classes(rng: np.random.Generator) -> list[tuple[str, int, tuple[int, ...]]]:
    """(name, offset, parents) of CLASSES WordNet leaf nouns under ROOTS."""
    from django.conf import settings

    from gallery.search.wordnet import wordnet

    database = wordnet()
    if database is None:
        raise SystemExit("WordNet is not installed: apt-get install wordnet-base")
    leaves = []
    with open(Path(settings.SCROLLER_WORDNET_DIR) / "data.noun", encoding="utf-8") as data:
        for line in data:
            if line.startswith(" "):
                continue
            fields = line.split(" ")
            count = int(fields[3], 16)
            pointers = fields[5 + 2 * count :]
            if "~" not in pointers and "~i" not in pointers:
                leaves.append(int(fields[0]))
    rng.shuffle(leaves)
    chosen = []
    for offset in leaves:
        if set(database.broader(offset, max_distance=20)) & set(ROOTS):
            synset = database.synset(offset)
            chosen.append((synset.lemmas[0], offset, synset.hypernyms))
            if len(chosen) == CLASSES:
                return chosen
    raise SystemExit("WordNet holds too few leaf classes: is wordnet-base installed?")


def draw_labels(
    rng: np.random.Generator, classes, *, siblings: dict[int, list[int]], popularity: np.ndarray
) -> list[dict]:
    top = int(rng.choice(len(classes), p=popularity))
    picked = [top]
    while len(picked) < 5:
        family = siblings[classes[top][2][0]] if classes[top][2] else []
        candidate = int(rng.choice(family)) if family and rng.random() < 0.6 else int(rng.integers(len(classes)))
        if candidate not in picked:
            picked.append(candidate)
    first = rng.uniform(0.3, 0.95)
    rest = np.sort(rng.dirichlet(np.ones(4)) * (1 - first) * rng.uniform(0.5, 1.0))[::-1]
    return [
        {"name": classes[index][0], "wnid": f"n{classes[index][1]:08d}", "probability": round(float(probability), 4)}
        for index, probability in zip(picked, [first, *rest], strict=True)
    ]


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    setup_django(args.database_url)
    from django.conf import settings

    from gallery.search.services import keyword_ids_for
    from gallery.search.terms import image_terms

    rng = np.random.default_rng(args.seed)
    classes = leaf_classes(rng)
    siblings: dict[int, list[int]] = {}
    for index, (_, _, parents) in enumerate(classes):
        for parent in parents[:1]:
            siblings.setdefault(parent, []).append(index)
    popularity = 1 / (np.arange(len(classes)) + 10)
    popularity /= popularity.sum()
    connection = raw_connection(args.database_url)
    cursor = connection.cursor()
    cursor.execute("TRUNCATE gallery_searchposting")
    cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
    cursor.execute("CREATE TEMPORARY TABLE bench_labels (id BIGINT PRIMARY KEY, labels LONGTEXT)")
    rows = 0
    last_id = 0
    with tempfile.TemporaryDirectory() as directory:
        terms_path, labels_path = Path(directory) / "terms.tsv", Path(directory) / "labels.tsv"
        while True:
            cursor.execute(
                "SELECT id, original_name, palette FROM gallery_image WHERE id > %s ORDER BY id LIMIT %s",
                [last_id, CHUNK],
            )
            images = cursor.fetchall()
            if not images:
                break
            last_id = images[-1][0]
            terms_by_image = {}
            with labels_path.open("w") as labels_out:
                for image_id, original_name, palette in images:
                    labels = draw_labels(rng, classes, siblings=siblings, popularity=popularity)
                    labels_out.write(f"{image_id}\t{json.dumps(labels)}\n")
                    terms_by_image[image_id] = image_terms(
                        original_name=original_name,
                        description="",
                        labels=labels,
                        palette=json.loads(palette),
                        min_share=settings.SCROLLER_MIN_MATCH_SHARE,
                    )
            keyword_ids = keyword_ids_for(texts={text for terms in terms_by_image.values() for text in terms})
            with terms_path.open("w") as terms_out:
                for image_id, terms in terms_by_image.items():
                    for text, weight in terms.items():
                        terms_out.write(f"{keyword_ids[text]}\t{weight}\t{image_id}\n")
                        rows += 1
            cursor.execute(
                f"LOAD DATA LOCAL INFILE '{terms_path}' INTO TABLE gallery_searchposting (keyword_id, weight, image_id)"
            )
            cursor.execute("TRUNCATE bench_labels")
            cursor.execute(f"LOAD DATA LOCAL INFILE '{labels_path}' INTO TABLE bench_labels (id, labels)")
            cursor.execute("UPDATE gallery_image i JOIN bench_labels b ON b.id = i.id SET i.labels = b.labels")
            print(f"  {last_id:,} images, {rows:,} index rows, {time.perf_counter() - started:.0f} s", flush=True)
    cursor.execute("ANALYZE TABLE gallery_searchkeyword, gallery_searchposting")
    cursor.fetchall()
    print(
        f"done: {rows:,} index rows ({rows / max(last_id, 1):.0f} per image) in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
