"""Signing in (SPEC §1): the user name and password, judged by the guard (engage/sign_in_guard.py); then, for a
user with an authenticator, its code (or a recovery code) on a second page. A user name or address locked by
failed tries still lets in whoever gives the right password with a code: the page asks for one."""

import time

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from .forms import AccessibleForm
from .sessions import started
from .sign_in_guard import SignInRefused, check_sign_in, second_step_done
from .two_factor import is_enrolled, verify

PENDING = "engage_pending_sign_in"  # {"user": id, "username": name, "at": time, "next": url, "tries": n}
PENDING_SECONDS = 300
PENDING_TRIES = 5
BACKEND = "django.contrib.auth.backends.ModelBackend"


class SignInForm(AccessibleForm):
    username = forms.CharField(label="User name", max_length=150, strip=True)
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    code = forms.CharField(
        label="Authenticator code or recovery code", required=False, max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autofocus": True, "autocomplete": "username", "class": "form-control"}
        )
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password", "class": "form-control"})
        self.fields["code"].widget.attrs["class"] = "form-control"


class CodeForm(AccessibleForm):
    code = forms.CharField(
        label="Authenticator code or recovery code", max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                      "class": "form-control"}),
    )


def _next_url(request, raw) -> str:
    if raw and url_has_allowed_host_and_scheme(raw, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return raw
    return reverse(settings.LOGIN_REDIRECT_URL)


def _complete(request, user, device, next_url):
    user.backend = BACKEND
    login(request, user)
    if device is not None:
        otp_login(request, device)
    started(request, user)
    return redirect(next_url)


@method_decorator([sensitive_post_parameters("password", "code"), never_cache], name="dispatch")
class SignInView(View):
    template_name = "registration/login.html"

    def get(self, request):
        return self._page(request, SignInForm(), next_url=request.GET.get("next", ""))

    def post(self, request):
        form = SignInForm(request.POST)
        next_url = request.POST.get("next", "")
        if not form.is_valid():
            return self._page(request, form, next_url=next_url, status=400)
        data = form.cleaned_data
        try:
            signed = check_sign_in(request, username=data["username"], password=data["password"], code=data["code"])
        except SignInRefused as refused:
            form.add_error(None, refused.message)
            response = self._page(request, form, next_url=next_url, ask_code=refused.blocked,
                                  status=429 if refused.blocked else 200)
            if refused.retry_after:
                response["Retry-After"] = str(refused.retry_after)
            return response
        target = _next_url(request, next_url)
        if signed.device is None and is_enrolled(signed.user):
            request.session.cycle_key()
            request.session[PENDING] = {"user": signed.user.pk, "username": data["username"], "at": time.time(),
                                        "next": target, "tries": 0}
            return redirect("login-code")
        return _complete(request, signed.user, signed.device, target)

    def _page(self, request, form, *, next_url, ask_code=False, status=200):
        show_code = ask_code or bool(form["code"].value())
        return render(request, self.template_name, {"form": form, "next": next_url, "show_code": show_code},
                      status=status)


@method_decorator([sensitive_post_parameters("code"), never_cache], name="dispatch")
class SecondStepView(View):
    """After a right password: the authenticator's code (or one recovery code) completes the sign-in. Five
    wrong codes, or five minutes, and the password must be given again; each device also makes every
    further try wait longer (django-otp)."""

    template_name = "registration/login_code.html"

    def _pending(self, request):
        pending = request.session.get(PENDING)
        if not pending or time.time() - pending["at"] > PENDING_SECONDS or pending["tries"] >= PENDING_TRIES:
            request.session.pop(PENDING, None)
            return None
        from django.contrib.auth import get_user_model

        user = get_user_model()._default_manager.filter(pk=pending["user"], is_active=True).first()
        return (pending, user) if user is not None else None

    def get(self, request):
        if self._pending(request) is None:
            return redirect("login")
        return render(request, self.template_name, {"form": CodeForm()})

    def post(self, request):
        found = self._pending(request)
        if found is None:
            return redirect("login")
        pending, user = found
        form = CodeForm(request.POST)
        device = verify(user, form.cleaned_data["code"]) if form.is_valid() else None
        if device is None:
            pending["tries"] += 1
            request.session[PENDING] = pending
            left = PENDING_TRIES - pending["tries"]
            if left <= 0:
                request.session.pop(PENDING, None)
                return redirect("login")
            form.add_error(None, f"That code is not right, or was used already. {left} "
                                 f"tr{'ies' if left != 1 else 'y'} left; a new code appears every 30 seconds.")
            return render(request, self.template_name, {"form": form}, status=400)
        request.session.pop(PENDING, None)
        second_step_done(pending["username"])
        return _complete(request, user, device, pending["next"])
