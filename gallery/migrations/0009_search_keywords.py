"""The search index names its terms by number: SearchKeyword (each text once) and SearchPosting
(keyword, weight, image), keyed for the ranked scan, replace SearchTerm's repeated strings.

The existing index is copied over on the database server (two INSERT ... SELECT, no row through
Python), so search keeps working right after migrating. The copy keeps the very broad WordNet
terms the new indexing leaves out ("entity", "object", "whole", "artifact"); they cost space but
change no result order that matters. `manage.py rebuild_search_index` (with a progress bar)
rewrites every image's postings by the new rules and drops them.
"""

import django.db.models.deletion
from django.db import migrations, models


def binary_keyword_collation(apps, schema_editor) -> None:
    """Keywords are compared byte for byte: MariaDB's default collation would make "café" and "cafe" one keyword."""
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(
            "ALTER TABLE gallery_searchkeyword MODIFY text VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
        )


def copy_terms_to_postings(apps, schema_editor) -> None:
    binary = " COLLATE utf8mb4_bin" if schema_editor.connection.vendor == "mysql" else ""
    schema_editor.execute(
        f"INSERT INTO gallery_searchkeyword (text) SELECT DISTINCT term{binary} FROM gallery_searchterm"
    )
    schema_editor.execute(
        "INSERT INTO gallery_searchposting (keyword_id, weight, image_id) "
        f"SELECT k.id, t.weight, t.image_id FROM gallery_searchterm t "
        f"INNER JOIN gallery_searchkeyword k ON k.text = t.term{binary}"
    )


def copy_postings_to_terms(apps, schema_editor) -> None:
    schema_editor.execute(
        "INSERT INTO gallery_searchterm (image_id, term, weight) "
        "SELECT p.image_id, k.text, p.weight FROM gallery_searchposting p "
        "INNER JOIN gallery_searchkeyword k ON k.id = p.keyword_id"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0008_mosaic_tile_perceptual_hash"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchKeyword",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=100, unique=True)),
            ],
        ),
        migrations.RunPython(binary_keyword_collation, migrations.RunPython.noop),
        migrations.CreateModel(
            name="SearchPosting",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "keyword", "weight", "image", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("weight", models.PositiveSmallIntegerField(help_text="Out of 10000.")),
                (
                    "image",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="search_postings", to="gallery.image"
                    ),
                ),
                (
                    "keyword",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="gallery.searchkeyword"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("image", "keyword"), name="search_posting_image_keyword")
                ],
            },
        ),
        migrations.RunPython(copy_terms_to_postings, copy_postings_to_terms),
        migrations.DeleteModel(name="SearchTerm"),
    ]
