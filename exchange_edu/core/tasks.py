"""Celery tasks of the site core: thin, each calls one service."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(ignore_result=True)
def heartbeat() -> None:
    services.heartbeat_record()


@shared_task(ignore_result=True)
def broker_purge() -> int:
    return services.broker_purge_delivered(older_than_s=settings.BROKER_PURGE_AFTER_S)
