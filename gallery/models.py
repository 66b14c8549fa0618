import colorsys
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.users import Viewer
from gallery.fields import BlobField
from gallery.search.fields import ExactCharField


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"


@dataclass(frozen=True, slots=True)
class ViewerScope:
    """The one visibility rule: which images a viewer may see.

    Staff see everything; anyone else sees public images plus, when logged in, their own.
    The ORM filter (ImageQuerySet.visible_to), the raw SQL of the streams and the filter of
    live events all render this one rule, so they cannot drift apart.
    """

    sees_all: bool
    owner_id: int | None

    @classmethod
    def of(cls, viewer: Viewer) -> "ViewerScope":
        authenticated = viewer is not None and viewer.is_authenticated
        return cls(sees_all=bool(authenticated and viewer.is_staff), owner_id=viewer.pk if authenticated else None)

    def allows(self, *, owner_id: int, visibility: str) -> bool:
        return (
            self.sees_all
            or visibility == Visibility.PUBLIC
            or (self.owner_id is not None and owner_id == self.owner_id)
        )

    def q(self) -> Q:
        if self.sees_all:
            return Q()
        public = Q(visibility=Visibility.PUBLIC)
        return public if self.owner_id is None else public | Q(owner_id=self.owner_id)

    def sql(self, *, alias: str) -> tuple[str, list]:
        """An SQL condition, starting with " AND ", on the image table aliased `alias`; empty when everything is visible."""
        if self.sees_all:
            return "", []
        if self.owner_id is None:
            return f" AND {alias}.visibility = %s", [Visibility.PUBLIC.value]
        return f" AND ({alias}.visibility = %s OR {alias}.owner_id = %s)", [Visibility.PUBLIC.value, self.owner_id]


class ImageQuerySet(models.QuerySet):
    def alive(self) -> "ImageQuerySet":
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user: Viewer) -> "ImageQuerySet":
        """What `user` may see: public images, plus their own and, for staff, everything (ViewerScope)."""
        return self.filter(ViewerScope.of(user).q())


class Image(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images")
    original_name = models.CharField(max_length=255, help_text="The uploader's file name, sanitised; for display only.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the original bytes, hex.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    byte_size = models.PositiveBigIntegerField()
    original = models.FileField(max_length=255)
    thumbnail = BlobField(help_text="Scaled-down image in an xz (LZMA) container.")
    thumbnail_width = models.PositiveSmallIntegerField()
    thumbnail_height = models.PositiveSmallIntegerField()
    is_monochrome = models.BooleanField(default=False, help_text="Only near-white, near-black or grey colours.")
    # The colour rows again, in the image's own row: cards need every colour of an image, and on
    # a catalogue larger than the database's memory the colour rows cost a random disk read per
    # image on top of the image row's (1.7 ms of a 4 ms batch of ten on the 1M benchmark).
    # Written once with the rows, like them never changed.
    palette = models.JSONField(
        default=list, help_text="The dominant colours as [hue or null, saturation, value, share], largest share first."
    )
    description = models.TextField(
        max_length=2000, blank=True, default="", help_text="The uploader's own words; plain text."
    )
    # Filled by the background classifier after the upload commits; null until then.
    labels = models.JSONField(
        null=True,
        blank=True,
        help_text='Top ImageNet labels, highest first: [{"name", "wnid", "probability"}]; empty until classified.',
    )
    # What photomosaics and "more like this" need, made at ingest from the thumbnail (gallery.mosaic.tiles,
    # gallery.similar.phash); null for images stored before them until `manage.py fill_tiles` runs.
    mosaic_tile = BlobField(null=True, blank=True, help_text="16 x 16 px centred square, raw RGB bytes.")
    mosaic_l = models.FloatField(null=True, blank=True, help_text="The mosaic tile's mean CIELAB lightness.")
    mosaic_a = models.FloatField(null=True, blank=True, help_text="The mosaic tile's mean CIELAB a*.")
    mosaic_b = models.FloatField(null=True, blank=True, help_text="The mosaic tile's mean CIELAB b*.")
    perceptual_hash = models.BigIntegerField(null=True, blank=True, help_text="64-bit DCT hash (pHash), signed.")
    visibility = models.CharField(max_length=7, choices=Visibility.choices, default=Visibility.PUBLIC)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    terms_changed_at = models.DateTimeField(
        default=timezone.now,
        help_text="When what the search terms come from (labels, description, name, palette) was last written.",
    )

    objects = ImageQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="image_unique_content_per_owner")]
        indexes = [
            models.Index(fields=["deleted_at", "created_at"], name="image_alive_newest"),
            models.Index(fields=["owner", "created_at"], name="image_owner_newest"),
            # Covers what the hue stream's walk asks of each image it meets (alive? visible to
            # the viewer?), so the walk never touches the table's rows: on a large catalogue
            # those rows are spread over far more pages than the database keeps in memory.
            # With terms_changed_at, it also tells a listing whether the copy of an image it holds is current
            # (gallery.listing_cache).
            models.Index(
                fields=["id", "deleted_at", "visibility", "owner", "terms_changed_at"], name="image_stream_filter"
            ),
            models.Index(fields=["terms_changed_at"], name="image_terms_changed"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} (#{self.pk})"

    def get_absolute_url(self) -> str:
        """The image's page; the admin's "View on site" leads there."""
        return reverse("image-page", args=[self.pk])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PurgedContent(models.Model):
    """The hash of bytes an owner deleted for good, kept so that uploading them again does not bring them back.

    Nothing else about the image survives its purge: no name, no pixels, no dates but this one,
    and the row itself is swept once SCROLLER_PURGED_HASH_RETENTION_DAYS have passed.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the purged original's bytes, hex.")
    purged_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="purged_content_unique_per_owner")]
        indexes = [models.Index(fields=["purged_at"], name="purged_content_age")]

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… purged {self.purged_at:%Y-%m-%d}"


class DominantColor(models.Model):
    """One of an image's dominant colours; the rows with a hue are the index the scroller streams from."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="colors")
    rank = models.PositiveSmallIntegerField(help_text="0 is the colour with the largest share.")
    hue = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0–359°; empty for boring colours.")
    saturation = models.FloatField()
    value = models.FloatField()
    share = models.FloatField(help_text="Fraction of the image's pixels, 0–1.")
    shuffle = models.PositiveIntegerField(help_text="Random, the same for every colour of one image: the stream order.")

    class Meta:
        ordering = ["rank"]
        constraints = [models.UniqueConstraint(fields=["image", "rank"], name="color_unique_rank_per_image")]
        # With image last, the hue stream's walk reads everything it needs from this index alone.
        indexes = [models.Index(fields=["hue", "shuffle", "share", "image"], name="color_hue_stream")]

    def __str__(self) -> str:
        return self.hex

    @property
    def hex(self) -> str:
        red, green, blue = colorsys.hsv_to_rgb((self.hue or 0) / 360, self.saturation, self.value)
        return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


class SearchKeyword(models.Model):
    """A word or phrase images are found by (gallery.search.terms), stored once: postings name it by its number."""

    id = models.AutoField(primary_key=True)
    # Byte for byte: terms are already in their normal form, and two that differ are two keywords.
    text = ExactCharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.text


class SearchPosting(models.Model):
    """That an image is found by a keyword, and how strongly (out of 10000): the text search index.

    It holds no copy of an image's visibility or deletion: searches join the image's
    image_stream_filter entry, so those can never be stale here.
    """

    # Keyed (keyword, weight, image): a keyword's images strongest first are one range of the table
    # itself, which is what a search scans. Whether an image it meets has another keyword of the query
    # is a look-up in (keyword, image): within that keyword's own part of the index, a few pages that
    # stay in memory, where an (image, keyword) index would need a page anywhere for every image met.
    pk = models.CompositePrimaryKey("keyword", "weight", "image")
    keyword = models.ForeignKey(SearchKeyword, on_delete=models.PROTECT, related_name="+", db_index=False)
    weight = models.PositiveSmallIntegerField(help_text="Out of 10000.")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="search_postings", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["keyword", "image"], name="search_posting_keyword_image")]
        # Rewriting an image's postings, and scoring the images of live events, find them by image.
        indexes = [models.Index(fields=["image"], name="search_posting_image")]

    def __str__(self) -> str:
        return f"{self.keyword_id} ({self.weight})"
