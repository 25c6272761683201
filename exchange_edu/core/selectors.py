"""Reads of the site core."""

import dataclasses

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Heartbeat
from .services import BEAT


@dataclasses.dataclass(frozen=True)
class HealthStatus:
    status: str  # "ok" | "degraded"
    database: str
    broker: str
    last_beat_age_s: float | None
    reasons: tuple[str, ...]
    running_sandboxes: int = 0
    max_tick_lag_s: float = 0.0


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the database is down for us
        return f"database: {exc.__class__.__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    from exchange_edu.celery import app

    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            _ = conn.default_channel  # opens the channel: the real round trip for Redis
    except Exception as exc:
        return f"broker: {exc.__class__.__name__}: {exc}"
    return None


def _beat_age_s() -> float | None:
    beat = Heartbeat.objects.filter(name=BEAT).only("last_seen").first()
    if beat is None:
        return None
    return round((timezone.now() - beat.last_seen).total_seconds(), 3)


def health_status() -> HealthStatus:
    """Database, broker and beat, each with the reason when it is not ok."""
    reasons: list[str] = []
    db_problem = _check_database()
    broker_problem = _check_broker()
    age = None if db_problem else _beat_age_s()
    for problem in (db_problem, broker_problem):
        if problem:
            reasons.append(problem)
    if not db_problem:
        if age is None:
            reasons.append("beat: no heartbeat yet (are the Celery worker and beat running?)")
        elif age > settings.BEAT_STALE_AFTER_S:
            reasons.append(
                f"beat: last heartbeat {age:.0f} s ago, over {settings.BEAT_STALE_AFTER_S} s"
            )
    ticks = None
    if not db_problem:
        from exchange_edu.sandbox.selectors import tick_lag_summary

        ticks = tick_lag_summary()
    return HealthStatus(
        running_sandboxes=ticks.running_sandboxes if ticks else 0,
        max_tick_lag_s=ticks.max_lag_s if ticks else 0.0,
        status="degraded" if reasons else "ok",
        database="down" if db_problem else "ok",
        broker="down" if broker_problem else "ok",
        last_beat_age_s=age,
        reasons=tuple(reasons),
    )


def api_tokens_of(*, user) -> list:
    from .models import APIToken

    return list(APIToken.objects.filter(user=user).order_by("revoked_at", "-created_at"))
