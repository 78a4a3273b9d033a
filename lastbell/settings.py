"""Settings for Last Bell: one file, read from the environment.

Embedded default: SQLite in ./var, the in-memory channel layer, and tasks in the
database. Set DATABASE_URL and REDIS_URL to scale out.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DATA_DIR = Path(env_str("LASTBELL_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)
DEBUG = env_bool("DEBUG", False)


def _embedded_secret_key() -> str:
    """A random key kept beside the embedded database, so `make run` needs no setup and no
    two installations share a key. Production sets SECRET_KEY."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or _embedded_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = env_str("SITE_NAME", "Last Bell")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_htmx",
    "channels",
    "lastbell.ops",  # before django_tasks_db: its db_worker command replaces theirs
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "lastbell.accounts",
    "lastbell.schools",
    "lastbell.people",
    "lastbell.plans",
    "lastbell.attendance",
    "lastbell.truancy",
    "lastbell.dismissal",
    "lastbell.audit",
    "lastbell.messaging",
    "lastbell.family",
    "lastbell.api",
    "ninja",
    "lastbell.demo",
    "lastbell.imports",
    "lastbell.feeds",
    "lastbell.live",
    "lastbell.privacy",
]

MIDDLEWARE = [
    "lastbell.ops.logs.RequestIdMiddleware",  # first: its id is on every line logged after it
    "lastbell.ops.health.HealthCheckMiddleware",  # before host checks, HTTPS, sessions
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Idle sign-out and the two-step sign-in (accounts/signin.py), before any school's page.
    "lastbell.accounts.signin.SignInMiddleware",
    "lastbell.plans.views.TrackerOffMiddleware",
    # Turns a locked-out sign-in into its page (accounts/views.py locked_out).
    "axes.middleware.AxesMiddleware",
]

FORM_RENDERER = "lastbell.forms.FormRenderer"
ROOT_URLCONF = "lastbell.urls"
ASGI_APPLICATION = "lastbell.asgi.application"
WSGI_APPLICATION = "lastbell.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "lastbell" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

if env_str("DATABASE_URL"):
    # A pool per process, and no connection kept by a request: under ASGI each request's sync
    # code runs in a thread of its own, so a connection kept for the next request of the same
    # thread is never reused, and stays open until collected ("too many clients" under load).
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL"), conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        from psycopg_pool import ConnectionPool

        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("LASTBELL_DB_POOL_SIZE", 10),
            "timeout": 20,  # seconds a request waits for a free connection before it fails
            # A connection is tried before it is handed out: after the server restarted (or a
            # proxy dropped idle connections) the pool's are dead, and the request would fail
            # with "terminating connection". One round trip, and a dead one is replaced.
            "check": ConnectionPool.check_connection,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "lastbell.sqlite_backend",  # django.db.backends.sqlite3, pooled
            "NAME": DATA_DIR / "lastbell.sqlite3",
            "OPTIONS": {
                # WAL lets the web server and the worker read while one writes;
                # IMMEDIATE takes the write lock up front so writers queue, not fail.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py fails a command, not waits, when every connection is in use: room
                # for the streams that open or close together (live/consumers.py).
                "hosts": [{"address": REDIS_URL, "max_connections": 500}],
                # A stream that died without leaving its group is dropped after this; live
                # ones renew their membership with each heartbeat.
                "group_expiry": 120,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Uploaded import files and their every-row reports are deleted this many days after the run
# finished (the runs and their summaries stay).
LASTBELL_IMPORT_FILES_DAYS = env_int("LASTBELL_IMPORT_FILES_DAYS", 14)

# School days whose chain of custody a process keeps read (dismissal/chain.py), and three
# boards a day (plans/board.py): what a process's memory grows with, one school's day after
# another, up to this many (bench/README.md, the soak). Today's are the ones asked for.
LASTBELL_CACHED_DAYS = env_int("LASTBELL_CACHED_DAYS", 16)
# And none of these (nor the shared live regions and folded states) that nobody has asked for
# in this many minutes (lastbell/recent.py): a dismissal's are asked for every second while it
# lasts, and a school's finished day is not asked for again.
LASTBELL_CACHE_IDLE_MINUTES = env_int("LASTBELL_CACHE_IDLE_MINUTES", 10)

# How a server process shares its interpreter at dismissal (lastbell/turns.py; the figures
# behind each default are in bench/README.md, "Dismissal under load"). Page loads and pushed
# live regions it works on at once; posts never wait. More lets a slow page hold fewer others
# up; fewer gives posts more room.
LASTBELL_READS_AT_ONCE = env_int("LASTBELL_READS_AT_ONCE", 1)
# Whether no page load or pushed region starts while a post is being answered.
LASTBELL_POSTS_FIRST = env_bool("LASTBELL_POSTS_FIRST", True)
# How often (ms) the interpreter's lock passes between threads (Python's own is 5 ms): a
# thread gives it up at each SQL statement and waits up to this long to have it back.
LASTBELL_SWITCH_INTERVAL_MS = env_float("LASTBELL_SWITCH_INTERVAL_MS", 1.0)
# A full collection of Python's cyclic garbage stops the whole process (about 150 ms at
# dismissal on a small VM): one per this many collections of the middle generation (Python's
# own is 10). The objects made at start are left out of them for good (gc.freeze).
LASTBELL_GC_FULL_EVERY = env_int("LASTBELL_GC_FULL_EVERY", 100)

TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "schools:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Guardians sign in by links (django-sesame); a link's purpose and lifetime are checked by
# lastbell/family/links.py, this is only the longest any link lives.
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out sign-in is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "sesame.backends.ModelBackend",
]
SESAME_MAX_AGE = 14 * 24 * 3600
# The address links in messages start with: the one people reach the app at.
LASTBELL_BASE_URL = env_str("LASTBELL_BASE_URL", "http://127.0.0.1:8000")
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if env_bool("LASTBELL_TESTING"):
    # Tests create many accounts; Argon2's deliberate slowness would dominate the suite.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
# A staff session unused this long ends (accounts/signin.py): requests, and an open dismissal
# screen's live stream while the school's dismissal is on, count as use.
LASTBELL_STAFF_IDLE_MINUTES = env_int("LASTBELL_STAFF_IDLE_MINUTES", 60)

# Failed sign-ins (django-axes): after this many for one email from one address, that pair
# is refused for the cool-off, which starts again at each try meanwhile. An admin lifts it
# with `lastbell axes_reset_username EMAIL` (docs/sign-in-security.md).
AXES_FAILURE_LIMIT = env_int("LASTBELL_SIGNIN_FAILURES", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LASTBELL_SIGNIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in form's email field (not USERNAME_FIELD)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "lastbell.accounts.views.locked_out"
AXES_VERBOSE = False
# Two-step sign-in codes name the site in the authenticator app.
OTP_TOTP_ISSUER = SITE_NAME

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "lastbell" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "America/Los_Angeles")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The image (Dockerfile) collects static files at build, outside the DATA_DIR volume, so an
# upgraded image serves its own and not the volume's old copies.
STATIC_ROOT = Path(env_str("LASTBELL_STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "lastbell" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG or env_bool("LASTBELL_TESTING"):
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

# A strict policy from the first page: no inline script or style anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and env_bool("HTTPS", False):
    SECURE_SSL_REDIRECT = True  # /healthz and /readyz answer before it (ops/health.py)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Lets the domain be submitted to browsers' HTTPS-only list (a step of its own); a district
    # whose subdomains are not all HTTPS turns it off (`check --deploy` then says so).
    SECURE_HSTS_PRELOAD = env_bool("LASTBELL_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Django 6.1's MAILERS; smtp unless EMAIL_BACKEND names another (e.g. console in development).
MAILERS = {
    "default": {
        "BACKEND": env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
        "OPTIONS": (
            {
                "host": env_str("EMAIL_HOST", "localhost"),
                "port": env_int("EMAIL_PORT", 25),
                "username": env_str("EMAIL_HOST_USER") or None,
                "password": env_str("EMAIL_HOST_PASSWORD") or None,
                "use_tls": env_bool("EMAIL_USE_TLS"),
                "timeout": 10,
            }
            if env_str("EMAIL_BACKEND", "smtp").endswith("smtp.EmailBackend")
            or not env_str("EMAIL_BACKEND")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Last Bell <lastbell@localhost>")

# Text messages: a Twilio-style gateway when LASTBELL_SMS_URL is set, else printed (development).
LASTBELL_SMS_URL = env_str("LASTBELL_SMS_URL")
LASTBELL_SMS_ACCOUNT_SID = env_str("LASTBELL_SMS_ACCOUNT_SID")
LASTBELL_SMS_AUTH_TOKEN = env_str("LASTBELL_SMS_AUTH_TOKEN")
LASTBELL_SMS_FROM = env_str("LASTBELL_SMS_FROM")
LASTBELL_SMS_TIMEOUT = env_int("LASTBELL_SMS_TIMEOUT", 10)
LASTBELL_SMS_BACKEND = env_str(
    "LASTBELL_SMS_BACKEND",
    "lastbell.messaging.backends."
    + ("HttpSmsBackend" if LASTBELL_SMS_URL else "ConsoleSmsBackend"),
)
# Scheduled bus feeds (lastbell/feeds): drop folders must be inside this folder, and feed
# addresses are trusted with the system's certificate authorities plus this PEM bundle.
LASTBELL_FEED_FOLDER_ROOT = env_str("LASTBELL_FEED_FOLDER_ROOT", str(DATA_DIR / "feeds"))
LASTBELL_FEED_CA_BUNDLE = env_str("LASTBELL_FEED_CA_BUNDLE")
# Email and texts are retried 1, 2, 4 … minutes apart (at most an hour), then given up.
LASTBELL_MESSAGE_MAX_ATTEMPTS = env_int("LASTBELL_MESSAGE_MAX_ATTEMPTS", 8)

# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id, and a
# request's method, path, status and duration); otherwise plain lines (lastbell/ops/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lastbell.ops.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "lastbell.ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_id"],
        },
        "nowhere": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs a line per page at INFO: 500 lines for a school's hang tags.
        "weasyprint.progress": {"level": "WARNING"},
        # django-axes writes three lines per successful sign-in at INFO; lockouts are WARNING.
        "axes": {"level": "WARNING"},
        # uvicorn's own lines in the same format; its access log is off, as it writes query
        # strings (sign-in tokens): lastbell.request logs each request without them.
        "uvicorn": {"handlers": ["console"], "propagate": False},
        "uvicorn.access": {"handlers": ["nowhere"], "propagate": False},
    },
}
