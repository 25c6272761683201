"""The Celery app and its beat schedule, kept in code (one process runs beat; see README)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_edu.settings")

app = Celery("exchange_edu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Proves beat reaches a worker; /api/v1/health reports its age.
    "heartbeat": {"task": "exchange_edu.core.tasks.heartbeat", "schedule": 1.0},
    # The SQLAlchemy transport keeps delivered messages (visible = 0); drop old ones.
    "broker-purge": {"task": "exchange_edu.core.tasks.broker_purge", "schedule": 300.0},
    # Advances every running sandbox whose next tick is due (exactly once per tick_seq).
    "sandbox-tick": {"task": "exchange_edu.sandbox.tasks.tick_due_sandboxes", "schedule": 1.0},
}


def _configure_sqlalchemy_transport() -> None:
    # Passing polling_interval through broker_transport_options would forward it to
    # SQLAlchemy's create_engine() and crash, so it is set on the transport class instead.
    from django.conf import settings
    from kombu.transport import sqlalchemy

    sqlalchemy.Transport.polling_interval = settings.BROKER_POLLING_INTERVAL_S


_configure_sqlalchemy_transport()
