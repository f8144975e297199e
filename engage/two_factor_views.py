"""/me/two-factor/: turn two-factor sign-in on (scan, confirm with a code, keep the recovery codes), renew the
recovery codes, turn it off; and, for a session that must prove it (ENGAGE_REQUIRE_TWO_FACTOR), prove it."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from . import two_factor
from .errors import DomainError
from .forms import AccessibleForm
from .roles import is_administrator
from .views import StaffRequiredMixin


class CodeForm(AccessibleForm):
    code = forms.CharField(
        label="Code from your authenticator", max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "class": "form-control"}
        ),
    )


class PasswordForm(AccessibleForm):
    password = forms.CharField(
        label="Your password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "form-control"}),
    )


@method_decorator([sensitive_post_parameters("code", "password"), never_cache], name="dispatch")
class TwoFactorView(StaffRequiredMixin, View):
    template_name = "engage/two_factor.html"

    def get(self, request):
        return self._page(request)

    def post(self, request):
        action = request.POST.get("action")
        user = request.user
        try:
            if action == "start":
                two_factor.start(user)
                return redirect("two-factor")
            if action == "confirm":
                form = CodeForm(request.POST)
                if not form.is_valid():
                    return self._page(request, code_form=form, status=400)
                codes = two_factor.confirm(user, form.cleaned_data["code"])
                otp_login(request, two_factor.authenticator(user))
                return self._page(request, codes=codes, done="Two-factor sign-in is on.")
            if action == "verify":
                form = CodeForm(request.POST)
                device = two_factor.verify(user, form.data.get("code", "")) if form.is_valid() else None
                if device is None:
                    form.add_error("code", "That code is not right, or was used already.")
                    return self._page(request, code_form=form, status=400)
                otp_login(request, device)
                messages.success(request, "Signed in with two factors.")
                return redirect("home")
            if action in ("renew", "remove"):
                form = PasswordForm(request.POST)
                if not form.is_valid() or not user.check_password(form.cleaned_data["password"]):
                    form.add_error("password", "That is not your password.")
                    return self._page(request, password_form=form, status=400)
                if action == "renew":
                    return self._page(request, codes=two_factor.renew_recovery_codes(user),
                                      done="New recovery codes: the old ones no longer work.")
                if settings.ENGAGE_REQUIRE_TWO_FACTOR and is_administrator(user):
                    raise DomainError("Administrators must keep two-factor sign-in on here. To move to a new "
                                      "authenticator, ask another Administrator to run the recovery command.")
                two_factor.remove_two_factor(user)
                messages.success(request, "Two-factor sign-in is off.")
                return redirect("two-factor")
        except DomainError as err:
            form = CodeForm(request.POST) if action == "confirm" else None
            if form is not None and err.field == "code":
                form.is_valid()
                form.add_error("code", err.message)
                return self._page(request, code_form=form, status=400)
            messages.error(request, err.message)
            return redirect("two-factor")
        return redirect("two-factor")

    def _page(self, request, *, code_form=None, password_form=None, codes=None, done=None, status=200):
        user = request.user
        device = two_factor.authenticator(user)
        waiting = two_factor.pending(user) if device is None else None
        context = {
            "device": device,
            "waiting": waiting,
            "qr_svg": two_factor.qr_svg(waiting) if waiting else None,
            "secret": two_factor.secret(waiting) if waiting else None,
            "codes_left": two_factor.recovery_codes_left(user) if device else 0,
            "codes": codes,
            "done": done,
            "must_verify": device is not None and not request.user.is_verified(),
            "required": settings.ENGAGE_REQUIRE_TWO_FACTOR and is_administrator(user),
            "code_form": code_form or CodeForm(),
            "password_form": password_form or PasswordForm(),
            "nav": "me",
        }
        return render(request, self.template_name, context, status=status)
