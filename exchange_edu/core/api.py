"""Site-wide API routes: health."""

from ninja import Router, Schema, Status

from . import selectors

router = Router(tags=["health"])


class BeatOut(Schema):
    last_beat_age_s: float | None


class HealthOut(Schema):
    status: str
    database: str
    broker: str
    beat: BeatOut
    reasons: list[str]


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None)
def health(request):
    """Database, broker and Celery beat; 503 with the reasons when one part is down."""
    health = selectors.health_status()
    body = {
        "status": health.status,
        "database": health.database,
        "broker": health.broker,
        "beat": {"last_beat_age_s": health.last_beat_age_s},
        "reasons": list(health.reasons),
    }
    return Status(200 if health.status == "ok" else 503, body)
