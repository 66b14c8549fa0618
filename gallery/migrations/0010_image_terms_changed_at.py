"""Image.terms_changed_at: when an image's search index rows were last written, so that a process's copy of
posting lists (gallery.search.postings) can tell which images changed since it read them.
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
        migrations.AddField(
            model_name="image",
            name="terms_changed_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the image's search index rows were last written (gallery.search.postings reads it).",
            ),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["terms_changed_at"], name="image_terms_changed"),
        ),
    ]
