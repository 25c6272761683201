"""Site-wide API routes: health."""

from ninja import Router, Schema, Status

from . import selectors
from .auth import api_auth
from .schemas import ErrorOut

router = Router(tags=["health"])


class BeatOut(Schema):
    last_beat_age_s: float | None


class TicksOut(Schema):
    running_sandboxes: int
    max_lag_s: float


class HealthOut(Schema):
    status: str
    database: str
    broker: str
    beat: BeatOut
    ticks: TicksOut
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
        "ticks": {"running_sandboxes": health.running_sandboxes, "max_lag_s": health.max_tick_lag_s},
        "reasons": list(health.reasons),
    }
    return Status(200 if health.status == "ok" else 503, body)


class MeOut(Schema):
    username: str
    is_staff: bool


@router.get("/me", response={200: MeOut, 401: ErrorOut}, auth=api_auth, tags=["account"])
def me(request):
    """Who the session or bearer token belongs to: a quick check for a new script."""
    return {"username": request.auth.get_username(), "is_staff": request.auth.is_staff}
