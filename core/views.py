"""GET /healthz: for load balancers, container health checks and people."""

from http import HTTPStatus

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.health import DOWN, check_health


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with every check named (status ok or degraded); 503 when the database or Redis
    is down. Anonymous: it tells nothing but which dependencies answer."""
    health = check_health()
    status = HTTPStatus.SERVICE_UNAVAILABLE if health.status == DOWN else HTTPStatus.OK
    return JsonResponse(health.as_dict(), status=status)
