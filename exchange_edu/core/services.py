"""Writes of the site core. Each is one transaction."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .models import Heartbeat

BEAT = "beat"


def heartbeat_record(*, name: str = BEAT, now: dt.datetime | None = None) -> Heartbeat:
    """Record that the periodic signal `name` reached a worker."""
    with transaction.atomic():
        beat, _ = Heartbeat.objects.update_or_create(
            name=name, defaults={"last_seen": now or timezone.now()}
        )
    return beat


def broker_purge_delivered(*, older_than_s: int) -> int:
    """Delete messages the SQLAlchemy transport has delivered (it keeps them, visible = 0).

    Returns the number of rows removed; 0 for any other broker.
    """
    from django.conf import settings
    from sqlalchemy import create_engine, text

    url = settings.CELERY_BROKER_URL
    if not url.startswith("sqla+"):
        return 0
    engine = create_engine(url.removeprefix("sqla+"))
    # kombu stamps rows with naive local time (datetime.now), so compare in the same terms.
    cutoff = dt.datetime.now() - dt.timedelta(seconds=older_than_s)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                text("DELETE FROM kombu_message WHERE visible = 0 AND timestamp < :cutoff"),
                {"cutoff": cutoff},
            )
            return result.rowcount or 0
    finally:
        engine.dispose()
