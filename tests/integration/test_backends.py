"""The integration set: runs on SQLite + the no-server broker in the first pass of `make test`,
then again on PostgreSQL + Redis started by scripts/test_services.py (INTEGRATION_SERVICES=1).
"""

import os
import time

import pytest
from django.conf import settings
from django.db import connection

from exchange_edu.core.models import Heartbeat

pytestmark = [pytest.mark.integration]
ON_SERVICES = os.environ.get("INTEGRATION_SERVICES") == "1"


def test_the_run_uses_the_backends_it_was_asked_for(db):
    broker = settings.CELERY_BROKER_URL
    if ON_SERVICES:
        assert connection.vendor == "postgresql"
        assert broker.startswith("redis://")
    else:
        assert connection.vendor == "sqlite"
        assert broker.startswith("sqla+sqlite:///")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if ON_SERVICES else "SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    print(f"\n[integration] database={connection.vendor} ({version.split(',')[0]}); broker={broker}")


@pytest.fixture
def celery_worker_thread(transactional_db):
    from celery.contrib.testing.worker import start_worker

    from exchange_edu.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


def test_a_real_worker_takes_the_heartbeat_through_the_broker(celery_worker_thread, client):
    from exchange_edu.core.tasks import heartbeat

    heartbeat.delay()

    deadline = time.monotonic() + 30
    while not Heartbeat.objects.filter(name="beat").exists():
        assert time.monotonic() < deadline, "the worker never ran the heartbeat task"
        time.sleep(0.1)
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok", body
    assert body["broker"] == "ok"
    assert body["beat"]["last_beat_age_s"] < 10


def test_delivered_messages_are_purged_from_the_sql_broker(celery_worker_thread):
    from exchange_edu.core import services
    from exchange_edu.core.tasks import heartbeat

    heartbeat.delay()
    deadline = time.monotonic() + 30
    while not Heartbeat.objects.filter(name="beat").exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.1)  # kombu stamps at whole-second precision on SQLite

    purged = services.broker_purge_delivered(older_than_s=0)

    if settings.CELERY_BROKER_URL.startswith("sqla+"):
        assert purged >= 1
    else:
        assert purged == 0  # Redis deletes delivered messages itself
