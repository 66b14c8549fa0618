from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from gallery.models import PurgedContent
from gallery.purged.selectors import retention_cutoff


def remember_purged(*, owner_hashes: Iterable[tuple[int, str]]) -> None:
    """Record (owner id, sha256) pairs as purged now; a hash purged again starts its retention period afresh."""
    now = timezone.now()
    pairs = set(owner_hashes)
    if not pairs:
        return
    with transaction.atomic():
        # Delete then insert rather than an upsert: the same two statements on SQLite and MariaDB.
        for owner_id in {owner_id for owner_id, _ in pairs}:
            PurgedContent.objects.filter(
                owner_id=owner_id, sha256__in=[sha256 for owner, sha256 in pairs if owner == owner_id]
            ).delete()
        PurgedContent.objects.bulk_create(
            [PurgedContent(owner_id=owner_id, sha256=sha256, purged_at=now) for owner_id, sha256 in pairs]
        )


def forget_expired_purges() -> int:
    """Delete the hashes remembered longer than the retention period; returns how many."""
    deleted, _ = PurgedContent.objects.filter(purged_at__lt=retention_cutoff()).delete()
    return deleted
