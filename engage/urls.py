from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import audit_views, health, sign_in_views, two_factor_views, views
from .permissions import IsStaffRole

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", sign_in_views.SignInView.as_view(), name="login"),
    path("login/code/", sign_in_views.SecondStepView.as_view(), name="login-code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("setup/", views.SetupIndexView.as_view(), name="setup"),
    path("setup/locked-sign-ins/", views.LockedSignInsView.as_view(), name="lockouts"),
    path("me/two-factor/", two_factor_views.TwoFactorView.as_view(), name="two-factor"),
    # The Users page (Setup → Users) and each user's own page (/me/: password, API tokens).
    path("", include("engage.user_urls")),
    path("audit/", audit_views.AuditLogView.as_view(), name="audit"),
    path("setup/", include("statuses.urls")),
    path("", include("accounts.urls")),
    path("", include("dunning.urls")),
    path("", include("reporting.urls")),
    path("api/v1/", include("engage.api")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsStaffRole]), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own: no inline script (CSP).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[IsStaffRole]),
        name="swagger-ui",
    ),
    # Any other path under /api/ answers a JSON 404 (SPEC §9), not the HTML page.
    re_path(r"^api/", views.api_not_found, name="api-not-found"),
    path("health/live/", health.live, name="health-live"),
    path("health/ready/", health.ready, name="health-ready"),
    path("favicon.ico", views.favicon, name="favicon"),
]

if settings.ENGAGE_ADMIN_SITE:
    # Django admin, only when turned on: its sign-in is Engage's own (the same guard and second factor).
    urlpatterns += [
        path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
        path("admin/", admin.site.urls),
    ]
