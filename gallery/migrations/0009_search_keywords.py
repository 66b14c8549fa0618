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

import gallery.search.fields


def copy_terms_to_postings(apps, schema_editor) -> None:
    # The new tables' foreign keys first: Django adds them at the end of the migration, and MariaDB adds
    # one to a filled table by copying the whole table.
    for statement in schema_editor.deferred_sql:
        _execute(schema_editor, str(statement))
    schema_editor.deferred_sql.clear()
    binary = " COLLATE utf8mb4_bin" if schema_editor.connection.vendor == "mysql" else ""
    _execute(
        schema_editor, f"INSERT INTO gallery_searchkeyword (text) SELECT DISTINCT term{binary} FROM gallery_searchterm"
    )
    _execute(
        schema_editor,
        "INSERT INTO gallery_searchposting (keyword_id, weight, image_id) "
        "SELECT k.id, t.weight, t.image_id FROM gallery_searchterm t "
        f"INNER JOIN gallery_searchkeyword k ON k.text = t.term{binary} "
        # In the new primary key's order: appending to the table, rather than inserting all over it, is far faster.
        "ORDER BY k.id, t.weight, t.image_id",
    )


def copy_postings_to_terms(apps, schema_editor) -> None:
    _execute(
        schema_editor,
        "INSERT INTO gallery_searchterm (image_id, term, weight) "
        "SELECT p.image_id, k.text, p.weight FROM gallery_searchposting p "
        "INNER JOIN gallery_searchkeyword k ON k.id = p.keyword_id",
    )


def _execute(schema_editor, sql: str) -> None:
    # Through a cursor: the schema editor refuses DDL inside the migration's transaction on MariaDB.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0008_mosaic_tile_perceptual_hash"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchKeyword",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("text", gallery.search.fields.ExactCharField(max_length=100, unique=True)),
            ],
        ),
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
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="search_postings",
                        to="gallery.image",
                    ),
                ),
                (
                    "keyword",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="gallery.searchkeyword",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("keyword", "image"), name="search_posting_keyword_image")
                ],
                "indexes": [models.Index(fields=["image"], name="search_posting_image")],
            },
        ),
        migrations.RunPython(copy_terms_to_postings, copy_postings_to_terms),
        migrations.DeleteModel(name="SearchTerm"),
    ]
