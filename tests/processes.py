"""Servers in several processes sharing the test database and a Redis channel layer, as `./dev.sh serve` runs them."""

import os
import uuid

# The SQLite run has no REDIS_URL; several processes need Redis all the same, under a prefix of their own.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/1"


def channel_prefix() -> str:
    return f"scroller-test-{uuid.uuid4().hex[:12]}"


def redis_channel_layers(*, prefix: str) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}], "prefix": prefix},
        }
    }


def database_url_of_the_tests() -> str:
    """The test database (already created by pytest-django) as a DATABASE_URL for a server started as a command."""
    from django.db import connection

    database = connection.settings_dict
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    return f"mysql://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
