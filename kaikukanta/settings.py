"""Kaikukanta settings.

Everything that differs between a laptop, CI and production comes from the
environment (see the table in README.md); there is deliberately one settings
module so that what runs in CI is what runs in production.
"""

import urllib.parse
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# No fallback without DEBUG: a production deployment without its own key must not start.
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production") if DEBUG else env("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The absolute address used in emails (invitations are sent from background tasks,
# which have no request to build a URL from).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_filters",
    "accounts",
    "cards",
    "omakaiku",
    "venues",
    "stats",
    # After accounts, so that accounts' own commands are the ones manage.py runs: db_worker
    # (which waits out a database outage), clean_old_history and clean_duplicate_history (which
    # refuse: the register's history is kept).
    "django_tasks_db",
    "simple_history",
]

MIDDLEWARE = [
    # Outermost: a HEAD request's response, whichever layer made it, leaves without its body.
    "kaikukanta.head.HeadResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Answers /healthz and /readyz before anything that reads a session or sets a cookie.
    "kaikukanta.health.HealthProbeMiddleware",
    # Above whitenoise, so that static files get the Permissions-Policy header too.
    "accounts.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Keeps a session in use alive with a write about once a minute, not on every request.
    "accounts.sessions.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After allauth's and the messages middleware: may redirect to two-step verification setup.
    "accounts.middleware.AccountRulesMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: everything above reads the primary; only statistics views may read the replica.
    "kaikukanta.db_router.ReplicaReadsMiddleware",
]

ROOT_URLCONF = "kaikukanta.urls"
WSGI_APPLICATION = "kaikukanta.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "accounts.context_processors.session_timeout",
            ],
            # `short_date` and `short_datetime` in every template (kaikukanta/template_filters.py);
            # Django's `{% url %}` replaced by one that works each URL's shape out once
            # (kaikukanta/template_url.py).
            "builtins": ["kaikukanta.template_filters", "kaikukanta.template_url"],
        },
    },
]

# Django's widget templates, but each widget's attributes written by Python (kaikukanta/form_renderer.py).
FORM_RENDERER = "kaikukanta.form_renderer.FormRenderer"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Each request is one transaction: a view that fails half-way leaves nothing behind.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the write lock instead of failing at once when two requests write together.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A server that takes the connection but never answers (frozen, mid-failover, a stuck pooler)
# would hold each sync worker until gunicorn kills it, with a 500: give up after a few seconds
# and answer 503 instead (kaikukanta/health.py). `?connect_timeout=` in the URL wins.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
# A statement a connection has run five times is prepared there: PostgreSQL then stops planning
# it anew on every request (planning the card page's join took longer than running it). Off
# (`false`) behind a pooler that cannot keep prepared statements; see docs/deploy.md, PgBouncer.
DATABASE_PREPARED_STATEMENTS = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
)
_prepared_statements = {"server_side_binding": True, "prepare_threshold": 5} if DATABASE_PREPARED_STATEMENTS else {}
DATABASES["default"].setdefault("OPTIONS", {}).update(_prepared_statements)
if env("DATABASE_REPLICA_URL", default=""):
    # Statistics read from a streaming replica (kaikukanta/db_router.py); under the test runner
    # the alias mirrors the test database, so tests need no second server.
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL") | {
        "CONN_MAX_AGE": DATABASES["default"].get("CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": DATABASES["default"].get("CONN_HEALTH_CHECKS", False),
        "TEST": {"MIRROR": "default"},
    }
    DATABASES["replica"].setdefault("OPTIONS", {}).update(_prepared_statements)
    DATABASES["replica"]["OPTIONS"].setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    DATABASE_ROUTERS = ["kaikukanta.db_router.ReplicaRouter"]
# After writing, a session reads from the primary this long (longer than the replica lags).
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Every use of a query compiled once (accounts/compiled.py) is checked against Django's own SQL.
COMPILED_QUERIES_CHECK = env.bool("COMPILED_QUERIES_CHECK", default=DEBUG)

# A shared cache, so allauth's rate limits hold across gunicorn workers.
CACHES = {
    "default": env.cache("CACHE_URL", default="dbcache://kaikukanta_cache"),
    # Computed statistics tables live apart from the rate-limit counters: a public page must
    # never push those out of a full cache.
    "stats": env.cache("STATS_CACHE_URL", default="dbcache://kaikukanta_stats_cache"),
    # Page fragments that depend on nothing but the release, the language and what their key
    # names (the staff navigation per set of roles, the card list's filter bar per choice): kept
    # in each process, as they change only with a release. OmaKaiku's offer filter, whose list
    # of municipalities follows the offers, is kept for a minute only.
    "template_fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
}
for _cache in CACHES.values():
    if _cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # As for the database: a Redis that never answers makes a 503 in two seconds, not a
        # worker held until gunicorn kills it. (`?socket_timeout=` in the URL wins.)
        _cache.setdefault("OPTIONS", {}).setdefault("socket_connect_timeout", 2)
        _cache["OPTIONS"].setdefault("socket_timeout", 2)
if CACHES["stats"]["BACKEND"].endswith("DatabaseCache"):
    # Room for every table of every scope and period people look at between two changes.
    CACHES["stats"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 5000)
# Django's own limit of 300 entries would make a full cache delete a third of its keys in key
# order, allauth's rate-limit counters first: a burst of other entries would lift every login
# lockout. Counters are small and expire by themselves; a flood large enough to reach this
# needs that many requests within the limits' windows. `manage.py cache_prune` (hourly) deletes
# the expired entries, which Django leaves until the table is full. (Redis has no such cull.)
if CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] in ("DatabaseCache", "LocMemCache", "FileBasedCache"):
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)


def _mailer(url: str) -> dict:
    """Turn EMAIL_URL (smtp+tls://user:pass@host:587, consolemail://, ...) into a MAILERS entry."""
    config = environ.Env.email_url_config(url)
    if config["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
        # Readable development mail: UTF-8 text, links on one line (no quoted-printable).
        config["EMAIL_BACKEND"] = "accounts.mail.ConsoleEmailBackend"
    options = {}
    if config["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
        options = {
            "host": config.get("EMAIL_HOST") or "localhost",
            "port": config.get("EMAIL_PORT") or 25,
            "username": config.get("EMAIL_HOST_USER") or "",
            "password": config.get("EMAIL_HOST_PASSWORD") or "",
            "use_tls": bool(config.get("EMAIL_USE_TLS")),
            "use_ssl": bool(config.get("EMAIL_USE_SSL")),
            "timeout": 20,
        }
    elif config["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
        # The path as written: django-environ makes filemail:///tmp/mail the relative "tmp/mail".
        parts = urllib.parse.urlsplit(url)
        options = {"file_path": parts.netloc + parts.path}
    return {"BACKEND": config["EMAIL_BACKEND"], "OPTIONS": options}


# Development prints mail on the console; production sends through a local MTA unless told otherwise.
MAILERS = {"default": _mailer(env("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"))}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Kaikukanta <noreply@kaikukortti.fi>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The organisation's contact for questions and accessibility feedback, shown on the help page and the
# accessibility statement (the Act on the Provision of Digital Services 306/2019 requires one there).
SERVICE_CONTACT_EMAIL = env("SERVICE_CONTACT_EMAIL", default="kaikukortti@example.fi")

TASKS = {
    "default": {
        "BACKEND": env(
            "TASKS_BACKEND",
            default="django.tasks.backends.immediate.ImmediateBackend",
        )
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Invitation and reset links: Django's default of 72 hours, kept (not shortened) because an
# invitation often waits for the holder's next visit to a computer.
PASSWORD_RESET_TIMEOUT = int(timedelta(hours=env.int("INVITATION_TIMEOUT_HOURS", default=72)).total_seconds())

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# allauth: email is the login, nobody signs up by themselves (staff are invited by a
# coordinator, holders by their distributor).
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = "accounts.tokens.InvitationTokenGenerator"
# A reset link on Kaikukanta's page opens for staff logins only (OmaKaiku has its own page).
ACCOUNT_FORMS = {
    "login": "accounts.forms.KaikuLoginForm",
    "reset_password": "accounts.forms.KaikuResetPasswordForm",
    "user_token": "accounts.forms.StaffUserTokenForm",
    "reset_password_from_key": "accounts.forms.StaffSetPasswordForm",
}
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
# allauth's default lets anyone mail a person five reset links a minute (300 an hour) from our
# address: at most 3 in 10 minutes to one address; still 20 a minute from one IP. (No daily
# limit: a counter per typed address kept for a day would fill the cache the lockouts live in.)
ACCOUNT_RATE_LIMITS = {"reset_password": "20/m/ip,3/10m/key"}
# Never mail an address that has no account (it may be somebody else's).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_NOTIFICATIONS = False
# The email is the login: one address per account, changed only by whoever manages it.
ACCOUNT_MAX_EMAIL_ADDRESSES = 1
# How many reverse proxies in front of gunicorn add X-Forwarded-For / X-Forwarded-Proto.
# With 0 (no proxy) neither header is believed: a client could send them itself.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
if TRUSTED_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
MFA_ADAPTER = "accounts.adapter.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_FORMS = {
    "authenticate": "accounts.mfa_forms.CodeAuthenticateForm",
    "reauthenticate": "accounts.mfa_forms.CodeReauthenticateForm",
    "activate_totp": "accounts.mfa_forms.CodeActivateTOTPForm",
}
# One 30-second step either way, as RFC 6238 advises for clocks that drift and for a code typed
# just as it changes; a code still works only once.
MFA_TOTP_TOLERANCE = 1
# The name the authenticator app shows next to the code.
MFA_TOTP_ISSUER = "Kaikukanta"

# Django's database sessions, read more cheaply; junk cookies are no session (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
# Sessions end after 30 minutes without activity and when the browser closes
# (accounts.sessions refreshes a session in use; saving it on every request would be a write
# on every page view).
SESSION_COOKIE_AGE = 30 * 60
# Signed-in pages warn this long before an idle session ends, and offer to stay signed in.
SESSION_WARNING_SECONDS = 2 * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "fi"
# Each language by its own name, on every page and in every choice of a language (the switcher,
# the language of a holder's or a staff person's mail): the name a reader of it looks for.
LANGUAGES = [("fi", "Suomi"), ("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["kaikukanta.formats"]  # 1.3.2026 in every language
TIME_ZONE = "Europe/Helsinki"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# Only our own files: no inline scripts, no event-handler attributes, no CDN.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# The language choice too, as every other cookie (no script reads it).
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A form refused for its security token gets Kaikukanta's own page (Django's spoke of DEBUG).
CSRF_FAILURE_VIEW = "kaikukanta.health.csrf_failure"
# Load balancers probe over plain HTTP; an HTTPS redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One-time keys in invitation and reset links never reach a log (kaikukanta/log_filters.py).
    "filters": {"redact_secret_paths": {"()": "kaikukanta.log_filters.RedactSecretPathsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secret_paths"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's default config gives "django" its own console handler; one is enough.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["redact_secret_paths"]},
        "django.server": {"filters": ["redact_secret_paths"]},
        # python-barcode announces at import that it draws no images without Pillow; we draw our own SVG.
        "pyBarcode": {"level": "WARNING"},
        # Security events (accounts/security_log.py), one JSON line each: INFO whatever LOG_LEVEL says;
        # they reach the console through root's handler (propagating keeps them visible to tests).
        "kaikukanta.security": {"level": "INFO"},
    },
}

# Where holders land and set their password: OmaKaiku's pages, named here so that the
# lower apps (accounts, cards) never import the portal app.
HOLDER_HOME_URL = "omakaiku:home"
VENUE_HOME_URL = "venues:desk"
HOLDER_LOGIN_URL = "omakaiku:login"
HOLDER_SET_PASSWORD_URL = "omakaiku:activate"
HOLDER_INVITATION_TEMPLATE = "omakaiku/email/invitation"
HOLDER_PASSWORD_RESET_TEMPLATE = "omakaiku/email/password_reset"

# Business settings.
CARD_VALIDITY_MONTHS = 12
