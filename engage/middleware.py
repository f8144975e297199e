from django.conf import settings
from django.contrib.auth.views import redirect_to_login

# Paths anyone may reach: the login page, static files, the API (which answers 401/403 itself) and the
# orchestrator's health probes.
PUBLIC_PREFIXES = ("/login/", "/static/", "/api/", "/favicon.ico", "/health/")


class LoginRequiredMiddleware:
    """Every page needs a signed-in user; the API is guarded by its own permission classes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)
