"""GET /api/v1/health: database, broker and beat, with the reason when one is down."""

import datetime as dt

import pytest
from django.utils import timezone

from exchange_edu.core import services

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_health_is_ok_when_beat_reached_a_worker_recently(client):
    services.heartbeat_record(now=timezone.now() - dt.timedelta(seconds=2))

    response = client.get("/api/v1/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert 2 <= body["beat"]["last_beat_age_s"] < 10
    assert body["reasons"] == []


def test_health_is_degraded_before_any_heartbeat(client):
    body = client.get("/api/v1/health").json()

    assert body["status"] == "degraded"
    assert body["beat"]["last_beat_age_s"] is None
    assert any(r.startswith("beat:") for r in body["reasons"])


def test_health_is_degraded_when_beat_is_stale(client):
    services.heartbeat_record(now=timezone.now() - dt.timedelta(seconds=45))

    response = client.get("/api/v1/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["beat"]["last_beat_age_s"] >= 45
    assert "over 10 s" in body["reasons"][0]


def test_health_names_the_broker_when_it_is_down(client, monkeypatch):
    services.heartbeat_record()
    from exchange_edu.celery import app

    # A Redis URL on a port nothing listens on: the broker check must fail, not hang.
    dead = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(app, "connection_for_read", lambda: app.connection_for_write(dead))

    body = client.get("/api/v1/health").json()

    assert body["status"] == "degraded"
    assert body["broker"] == "down"
    assert body["database"] == "ok"
    assert body["reasons"][0].startswith("broker:")


def test_heartbeat_task_records_the_beat():
    from exchange_edu.core.models import Heartbeat
    from exchange_edu.core.tasks import heartbeat

    heartbeat.apply()

    beat = Heartbeat.objects.get(name="beat")
    assert (timezone.now() - beat.last_seen).total_seconds() < 5
