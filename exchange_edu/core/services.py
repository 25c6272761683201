"""Writes of the site core. Each is one transaction."""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from .models import APIToken, Heartbeat

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


TOKEN_PREFIX = "exedu_"


class TokenError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple["APIToken", str]:
    """Create a token for `user`; returns the row and the raw token (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise TokenError("name", "give the token a name, e.g. the script that will use it")
    if len(name) > 80:
        raise TokenError("name", "must be at most 80 characters")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = APIToken.objects.create(user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6],
                                        key_hash=hash_token(raw))
    return token, raw


def api_token_revoke(*, user, token_id: int) -> APIToken:
    """Revoke one of `user`'s tokens (another user's id is not found)."""
    with transaction.atomic():
        token = APIToken.objects.filter(user=user, pk=token_id).first()
        if token is None:
            raise TokenError("token_id", "no such token")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str):
    """The active user owning `raw`, or None; records when the token was last used."""
    token = (APIToken.objects.select_related("user").filter(key_hash=hash_token(raw), revoked_at__isnull=True)
             .first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)  # at most once a minute
    return token.user
