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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
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

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "gridmgmt_cache"},
}
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
    "DESCRIPTION": "网格化管理系统 — registry, cases and handheld API",
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

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (26.60, 101.56),
    "DEFAULT_ZOOM": 12,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    # With no base map configured the widgets still draw geometry on a blank map.
    "TILES": [
        (name, url, {"attribution": attribution, "maxZoom": 19})
        for name, url, attribution in [
            tuple(item.split("|", 2)) for item in env_list("BASEMAP_TILES", "") if item.count("|") == 2
        ]
    ],
}

# Base map of the /map/, /dashboard/ and /public/ pages: none (blank background, works offline), osm,
# tianditu (needs TIANDITU_KEY) or amap (GCJ-02: the pages shift every overlay to match,
# see maps/static/maps/coords.js).
BASEMAP = os.environ.get("BASEMAP", "none").strip().lower() or "none"
TIANDITU_KEY = os.environ.get("TIANDITU_KEY", "")

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "gridmgmt-demo")
OPEN311_DEMO_KEY = os.environ.get("OPEN311_DEMO_KEY", "gridmgmt-demo-open311")
# Open311 POSTs allowed per api_key and per client address within one window of seconds (docs/security.md).
OPEN311_POST_LIMITS = tuple(int(n) for n in os.environ.get("OPEN311_POST_LIMITS", "60,20,60").split(","))
# Further demo loaders that `seed_demo` runs after the registry, each called as
# step(scale=..., seed=..., stdout=...) with dotted paths to functions.
DEMO_SEED_STEPS: list[str] = ["mobileapi.open311.services.seed_demo_key", "cases.demo.seed_cases"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
