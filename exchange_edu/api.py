"""The root NinjaAPI at /api/v1/: adds each app's router and maps errors in one place.

Every 4xx answers in one shape: {"detail": "...", "errors": [{"field": "...", "message": "..."}]}.
"""

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from exchange_edu.calculators.api import router as calc_router
from exchange_edu.core.api import router as core_router
from exchange_edu.engine.calculators import CalcError
from exchange_edu.engine.lending import CurveError
from exchange_edu.sandbox.api import RateLimited
from exchange_edu.sandbox.api import catalog_router as sandbox_catalog_router
from exchange_edu.sandbox.api import router as sandbox_router
from exchange_edu.sandbox.errors import SandboxError

api = NinjaAPI(
    title="exchange-edu API",
    version="1",
    description="Sandbox exchanges, lessons and calculators of exchange-edu.",
    urls_namespace="api-1",
)


def _error(request, status: int, detail: str, errors: list[dict] | None = None):
    return api.create_response(request, {"detail": detail, "errors": errors or []}, status=status)


def _field_name(loc) -> str:
    # ninja reports ("body", "payload", "quantity"); the user cares about "quantity". Only the
    # leading location and argument name go: a body field may itself be called "path".
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or ".".join(str(p) for p in loc)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = [
        {"field": _field_name(err.get("loc", ())), "message": err.get("msg", "is invalid")}
        for err in exc.errors
    ]
    return _error(request, 422, "Invalid input.", errors)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "Authentication required.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "Not found.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))


def on_domain_error(request, exc):
    """Errors that name the offending field (`.field`, `.message`): 422 with that field."""
    return _error(request, 422, exc.message, [{"field": exc.field, "message": exc.message}])


for domain_error in (CalcError, CurveError):
    api.add_exception_handler(domain_error, on_domain_error)


@api.exception_handler(SandboxError)
def on_sandbox_error(request, exc: SandboxError):
    """The sandbox's own status: 400 bad input, 404 not found (or not yours), 409 state conflict."""
    return _error(request, exc.status, exc.message, [{"field": exc.field, "message": exc.message}])


@api.exception_handler(RateLimited)
def on_rate_limited(request, exc: RateLimited):
    response = _error(request, 429, f"Too many orders: {exc.message}.",
                      [{"field": "orders", "message": exc.message}])
    response["Retry-After"] = str(exc.retry_after_s)
    return response

api.add_router("/", core_router)
api.add_router("/calc", calc_router)
api.add_router("/sandboxes", sandbox_router)
api.add_router("/", sandbox_catalog_router)
