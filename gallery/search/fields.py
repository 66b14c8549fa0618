from django.db import models


class ExactCharField(models.CharField):
    """A CharField compared byte for byte on every database: SQLite does by default; on MariaDB it takes a binary
    collation, where the default would make "café" and "cafe" (or "Cafe") one value."""

    def db_parameters(self, connection) -> dict:
        parameters = super().db_parameters(connection)
        if connection.vendor == "mysql":
            parameters["collation"] = "utf8mb4_bin"
        return parameters
