import lzma

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from accounts.users import AuthenticatedHttpRequest
from gallery import services
from gallery.models import DominantColor, Image
from gallery.search import services as search_services
from gallery.thumbnails import THUMBNAIL_MEDIA_TYPE

COMPACT_DATE_TIME = "Y-m-d H:i"


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Not deleted"), ("yes", "Deleted (restorable)")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class DominantColorInline(admin.TabularInline):
    model = DominantColor
    readonly_fields = ("swatch", "rank", "hue", "saturation", "value", "share")
    fields = readonly_fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="colour")
    def swatch(self, color: DominantColor) -> str:
        return format_html('<span style="display:inline-block;width:2em;height:1.2em;background:{}"></span>', color.hex)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = [
        "preview",
        "name",
        "owner",
        "swatches",
        "label_names",
        "visibility_and_size",
        "dates",
    ]
    list_display_links = ["preview", "name"]
    list_filter = [DeletedFilter, "is_monochrome", "visibility", "owner", "created_at"]
    list_select_related = ["owner"]
    # Labels are searched in their stored JSON text: "cat" finds "tabby cat", "n02123045" its WordNet id.
    search_fields = ["original_name", "sha256", "description", "labels"]
    date_hierarchy = "created_at"
    actions = ["soft_delete", "restore", "purge"]
    inlines = [DominantColorInline]
    readonly_fields = [
        "large_preview",
        "label_names",
        "sha256",
        "width",
        "height",
        "format",
        "byte_size",
        "original_link",
        "is_monochrome",
        "created_at",
        "deleted_at",
        "thumbnail_width",
        "thumbnail_height",
    ]
    fields = ["large_preview", "original_name", "owner", "visibility", "description", *readonly_fields[1:]]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("thumbnail").prefetch_related("colors")

    def save_model(self, request: HttpRequest, obj: Image, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and {"original_name", "description"} & set(form.changed_data):
            search_services.reindex_images(image_ids=[obj.pk])

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("<int:image_id>/preview/", preview, name="gallery_image_preview"), *super().get_urls()]

    def preview_view(self, request: HttpRequest, image_id: int) -> HttpResponse:
        """The stored thumbnail, unwrapped from xz so an <img> can show it."""
        image = get_object_or_404(Image.objects.only("thumbnail"), pk=image_id)
        response = HttpResponse(lzma.decompress(bytes(image.thumbnail)), content_type=THUMBNAIL_MEDIA_TYPE)
        response["Cache-Control"] = "private, max-age=3600"
        return response

    def _preview_img(self, image: Image, *, height: int) -> str:
        url = reverse("admin:gallery_image_preview", args=[image.pk])
        return format_html('<img src="{}" alt="" loading="lazy" style="height:{}px;border-radius:3px">', url, height)

    @admin.display(description="original")
    def original_link(self, image: Image) -> str:
        # The API serves originals to those allowed to see them; media files are not served at all.
        url = reverse("api-image-original", args=[image.pk])
        return format_html('<a href="{}">{}</a>', url, image.original_name)

    @admin.display(description="")
    def preview(self, image: Image) -> str:
        return self._preview_img(image, height=40)

    @admin.display(description="preview")
    def large_preview(self, image: Image) -> str:
        return self._preview_img(image, height=300)

    @admin.display(description="colours")
    def swatches(self, image: Image) -> str:
        return format_html_join(
            "",
            '<span title="{}" style="display:inline-block;width:{}em;height:1.2em;background:{}"></span>',
            ((self._describe(color), round(0.5 + 4 * color.share, 2), color.hex) for color in image.colors.all()),
        )

    @staticmethod
    def _describe(color: DominantColor) -> str:
        hue = "no hue (boring)" if color.hue is None else f"{color.hue}°"
        return f"{hue}, {color.share:.0%} of the image"

    # The list must fit a 1280 px window beside the admin's sidebar: a camera's long file name may break anywhere,
    # visibility and size share a column, and so do the dates, as numbers (Django's: "Dec. 2, 2026, 5:40 p.m."),
    # under short headers (the admin never wraps a header).
    @admin.display(description="original name", ordering="original_name")
    def name(self, image: Image) -> str:
        return format_html('<span style="overflow-wrap:anywhere">{}</span>', image.original_name)

    @admin.display(description="dates", ordering="created_at")
    def dates(self, image: Image) -> str:
        created = date_format(localtime(image.created_at), COMPACT_DATE_TIME)
        if image.deleted_at is None:
            return created
        return format_html("{}<br>deleted {}", created, date_format(localtime(image.deleted_at), COMPACT_DATE_TIME))

    @admin.display(description="labels")
    def label_names(self, image: Image) -> str:
        if image.labels is None:
            return "not labelled yet"
        return ", ".join(f"{label['name']} {label['probability']:.0%}" for label in image.labels)

    @admin.display(description="visibility", ordering="visibility")
    def visibility_and_size(self, image: Image) -> str:
        return format_html("{}<br>{}×{}", image.get_visibility_display(), image.width, image.height)

    @admin.action(description="Delete selected images (restorable)")
    def soft_delete(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        for image in queryset.filter(deleted_at__isnull=True):
            services.soft_delete_image(actor=request.user, image_id=image.pk)
        self.message_user(request, "Deleted; restore them with the restore action.", messages.SUCCESS)

    @admin.action(description="Restore selected deleted images")
    def restore(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        for image in queryset.filter(deleted_at__isnull=False):
            services.restore_image(actor=request.user, image_id=image.pk)
        self.message_user(request, "Restored.", messages.SUCCESS)

    @admin.action(description="Purge selected images for good (files too)", permissions=["delete"])
    def purge(self, request: HttpRequest, queryset: QuerySet) -> None:
        purged = services.purge_images(image_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Purged {purged} image(s) and their files.", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Image) -> None:
        services.purge_images(image_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        services.purge_images(image_ids=list(queryset.values_list("pk", flat=True)))
