"""Images keep their dominant colours in their own row too (Image.palette), filled here from the colour rows."""

from django.db import migrations, models

BATCH = 2000


def fill_palettes(apps, schema_editor):
    image_model = apps.get_model("gallery", "Image")
    color_model = apps.get_model("gallery", "DominantColor")
    last_id = 0
    while True:
        image_ids = list(image_model.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not image_ids:
            return
        palettes: dict[int, list] = {image_id: [] for image_id in image_ids}
        colors = color_model.objects.filter(image_id__gte=image_ids[0], image_id__lte=image_ids[-1]).order_by(
            "image_id", "rank"
        )
        for image_id, *color in colors.values_list("image_id", "hue", "saturation", "value", "share"):
            palettes[image_id].append(color)
        image_model.objects.bulk_update(
            [image_model(pk=image_id, palette=palette) for image_id, palette in palettes.items()], ["palette"]
        )
        last_id = image_ids[-1]


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0003_stream_covering_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="palette",
            field=models.JSONField(
                default=list,
                help_text="The dominant colours as [hue or null, saturation, value, share], largest share first.",
            ),
        ),
        migrations.RunPython(fill_palettes, migrations.RunPython.noop, elidable=True),
    ]
