"""Image.terms_changed_at: when an image's search index rows were last written, so that a process's copy of
posting lists (gallery.search.postings) and of listed images (gallery.listing_cache) can tell what changed since
it read them; image_stream_filter covers it, so that a listing checks it without reading the image's row.
"""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0009_search_keywords"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="image",
            name="image_stream_filter",
        ),
        migrations.AddField(
            model_name="image",
            name="terms_changed_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When what the search terms come from (labels, description, name, palette) was last written.",
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(
                fields=["id", "deleted_at", "visibility", "owner", "terms_changed_at"], name="image_stream_filter"
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["terms_changed_at"], name="image_terms_changed"),
        ),
    ]
