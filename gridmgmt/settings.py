"""Settings, all from the environment (a local `.env` file is read first).

DATABASE_URL   postgis://user:pass@host:port/name — the runtime role the web server connects as
DATABASE_OWNER_URL  the same database as the schema's owner, for migrations and set-up (else DATABASE_URL)
DATABASE_ROLE  "owner" to connect as the owner (manage.py sets it for migrate, prepare, seed_demo, …)
SECRET_KEY     required when DEBUG is off
DEBUG          "1" for development; off by default
ALLOWED_HOSTS  comma-separated
PII_KEYS       comma-separated Fernet keys, newest first (encrypts ID numbers and phones)
PII_HASH_KEY   secret for the keyed hash used to search ID numbers and phones exactly
AUDIT_KEYS     comma-separated secrets (32+ characters), newest first, that sign the audit chain (HMAC-SHA256)
AUDIT_CHECKPOINT_DIR  folder outside the database for the audit chain's checkpoints (default: beside MEDIA_ROOT)
HTTPS          "0" when served over plain http (cookies then lose the Secure flag)
"""

import os
from pathlib import Path

import dj_database_url
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY is not set: put it in the environment or in .env (make run writes one).")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Database roles (docs/security.md, "Database roles"): the web server and the everyday commands connect as
# the runtime role of DATABASE_URL, which may only read and write rows; migrations and the set-up connect
# as the schema's owner (DATABASE_OWNER_URL). With no owner URL both are DATABASE_URL.
DEFAULT_DATABASE_URL = "postgis://gridmgmt:gridmgmt@127.0.0.1:5432/gridmgmt"
# The URLs hold passwords: kept in lower-case names, which are not settings (debug pages mask the parsed ones).
runtime_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
owner_url = os.environ.get("DATABASE_OWNER_URL") or runtime_url
RUNTIME_DATABASE = dj_database_url.parse(runtime_url)
OWNER_DATABASE = dj_database_url.parse(owner_url)
# An owner URL counts only for the same database: a DATABASE_URL pointed elsewhere (a test or bench
# database) is then migrated as itself, never through the owner URL of another database.
if OWNER_DATABASE["NAME"] != RUNTIME_DATABASE["NAME"]:
    owner_url, OWNER_DATABASE = runtime_url, RUNTIME_DATABASE
DATABASE_ROLE = os.environ.get("DATABASE_ROLE", "runtime").strip().lower()
DATABASES = {
    "default": dj_database_url.parse(
        owner_url if DATABASE_ROLE == "owner" else runtime_url,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# A database that is down must answer quickly, not hang each request.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(os.environ.get("DB_CONNECT_TIMEOUT", "3"))

# A streaming replica for the heavy reads (gridmgmt/reads.py, docs/scaling.md): same roles and database as the
# primary, so only host and port differ. Reads fall back to the primary while it is down or behind.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = int(
        os.environ.get("DB_REPLICA_CONNECT_TIMEOUT", "1")
    )
DATABASE_ROUTERS = ["gridmgmt.reads.ReplicaRouter"]
# The dashboard's heat bins and summary are kept in the cache under the data's stamp, at most this long
# (maps.selectors.figures): the lights move with the clock.
DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", "60"))
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "10"))
REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", "2"))
REPLICA_READ_VIEWS = {
    "maps:building-tile",
    "maps:hexbins",
    "maps:dashboard-summary",
    "maps:dashboard-export",
    "maps:public-stats",
    "maps:public-grids",
    "maps:labels",
    "maps:public-labels",
    "ogc:items",
    "ogc:item",
}
# ORM reads on those paths that may come from the replica; the access check (grids.Staff) reads the primary.
REPLICA_READ_APPS = {"grids", "cases"}
REPLICA_PRIMARY_MODELS = {"grids.Staff"}

# Database limits of every web request (gridmgmt/dblimits.py, docs/security.md); management commands run without
# them, named export jobs with the longer DB_EXPORT_LIMITS for their own transaction.
DB_WEB_LIMITS = {
    "statement_timeout": os.environ.get("DB_STATEMENT_TIMEOUT", "5s"),
    "temp_file_limit": os.environ.get("DB_TEMP_FILE_LIMIT", "256MB"),
    "idle_in_transaction_session_timeout": os.environ.get("DB_IDLE_IN_TRANSACTION_TIMEOUT", "30s"),
}
DB_EXPORT_LIMITS = {
    "statement_timeout": os.environ.get("DB_EXPORT_STATEMENT_TIMEOUT", "5min"),
    "idle_in_transaction_session_timeout": os.environ.get("DB_EXPORT_IDLE_TIMEOUT", "5min"),
}
# Heavy requests (heat bins and their export) running at once across all processes; more are refused with a 503.
HEAVY_REQUESTS_AT_ONCE = int(os.environ.get("HEAVY_REQUESTS_AT_ONCE", max(1, (os.cpu_count() or 2) // 2)))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "grids",
    "cases",
    "mobileapi",
    "maps",
    "handheld",
    "audit",
    "gridmgmt",  # the attempt counters of the login lockout (gridmgmt/counters.py)
    "ogc",
    "jobs",
    "notices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridmgmt.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "gridmgmt.middleware.JsonCompressionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridmgmt.middleware.ChineseFirstLocaleMiddleware",
    "gridmgmt.middleware.ApiPathMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gridmgmt.middleware.DatabaseUnavailableMiddleware",
    "gridmgmt.middleware.BodySizeLimitMiddleware",
    "gridmgmt.middleware.RejectNulMiddleware",
    "gridmgmt.reads.ReplicaReadsMiddleware",
]

ROOT_URLCONF = "gridmgmt.urls"
WSGI_APPLICATION = "gridmgmt.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = ["gridmgmt.login_guard.LockoutBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Chinese first, English available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "gridmgmt" / "locale"]  # the project's own strings; the apps keep theirs
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end libraries for the maps and dashboard, installed by `npm ci` from package-lock.json (scripts/setup.sh)
# and served from our own server under /static/vendor/… (never from a CDN).
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/leaflet", NODE_MODULES / "leaflet/dist"),
    ("vendor/leaflet.markercluster", NODE_MODULES / "leaflet.markercluster/dist"),
    ("vendor/leaflet.vectorgrid", NODE_MODULES / "leaflet.vectorgrid/dist"),
    ("vendor/chart.js", NODE_MODULES / "chart.js/dist"),
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Photos: the local file system, or an S3-compatible object store when STORAGE_BUCKET is set (docs/scaling.md).
DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if os.environ.get("STORAGE_BUCKET"):
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["STORAGE_BUCKET"],
            "endpoint_url": os.environ.get("STORAGE_ENDPOINT_URL") or None,
            "access_key": os.environ.get("STORAGE_ACCESS_KEY") or None,
            "secret_key": os.environ.get("STORAGE_SECRET_KEY") or None,
            "region_name": os.environ.get("STORAGE_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Hashed names once collectstatic has run; plain names (not an error) before it, as in tests.
WHITENOISE_MANIFEST_STRICT = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Debian 12 ships GDAL 3.6; spatial references are only ever built from EPSG codes here.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Request size limits: photos have their own limit in the upload handlers.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Security: safe by default when DEBUG is off.
HTTPS = env_bool("HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
# Sessions are read from the cache (Redis) and written through to the database: one query less on every request
# of a signed-in page or map. The user row is still read each time, so a deactivated account is out at once.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
X_FRAME_OPTIONS = "DENY"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Personal data protection (see grids/pii.py).
PII_KEYS = env_list("PII_KEYS", "")
PII_HASH_KEY = os.environ.get("PII_HASH_KEY", "")
if DEBUG and not PII_KEYS:
    PII_KEYS = ["ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcmVhbC1kYXQ="]
if DEBUG and not PII_HASH_KEY:
    PII_HASH_KEY = "development-hash-key"

# The audit chain (audit/chain.py, audit/checkpoints.py; docs/security.md "Audit key and checkpoints").
AUDIT_KEYS = env_list("AUDIT_KEYS", "")
if DEBUG and not AUDIT_KEYS:
    AUDIT_KEYS = ["development-audit-key-not-for-real-data"]
AUDIT_CHECKPOINT_DIR = Path(os.environ.get("AUDIT_CHECKPOINT_DIR", MEDIA_ROOT.parent / "audit-checkpoints"))
AUDIT_CHECKPOINT_EVERY = int(os.environ.get("AUDIT_CHECKPOINT_EVERY", "100"))
AUDIT_CHECKPOINT_SECONDS = int(os.environ.get("AUDIT_CHECKPOINT_SECONDS", "300"))

# Redis: Django's cache and the task queue's broker (gridmgmt/celery.py). Keys and the queue are named after the
# database, so two databases on one machine (a test run beside `make run`) never share them.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": DATABASES["default"]["NAME"],
    },
}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", f"gridmgmt-{DATABASES['default']['NAME']}")
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message to be delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # a long export does not hold other tasks behind it
CELERY_TASK_IGNORE_RESULT = True  # outcomes are kept in the database (jobs.ExportJob, case events)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "0") == "1"
ESCALATE_EVERY_SECONDS = float(os.environ.get("ESCALATE_EVERY_SECONDS", "60"))
# A job (export, import) whose worker has not reported progress for this long is given to another worker.
JOB_STALL_SECONDS = float(os.environ.get("JOB_STALL_SECONDS", "120"))
CELERY_BEAT_SCHEDULE = {
    "escalate-overdue-cases": {"task": "cases.tasks.escalate_overdue", "schedule": ESCALATE_EVERY_SECONDS},
    "requeue-stalled-jobs": {"task": "jobs.tasks.requeue_stalled_jobs", "schedule": JOB_STALL_SECONDS / 2},
    "deliver-notices": {
        "task": "notices.tasks.deliver_due_notices",
        "schedule": float(os.environ.get("NOTICE_DELIVER_EVERY_SECONDS", "5")),
    },
}
EXPORT_JOB_DIR = Path(os.environ.get("EXPORT_JOB_DIR", MEDIA_ROOT.parent / "export-jobs"))
# An upload to the admin import (/admin/grids/import/) of this size or more is written by the worker as a job (with
# its progress on a page of its own); a smaller one, and every dry run, within the request.
IMPORT_JOB_MIN_BYTES = int(os.environ.get("IMPORT_JOB_MIN_BYTES", str(5 * 1024 * 1024)))
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_LOCK_SECONDS = int(os.environ.get("LOGIN_LOCK_SECONDS", str(15 * 60)))
# The client's address for the per-address login lock: behind a reverse proxy, the header it sets (e.g.
# X-Forwarded-For or X-Real-IP) and how many proxies stand in front; unset, the connecting address.
TRUSTED_PROXY_HEADER = os.environ.get("TRUSTED_PROXY_HEADER", "").strip()
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "1"))
ACCESS_TOKEN_DAYS = int(os.environ.get("ACCESS_TOKEN_DAYS", "30"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mobileapi.authentication.AccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "gridmgmt.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "gridmgmt.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "gridmgmt.exceptions.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "gridmgmt API",
    "DESCRIPTION": (
        "网格化管理系统 — registry, cases and handheld API\n\n"
        "Times: every instant is written RFC 3339 at +08:00 with exactly three fractional digits "
        "(`2026-12-03T15:04:05.123+08:00`), in JSON, GeoJSON, grid packages and exports alike; dates stay "
        "`YYYY-MM-DD`. An instant sent must carry its offset (`Z` or `±hh:mm`): one without is a 400 naming "
        "the field."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # gridmgmt.converters: UUIDs in paths in either case.
    "PATH_CONVERTER_OVERRIDES": {"anycase_uuid": {"type": "string", "format": "uuid"}},
    # 3.1: a nullable reference is `oneOf [ref, null]`, which client generators read (3.0's `nullable` beside
    # `allOf` they ignore); separate request components: an upload's file is `format: binary` there.
    "OAS_VERSION": "3.1.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gridmgmt.openapi.add_error_component",
    ],
    "ENUM_NAME_OVERRIDES": {
        "UnitTypeEnum": "grids.models.UnitType",
        "HouseholdTypeEnum": "grids.models.HouseholdType",
        "CaseStateEnum": "cases.models.State",
        "CategoryKindEnum": "cases.models.CategoryKind",
        "PhotoKindEnum": "mobileapi.models.PhotoKind",
        "RegistryChangeKindEnum": "grids.models.ChangeKind",
    },
}

# Base maps (maps/README.md, "Base maps"). BASEMAP is the one a page starts with: none (no tiles: the registry's
# own outlines and labels, works offline), osm, tianditu (needs TIANDITU_KEY; without it: none) or amap (GCJ-02:
# the pages shift every overlay to match, see maps/static/maps/common.js). BASEMAP_CHOICES are the further ones a
# user may switch to on the page (layer control, remembered in the browser); the Content-Security-Policy lets
# images come from exactly the hosts of BASEMAP and BASEMAP_CHOICES. BASEMAP_URLS are the tile URL templates
# ({z}/{x}/{y}, {s} subdomain; 天地图's also {layer} = vec | cva and {key}), to point at a local tile server.
BASEMAP = os.environ.get("BASEMAP", "none").strip().lower() or "none"
BASEMAP_CHOICES = [name.lower() for name in env_list("BASEMAP_CHOICES", "")]
TIANDITU_KEY = os.environ.get("TIANDITU_KEY", "")
BASEMAP_URLS = {
    "osm": os.environ.get("BASEMAP_OSM_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
    "tianditu": os.environ.get(
        "BASEMAP_TIANDITU_URL",
        "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
    ),
    "amap": os.environ.get(
        "BASEMAP_AMAP_URL",
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
    ),
}


def _admin_tiles() -> tuple[list, list]:
    """The admin's map widgets (django-leaflet): BASEMAP_TILES (name|url|attribution, …) when set, otherwise the
    WGS84 base maps configured above (AMap is left out: the widget edits WGS84 geometry and cannot shift it)."""
    given = [tuple(item.split("|", 2)) for item in env_list("BASEMAP_TILES", "") if item.count("|") == 2]
    if given:
        return [(name, url, {"attribution": attribution, "maxZoom": 19}) for name, url, attribution in given], []
    tiles, overlays = [], []
    for name in dict.fromkeys([BASEMAP, *BASEMAP_CHOICES]):
        if name == "osm":
            tiles.append(("OpenStreetMap", BASEMAP_URLS["osm"], {"attribution": "© OpenStreetMap", "maxZoom": 19}))
        elif name == "tianditu" and TIANDITU_KEY:
            url = BASEMAP_URLS["tianditu"].replace("{key}", TIANDITU_KEY)
            options = {"attribution": "© 天地图", "maxZoom": 18, "subdomains": "01234567"}
            tiles.append(("天地图", url.replace("{layer}", "vec"), options))
            overlays.append(("天地图注记", url.replace("{layer}", "cva"), options))
    return tiles, overlays


LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (26.60, 101.56),
    "DEFAULT_ZOOM": 12,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    # With no base map configured the widgets still draw geometry, with the registry's outlines and labels
    # (maps/static/maps/admin-labels.js) for orientation.
    "TILES": _admin_tiles()[0],
    "OVERLAYS": _admin_tiles()[1],
    # The form widgets load the "forms" plugin's files (after Leaflet.draw): the registry's names go with them.
    "PLUGINS": {"forms": {"css": ["maps/labels.css"], "js": ["maps/labels.js", "maps/admin-labels.js"]}},
}

# 政务公开's case lookup (/api/v1/public/cases/{number}): lookups per client address, per window of seconds.
PUBLIC_LOOKUP_LIMIT = tuple(int(n) for n in os.environ.get("PUBLIC_LOOKUP_LIMIT", "30,300").split(","))

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "gridmgmt-demo")
OPEN311_DEMO_KEY = os.environ.get("OPEN311_DEMO_KEY", "gridmgmt-demo-open311")
# Open311 POSTs allowed per api_key and per client address within one window of seconds (docs/security.md).
OPEN311_POST_LIMITS = tuple(int(n) for n in os.environ.get("OPEN311_POST_LIMITS", "60,20,60").split(","))
# Further demo loaders that `seed_demo` runs after the registry, each called as
# step(scale=..., seed=..., stdout=...) with dotted paths to functions.
DEMO_SEED_STEPS: list[str] = ["mobileapi.open311.services.seed_demo_key", "cases.demo.seed_cases"]

# Notices (notices/README.md). The header polls the unread summary every NOTICE_POLL_SECONDS (304 while nothing
# changed). Outgoing channels: NOTICE_CHANNELS lists the channels notices go out on (sms, wecom); each logs the notice
# unless NOTICE_<CHANNEL>_URL names a webhook, which gets the notice as JSON signed with HMAC-SHA256 under
# NOTICE_WEBHOOK_KEY, tried up to NOTICE_WEBHOOK_TRIES times, waiting NOTICE_WEBHOOK_BACKOFF_SECONDS × 2^(n−1)
# after the n-th failure. `manage.py deliver_notices` sends them.
NOTICE_POLL_SECONDS = float(os.environ.get("NOTICE_POLL_SECONDS", "20"))
NOTICE_CHANNELS = {
    name: {"url": os.environ.get(f"NOTICE_{name.upper()}_URL", "").strip()}
    for name in env_list("NOTICE_CHANNELS", "sms,wecom")
}
NOTICE_WEBHOOK_KEY = os.environ.get("NOTICE_WEBHOOK_KEY", "")
if any(config["url"] for config in NOTICE_CHANNELS.values()) and not NOTICE_WEBHOOK_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("A notice webhook URL is set without NOTICE_WEBHOOK_KEY to sign its deliveries.")
NOTICE_WEBHOOK_TIMEOUT = float(os.environ.get("NOTICE_WEBHOOK_TIMEOUT", "5"))
NOTICE_WEBHOOK_TRIES = int(os.environ.get("NOTICE_WEBHOOK_TRIES", "6"))
NOTICE_WEBHOOK_BACKOFF_SECONDS = float(os.environ.get("NOTICE_WEBHOOK_BACKOFF_SECONDS", "30"))
NOTICE_DELIVERY_LEASE_SECONDS = int(os.environ.get("NOTICE_DELIVERY_LEASE_SECONDS", "300"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
