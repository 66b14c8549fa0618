"""Model fields of our own."""

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from scroller.mysql_blobs import HexBlob


class BlobField(models.BinaryField):
    """A BinaryField that MariaDB receives as a hex literal (see scroller.mysql_blobs); other databases as bytes."""

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is not None and connection.vendor == "mysql":
            return HexBlob(value)
        return value
