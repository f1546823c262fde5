from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from common.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script, so the CSP can forbid them.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api-auth/", include("rest_framework.urls")),
    path("api/v1/", include("orgs.urls")),
    path("api/v1/", include("tasks.urls")),
    path("api/v1/", include("evidence.urls")),
    path("api/v1/", include("notifications.urls")),
    path("api/v1/", include("scoring.urls")),
    path("", include("web.urls")),
]

# Friendly error pages in the pages' design; under /api/ the API's error format (common/views.py).
handler400 = "common.views.bad_request"
handler403 = "web.views.errors.forbidden"
handler404 = "web.views.errors.not_found"
handler500 = "web.views.errors.server_error"
