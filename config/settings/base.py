"""Settings shared by every environment. Every value comes from the environment.

The database is PostgreSQL everywhere (DATABASE_URL); the broker is Redis (REDIS_URL).
`make run` / `make test` start embedded servers and set both when they are not given.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",  # Content-Security-Policy header (config/settings/security.py)
    "axes",  # login failure counting and lockout (config/settings/security.py)
    "core",
    "annotation",
    "scoring",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.request_ids.RequestIdMiddleware",
    # A database outage answers 503 + Retry-After (core/database_outage.py).
    "core.database_outage.DatabaseOutageMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.request_limits.RequestBodyLimitMiddleware",
    # A NUL in a query string is a 400, never a database error (core/query_strings.py).
    "core.query_strings.NulQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it answers a locked-out login before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "annotation.views.navigation.navigation",
            ],
        },
    },
]

# --- database: PostgreSQL only
DATABASES = {"default": env.db_url("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        f"DATABASE_URL must point to PostgreSQL (postgres://...), got engine "
        f"{DATABASES['default']['ENGINE']!r}. SQLite and other databases are not supported: "
        "unset DATABASE_URL to let `make run` start an embedded PostgreSQL."
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# While PostgreSQL is unreachable requests get 503 with this Retry-After (seconds).
DATABASE_RETRY_AFTER_SECONDS = env.int("DATABASE_RETRY_AFTER_SECONDS", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "annotation.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / ".data" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploaded images, stored content-addressed by sha256 (see annotation/intake/media.py).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
# Dataset snapshots (annotation/export/): one folder per snapshot.
EXPORT_ROOT = Path(env("EXPORT_ROOT", default=str(BASE_DIR / ".data" / "exports")))
# A new export is refused (with a message) when the disk holding EXPORT_ROOT has less free.
EXPORT_MIN_FREE_BYTES = env.int("EXPORT_MIN_FREE_BYTES", default=2 * 1024**3)
# `manage.py prune` removes snapshots and unregistered checkpoints older than this.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=30)

# Request bodies: batch uploads are streamed to a temporary file, never held in memory
# (only the temporary-file handler: no uploaded file of any size is read into memory).
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]
# Uploaded archives wait here for their import on a worker (annotation/intake/
# import_jobs.py): web and worker must share this folder.
IMPORT_UPLOAD_ROOT = Path(env("IMPORT_UPLOAD_ROOT", default=str(BASE_DIR / ".data" / "uploads")))
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# --- batch import limits (every limit a user can hit names itself in the error)
IMPORT_MAX_ARCHIVE_BYTES = env.int("IMPORT_MAX_ARCHIVE_BYTES", default=4 * 1024**3)
# Request bodies per route (core/request_limits.py): uploads get the limits above.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=1024**2)
REQUEST_MAX_LOGIN_BYTES = env.int("REQUEST_MAX_LOGIN_BYTES", default=16 * 1024)
REQUEST_MAX_IMAGES_BYTES = env.int("REQUEST_MAX_IMAGES_BYTES", default=256 * 1024**2)
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("IMPORT_MAX_UNCOMPRESSED_BYTES", default=8 * 1024**3)
IMPORT_MAX_FILES = env.int("IMPORT_MAX_FILES", default=200_000)
IMPORT_MAX_COMPRESSION_RATIO = env.int("IMPORT_MAX_COMPRESSION_RATIO", default=200)
IMPORT_MAX_IMAGE_BYTES = env.int("IMPORT_MAX_IMAGE_BYTES", default=50 * 1024**2)
IMPORT_MAX_IMAGE_PIXELS = env.int("IMPORT_MAX_IMAGE_PIXELS", default=36_000_000)
IMPORT_MAX_PROMPT_CHARS = env.int("IMPORT_MAX_PROMPT_CHARS", default=2_000)
IMPORT_MAX_IMAGES_PER_GROUP = env.int("IMPORT_MAX_IMAGES_PER_GROUP", default=16)
# Threads decoding images during validation (Pillow releases the GIL): one per core.
IMPORT_WORKERS = env.int("IMPORT_WORKERS", default=min(8, os.cpu_count() or 1))

# --- annotation defaults for new projects
DEFAULT_JUDGMENTS_PER_TASK = env.int("DEFAULT_JUDGMENTS_PER_TASK", default=1)
DEFAULT_LEASE_SECONDS = env.int("DEFAULT_LEASE_SECONDS", default=600)
GUIDELINE_VERSION = env("GUIDELINE_VERSION", default="hpd-v2-1")
# True under config.settings.production: `manage.py demo` then refuses to create its
# fixed-password accounts unless forced.
PRODUCTION_SETTINGS = False

# --- REST API
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=1000)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.api.authentication.PreparedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # LimitOffsetPagination with ?limit= capped at API_MAX_PAGE_SIZE.
    "DEFAULT_PAGINATION_CLASS": "core.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    # Counted in Redis (API_THROTTLE_REDIS_URL), shared by all workers; fail open.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonThrottle",
        "core.throttling.UserThrottle",
        "core.throttling.ScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/min"),
        "user": env("API_THROTTLE_USER", default="1200/min"),
        "annotate": env("API_THROTTLE_ANNOTATE", default="240/min"),
        "compute": env("API_THROTTLE_COMPUTE", default="30/min"),
    },
}
# Pages that compute (core.throttling.throttle_page), per signed-in user.
PAGE_THROTTLE_RATES = {"compute": env("PAGE_THROTTLE_COMPUTE", default="60/min")}
SPECTACULAR_SETTINGS = {
    "TITLE": "HPD annotation platform API",
    "DESCRIPTION": "Collect human preference rankings of generated images; export HPD v2 datasets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: the docs page needs no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two choice sets share the field name "split": name both enums.
    "ENUM_NAME_OVERRIDES": {
        "SplitEnum": "annotation.models.content.Split",
        "ExportSplitEnum": ["all", "train", "test"],
        # Exports and the scorer's jobs share the field name "status" and its values.
        "JobStatusEnum": "scoring.models.JobStatus",
    },
    # Row ids in paths (core/url_converters.py): integers that fit PostgreSQL's bigint.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1},
    },
}

# --- Celery (namespace CELERY_ in config/celery_app.py)
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
# API throttle counters (core/throttling.py): fixed windows in this Redis.
API_THROTTLE_REDIS_URL = env("API_THROTTLE_REDIS_URL", default=REDIS_URL)
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# No result backend: every task records its outcome in the database (a batch's status, a
# snapshot, a training run), and a Redis outage then costs a web request at most the short
# publish retry below, never a wait on a backend that keeps reconnecting.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than the longest task (a training cycle), so a running task is not redelivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=12 * 3600)
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Scoring loads the HPS model and a training cycle fine-tunes it: both run on the GPU
# worker's queue. The periodic training.start_due_cycles stays on the default queue.
CELERY_TASK_ROUTES = {
    "scoring.*": {"queue": "gpu"},
    "training.run_cycle": {"queue": "gpu"},
    "training.evaluate_frozen_set": {"queue": "gpu"},
}
SCORING_DEVICE = env("SCORING_DEVICE", default="")  # "" = cuda when present, else cpu
SCORING_BATCH_SIZE = env.int("SCORING_BATCH_SIZE", default=64)
# The workers' forward pass and resize (scoring/core/scorer.py): fp16 autocast on CUDA and
# no antialias, as the release scores; each stored score records what ran.
SCORING_PRECISION = env("SCORING_PRECISION", default="fp16")
SCORING_ANTIALIAS = env.bool("SCORING_ANTIALIAS", default=False)
# POST /api/v1/benchmarks/ only reads prompts and images folders under this one.
BENCHMARK_ROOT = Path(env("BENCHMARK_ROOT", default=str(BASE_DIR / ".data" / "benchmarks")))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every record carries the request id of the request (or task) it was logged in.
    "filters": {
        "request_id": {"()": "core.request_ids.RequestIdFilter"},
        # A 403 or other 4xx is one line, without a traceback (core/log_filters.py).
        "client_errors": {"()": "core.log_filters.ClientErrorsWithoutTraceback"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors"]},
        "django.security": {"filters": ["client_errors"]},
    },
}

# How often work left waiting by a broker outage (batches to process, exports) is queued.
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "sweep-unprocessed-batches": {
        "task": "annotation.sweep_unprocessed_batches",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "sweep-queued-exports": {
        "task": "annotation.sweep_queued_exports",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "sweep-queued-imports": {
        "task": "annotation.sweep_queued_imports",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "expire-leases": {"task": "annotation.expire_leases", "schedule": 300},
}

# --- prompt cleaning (annotation/intake/cleaning): an optional OpenAI-compatible LLM
PROMPT_CLEANER_LLM_URL = env("PROMPT_CLEANER_LLM_URL", default="")
PROMPT_CLEANER_LLM_MODEL = env("PROMPT_CLEANER_LLM_MODEL", default="gpt-4o-mini")
PROMPT_CLEANER_LLM_API_KEY = env("PROMPT_CLEANER_LLM_API_KEY", default="")
PROMPT_CLEANER_LLM_TIMEOUT = env.float("PROMPT_CLEANER_LLM_TIMEOUT", default=20.0)
PROMPT_SAFETY_EXTRA_WORDS = env.list("PROMPT_SAFETY_EXTRA_WORDS", default=[])
# --- agreement and annotator quality (annotation/quality/agreement.py)
AGREEMENT_INTERVAL_SECONDS = env.int("AGREEMENT_INTERVAL_SECONDS", default=900)
# Pages serve the stored leaderboard and agreement report and queue annotation.refresh_reports
# when the data changed, at most once per project in this many seconds
# (annotation/quality/stored.py).
REPORT_REFRESH_DEBOUNCE_SECONDS = env.int("REPORT_REFRESH_DEBOUNCE_SECONDS", default=60)
REPEAT_INTERVAL_SECONDS = env.int("REPEAT_INTERVAL_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["recompute-agreement"] = {
    "task": "annotation.recompute_agreement",
    "schedule": AGREEMENT_INTERVAL_SECONDS,
}
CELERY_BEAT_SCHEDULE["schedule-repeat-items"] = {
    "task": "annotation.schedule_repeat_items",
    "schedule": REPEAT_INTERVAL_SECONDS,
}

# --- the learning loop (training/): fine-tuning cycles on the gpu queue
# Each run writes its checkpoints and metrics.jsonl under TRAINING_ROOT/<project>/run-<id>/.
TRAINING_ROOT = Path(env("TRAINING_ROOT", default=str(BASE_DIR / ".data" / "training")))
# The base weights a project's first cycle starts from (later cycles start from the active
# model version): an open_clip architecture name or a model-config JSON path, plus a
# checkpoint file or an open_clip pretrained tag already in the local cache.
TRAINING_BASE_MODEL = env("TRAINING_BASE_MODEL", default="ViT-H-14")
TRAINING_BASE_CHECKPOINT = env("TRAINING_BASE_CHECKPOINT", default="")
TRAINING_BASE_PRETRAINED = env("TRAINING_BASE_PRETRAINED", default="")
# Processes that train: "all" = every visible GPU (one on a machine without CUDA); above 1,
# training runs under torchrun.
TRAINING_GPUS = env("TRAINING_GPUS", default="all")
TRAINING_DEVICE = env("TRAINING_DEVICE", default="")  # "" = cuda when present, else cpu
TRAINING_EVAL_BATCH_SIZE = env.int("TRAINING_EVAL_BATCH_SIZE", default=64)
# A run's worker renews its lease every third of this; a redelivered task takes over a
# run whose lease expired (its worker died).
TRAINING_LEASE_SECONDS = env.int("TRAINING_LEASE_SECONDS", default=300)

# Email (password reset). Without EMAIL_HOST no email is sent: the password reset page
# says so and what to do instead (core/password_reset.py).
EMAIL_HOST = env("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="hpd-annotation@localhost")
# Invitations (annotation/projects/invitations.py): how long a link stays valid, and the
# address the `invite` command writes links with (pages use the address they were asked on).
INVITATION_DAYS = env.int("INVITATION_DAYS", default=14)
SITE_URL = env("SITE_URL", default="http://localhost:8000")

# --- production security and operations: CSP, login lockout, health checks
from config.settings.security import *  # noqa: E402, F403

# The anonymous throttle's client address behind the trusted proxies (security.py).
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT  # noqa: F405
