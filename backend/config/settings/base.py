"""Settings shared by every environment; everything deployment-specific comes from the environment."""

import os
from pathlib import Path
from typing import Any

import dj_database_url

from config import embedded_db

BACKEND_DIR = Path(__file__).resolve().parent.parent.parent
REPO_DIR = BACKEND_DIR.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Safe by default: production settings refuse to start without a real SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Earlier keys whose sessions stay valid while a new SECRET_KEY rolls out (docs/operations.md).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mptt",
    "django_celery_beat",
    "django_htmx",
    "common",
    "orgs",
    "tasks",
    "evidence",
    "web",
    "notifications",
    "scoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "common.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "common.middleware.RefuseNulInQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BACKEND_DIR / "templates"],
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

DEMO_DIR = REPO_DIR / ".demo"
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", "60"))
# PostgreSQL only. Without DATABASE_URL (`make demo`), the checkout's own embedded server in
# .demo/postgres (config/embedded_db), started by the first connection and stopped with the last.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": (
        dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE)
        if DATABASE_URL
        else embedded_db.database(DEMO_DIR / "postgres", name="chuanxi", conn_max_age=CONN_MAX_AGE)
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
CSRF_FAILURE_VIEW = "common.views.csrf_failure"
AUTHENTICATION_BACKENDS = ["orgs.login_throttle.ThrottledModelBackend"]
# The pages (backend/web): every login, the admin's and the browsable API's included, ends on the
# person's home rather than Django's /accounts/profile/.
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Chinese first; English on request (Accept-Language: en).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BACKEND_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", REPO_DIR / ".static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DEMO_DIR / "media"))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# MEDIA_URL is deliberately not routed (config/urls.py): evidence photos and attachments are served
# only through authenticated API views that apply the access rule.

# S3-compatible object storage (AWS S3, MinIO, Aliyun OSS, ...) for uploads, through django-storages,
# when a bucket is configured. Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (read by
# boto3 from the environment) or an instance role; nothing is public: objects are private and the API
# streams them after the access check.
S3_BUCKET = os.environ.get("AWS_STORAGE_BUCKET_NAME") or os.environ.get("S3_BUCKET", "")
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,  # e.g. http://minio:9000
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE") or None,  # "path" for MinIO
            "location": os.environ.get("AWS_LOCATION", ""),  # key prefix inside the bucket
            "default_acl": None,  # the bucket's policy (private), never public-read
            "querystring_auth": True,
            # Names are random (originals) or derived from them and replaced on purpose (thumbnails):
            # overwriting saves a HEAD request per write.
            "file_overwrite": True,
        },
    }

# Uploads: the import endpoints read the whole file; keep the ceiling explicit.
# DATA_UPLOAD_MAX_MEMORY_SIZE counts form fields only, never file data; files of a request larger
# than FILE_UPLOAD_MAX_MEMORY_SIZE (the whole request's length decides) are spooled to temporary files.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
TASK_ATTACHMENT_MAX_BYTES = int(os.environ.get("TASK_ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))

# Evidence photos (backend/evidence, docs/api.md, "Evidence photos").
EVIDENCE_MAX_PHOTO_BYTES = int(os.environ.get("EVIDENCE_MAX_PHOTO_BYTES", str(20 * 1024 * 1024)))
# 50 MP admits the 48/50 MP modes of current phones and stays far below Pillow's own guard (89 MP);
# a decoded 50 MP RGB photo is 150 MB, and the header check refuses larger ones before decoding.
EVIDENCE_MAX_PHOTO_PIXELS = int(os.environ.get("EVIDENCE_MAX_PHOTO_PIXELS", "50000000"))
# A whole submission request (413 above it, refused before the body is read).
EVIDENCE_MAX_REQUEST_BYTES = int(os.environ.get("EVIDENCE_MAX_REQUEST_BYTES", str(120 * 1024 * 1024)))
# Photos per report; also the largest min_photos / max_photos a task may ask for.
EVIDENCE_MAX_PHOTOS_PER_SUBMISSION = int(os.environ.get("EVIDENCE_MAX_PHOTOS_PER_SUBMISSION", "20"))
# "Taken far away" flag: distance from the unit's registered coordinates. Phones write WGS-84 while
# Chinese maps use GCJ-02 (a few hundred metres apart), so keep this well above 1 km.
EVIDENCE_GPS_FAR_KM = float(os.environ.get("EVIDENCE_GPS_FAR_KM", "3"))
# Address space the photo job may add while it decodes (evidence.imaging.memory_ceiling; 0 = no
# limit). The largest accepted photo (50 MP, RGBA) needs about 500 MB; a file that would need more
# fails with a clear reason instead of taking the worker's memory.
EVIDENCE_JOB_MEMORY_MB = int(os.environ.get("EVIDENCE_JOB_MEMORY_MB", "1024"))
# The Celery queue of the photo jobs. Its own queue (and its own worker in docker-compose) keeps a
# backlog of photos from delaying reminders and the other jobs.
EVIDENCE_QUEUE = os.environ.get("EVIDENCE_QUEUE", "photos")
# How long an Idempotency-Key is remembered.
IDEMPOTENCY_KEY_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_HOURS", "24"))

# JSON request bodies (common/parsers.py): 413 above the size, 400 above the nesting depth. The
# largest legitimate body, a task listing thousands of target units, is a few hundred KB.
API_JSON_MAX_BYTES = int(os.environ.get("API_JSON_MAX_BYTES", str(1024 * 1024)))
API_JSON_MAX_DEPTH = int(os.environ.get("API_JSON_MAX_DEPTH", "32"))

REDIS_URL = os.environ.get("REDIS_URL", "")

# How many reverse proxies sit in front of the app (docker-compose puts one there). Their
# X-Forwarded-For entries are trusted to find the client address for login throttling, but only on
# connections from TRUSTED_PROXY_NETWORKS: a client reaching the app server directly cannot choose
# its address with the header.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
TRUSTED_PROXY_NETWORKS = env_list("TRUSTED_PROXY_NETWORKS", "127.0.0.0/8,::1/128")
# Failed logins (orgs/login_throttle.py): per username and address LOGIN_THROTTLE_RATE (below); per
# username over all addresses and per address over all usernames these ceilings, which never hold
# back an address the username logged in from in the last LOGIN_KNOWN_ADDRESS_DAYS days.
LOGIN_USERNAME_CEILING = os.environ.get("LOGIN_USERNAME_CEILING", "50/hour")
LOGIN_ADDRESS_CEILING = os.environ.get("LOGIN_ADDRESS_CEILING", "50/hour")
LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("LOGIN_KNOWN_ADDRESS_DAYS", "30"))

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orgs.tokens.VersionedJWTAuthentication",
        "common.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON with a size and nesting limit (common/parsers.py); forms and multipart are bounded by Django.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["common.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # Failed logins per username and client address pair; successful ones don't count.
        "login": os.environ.get("LOGIN_THROTTLE_RATE", "5/min"),
    },
}

# The OpenAPI schema and Swagger UI: for logged-in users unless API_DOCS_PUBLIC (on in the demo).
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", False)

# Every response (common/middleware.py). 'unsafe-inline' styles: the admin sets style attributes.
# Swagger UI shows its icons as data: images and fetches the schema from the site itself.
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)

SPECTACULAR_SETTINGS = {
    "TITLE": "传习 Chuanxi API",
    "DESCRIPTION": "新时代文明实践 三级传习体系：区（中心）→ 街道（所）→ 社区（站）的任务派发、佐证上报与考核。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny"
        if API_DOCS_PUBLIC
        else "rest_framework.permissions.IsAuthenticated"
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PracticeTaskStatusEnum": "tasks.models.PracticeTask.Status",
        "AssignmentStatusEnum": "tasks.models.Assignment.Status",
        "PhotoStatusEnum": "evidence.models.Photo.Status",
        "EvidenceFlagKindEnum": "evidence.models.EvidenceFlag.Kind",
        "NotificationKindEnum": "notifications.models.Kind",
        "PeriodKindEnum": "scoring.models.PeriodKind",
        "TaskActionEnum": "tasks.policies.TASK_ACTION_CHOICES",
        "AssignmentActionEnum": "tasks.policies.ASSIGNMENT_ACTION_CHOICES",
        "SubmissionActionEnum": "tasks.policies.SUBMISSION_ACTION_CHOICES",
    },
}

from datetime import timedelta  # noqa: E402

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "30"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    # Tokens carry the account's token version and end when it changes (orgs/tokens.py).
    "TOKEN_OBTAIN_SERIALIZER": "orgs.tokens.VersionedTokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "orgs.tokens.VersionedTokenRefreshSerializer",
}

# Celery (docs/operations.md, "Celery worker and beat"): JSON only, bounded run time, acks after the
# job so a job on a worker that dies is redelivered, and one queue per kind of work.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
# Redis hands an unacknowledged job to another worker after this many seconds. It must stay longer
# than any countdown a job uses (retries back off at most NOTIFICATIONS_RETRY_MAX_SECONDS and
# evidence's 300 s) and than the longest job (time limits below), or a job would run twice.
CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL == "filesystem://":
    # `make demo` needs no broker server: kombu's filesystem transport queues through a folder.
    _queue_dir = DEMO_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Jobs a worker reserves beyond the ones it runs. 1 suits long jobs (photos: a reserved job waits
# behind a long one); the notifications worker runs short jobs and may take more (docker-compose
# passes --prefetch-multiplier per worker).
CELERY_WORKER_PREFETCH_MULTIPLIER = int(os.environ.get("CELERY_PREFETCH_MULTIPLIER", "1"))
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker reconnects to a restarted broker for ever rather than giving up after 100 tries.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Three queues: photos (slow image work), notifications (reminders and their deliveries: short and
# time-critical) and the default queue (events, sweeps, checks). A worker started without -Q
# (`make demo`) consumes all three; docker-compose runs one worker per queue, so a backlog of photos
# never delays a reminder.
NOTIFICATIONS_QUEUE = os.environ.get("NOTIFICATIONS_QUEUE", "notifications")
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_CREATE_MISSING_QUEUES = True
from kombu import Exchange, Queue  # noqa: E402

# Each queue on its own exchange and routing key: declared without them, Celery binds every queue
# to the default "celery" key and a job sent to one queue would land in all three.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in dict.fromkeys(["celery", NOTIFICATIONS_QUEUE, EVIDENCE_QUEUE or "celery"])
]
CELERY_TASK_ROUTES = {"notifications.*": {"queue": NOTIFICATIONS_QUEUE}}
# Beat's DatabaseScheduler copies these entries into the database at start (editable in the admin).
# Times are CELERY_TIMEZONE (Asia/Shanghai). `expire_seconds` (DatabaseScheduler's name for
# `expires`) drops a run that waited in the queue past its usefulness.
from celery.schedules import crontab  # noqa: E402

# Reminders, escalation and notifications (backend/notifications; README "Notifications").
# Reminders before the due time, in hours (per task: PUT /api/v1/tasks/{id}/reminders/).
NOTIFICATIONS_REMINDER_HOURS = [float(hours) for hours in env_list("NOTIFICATIONS_REMINDER_HOURS", "72,24,2")]
# The unit is reminded again this long after the due time ("overdue"); the parent unit's officers are
# told (escalation) this long after it.
NOTIFICATIONS_OVERDUE_HOURS = float(os.environ.get("NOTIFICATIONS_OVERDUE_HOURS", "24"))
NOTIFICATIONS_ESCALATION_HOURS = float(os.environ.get("NOTIFICATIONS_ESCALATION_HOURS", "24"))
# A report waiting this long reminds the reviewing unit's officers; this long escalates one level up.
NOTIFICATIONS_REVIEW_HOURS = float(os.environ.get("NOTIFICATIONS_REVIEW_HOURS", "24"))
NOTIFICATIONS_REVIEW_ESCALATION_HOURS = float(os.environ.get("NOTIFICATIONS_REVIEW_ESCALATION_HOURS", "48"))
# How far back the scan looks for moments it may have missed (a worker down for days).
NOTIFICATIONS_LOOKBACK_DAYS = int(os.environ.get("NOTIFICATIONS_LOOKBACK_DAYS", "7"))
# The scan runs this often (seconds); a reminder is at most this late.
NOTIFICATIONS_SCAN_SECONDS = int(os.environ.get("NOTIFICATIONS_SCAN_SECONDS", "120"))
# The officers' daily digest, local time (Asia/Shanghai).
NOTIFICATIONS_DIGEST_TIME = os.environ.get("NOTIFICATIONS_DIGEST_TIME", "08:30")
# Pushes (email, SMS, group robots) wait during these hours, local time; empty: no quiet hours.
NOTIFICATIONS_QUIET_HOURS = os.environ.get("NOTIFICATIONS_QUIET_HOURS", "22:00-07:00")
# A failing push is tried this many times, backing off exponentially (with jitter) from the base.
NOTIFICATIONS_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATIONS_MAX_ATTEMPTS", "5"))
NOTIFICATIONS_RETRY_BASE_SECONDS = float(os.environ.get("NOTIFICATIONS_RETRY_BASE_SECONDS", "60"))
NOTIFICATIONS_RETRY_MAX_SECONDS = float(os.environ.get("NOTIFICATIONS_RETRY_MAX_SECONDS", "1800"))
# Hosts a group robot's webhook may point at: the platforms' own, so that an administrator's robot can
# never make the server post to an address inside the network (SSRF). "*" allows any host.
NOTIFICATIONS_ROBOT_HOSTS = env_list(
    "NOTIFICATIONS_ROBOT_HOSTS", "qyapi.weixin.qq.com,oapi.dingtalk.com,open.feishu.cn,open.larksuite.com"
)
# Seconds a robot webhook gets to answer.
NOTIFICATIONS_HTTP_TIMEOUT = float(os.environ.get("NOTIFICATIONS_HTTP_TIMEOUT", "5"))
# SMS: a dotted path to a notifications.channels.sms.SmsBackend; empty: no SMS.
# `notifications.channels.sms.LoggingSmsBackend` writes the messages to the log.
NOTIFICATIONS_SMS_BACKEND = os.environ.get("NOTIFICATIONS_SMS_BACKEND", "")

# Email through Django's email backend: SMTP when EMAIL_HOST is set; without it no email is sent.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "chuanxi@localhost")
NOTIFICATIONS_EMAIL = env_bool("NOTIFICATIONS_EMAIL", bool(EMAIL_HOST))

_digest_hour, _digest_minute = (int(part) for part in NOTIFICATIONS_DIGEST_TIME.split(":"))

CELERY_BEAT_SCHEDULE = {
    # Domain events whose after-commit job was lost (common.events); normally empty.
    "common.dispatch_events": {
        "task": "common.dispatch_events",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    "orgs.check_tree": {
        "task": "orgs.check_tree",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expire_seconds": 6 * 3600},
    },
    # Scoring (scoring.jobs): open assignments of a month that ended count as not completed; the
    # nightly recompute rebuilds every score from scratch (the incremental updates give the same).
    "scoring.settle_ended_months": {
        "task": "scoring.settle_ended_months",
        "schedule": crontab(minute=5),
        "options": {"expire_seconds": 3000},
    },
    "scoring.recompute_all": {
        "task": "scoring.recompute_all",
        "schedule": crontab(hour=2, minute=40),
        "options": {"expire_seconds": 6 * 3600},
    },
    # Files of crashed uploads, photos stuck in processing, expired idempotency keys.
    "evidence.remove_orphaned_uploads": {
        "task": "evidence.remove_orphaned_uploads",
        "schedule": crontab(minute=17),
        "options": {"expire_seconds": 3000},
    },
    # Reminders, escalation and review reminders due now (set-based; safe to run twice at once).
    "notifications.scan": {
        "task": "notifications.scan",
        "schedule": float(NOTIFICATIONS_SCAN_SECONDS),
        "options": {"expire_seconds": max(NOTIFICATIONS_SCAN_SECONDS - 5, 5)},
    },
    # Pushes waiting: new ones, retries whose back-off has passed, ones held by quiet hours.
    "notifications.send_deliveries": {
        "task": "notifications.send_deliveries",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    "notifications.send_digests": {
        "task": "notifications.send_digests",
        "schedule": crontab(hour=_digest_hour, minute=_digest_minute),
        "options": {"expire_seconds": 3 * 3600},
    },
}

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
