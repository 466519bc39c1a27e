from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.password_reset import password_reset
from core.views import healthz

# A database outage is a 503 with Retry-After, not a 500 (core/database_outage.py).
handler500 = "core.database_outage.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before Django's own: without an email server it says what to do instead of a 500.
    path("accounts/password_reset/", password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("annotation.api.urls")),
    path("api/v1/", include("scoring.api.urls")),
    path("", include("scoring.urls")),
    path("", include("training.urls")),
    path("", include("annotation.urls")),
]
