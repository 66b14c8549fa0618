from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gallery.uploading.handlers import allow_long_part_headers
        from gallery.websocket_guards import sessions  # noqa: F401 (connects its signal receivers)

        allow_long_part_headers()
