"""Settings for the test suite.

By default tests ignore any exported DATABASE_URL / CELERY_BROKER_URL (a test worker that
picks up a real broker can hang forever) and use SQLite plus the default no-server broker on a
throw-away file. `scripts/test_services.py` sets INTEGRATION_SERVICES=1 together with the URLs
of the PostgreSQL and Redis it started, and then those are used.
"""

import os
import tempfile

_var = tempfile.mkdtemp(prefix="exchange-edu-test-")
os.environ["VAR_DIR"] = _var
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ["DEBUG"] = "0"
os.environ["SECURE_SSL_REDIRECT"] = "0"
# Hashed static names 404 under live_server; plain storage keeps htmx loading in browser tests.
os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
if os.environ.get("INTEGRATION_SERVICES") != "1":
    os.environ.pop("DATABASE_URL", None)
    os.environ["CELERY_BROKER_URL"] = f"sqla+sqlite:///{_var}/celery-broker.sqlite3"

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns when missing)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared-cache memory database: a worker thread writing while the test
    # reads gets table locks there ("database table is locked"), never in WAL mode on a file,
    # which is what the site runs on.
    DATABASES["default"]["TEST"] = {"NAME": f"{_var}/test.sqlite3"}  # noqa: F405
