from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from gallery.models import PurgedContent


def retention_cutoff(*, now: datetime | None = None) -> datetime:
    """Purges older than this are forgotten, whether or not the sweep has deleted their rows yet."""
    return (now or timezone.now()) - timedelta(days=settings.SCROLLER_PURGED_HASH_RETENTION_DAYS)


def purged_hashes(*, owner: User, hashes: Iterable[str]) -> set[str]:
    """Which of these hashes the owner purged within the retention period."""
    wanted = set(hashes)
    if not wanted:
        return set()
    return set(
        PurgedContent.objects.filter(owner=owner, sha256__in=wanted, purged_at__gte=retention_cutoff()).values_list(
            "sha256", flat=True
        )
    )
