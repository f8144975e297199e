"""Setup → Users (Administrators) and Your sign-in (/me/, everyone with a role): thin views over engage.users.

A generated password and a new token's key are shown once: the POST keeps it in the session and redirects (so
that the form is submitted once, engage/once.py), and the page it leads to takes it out of the session as it
shows it. Those pages are never cached."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import user_has_device

from . import users
from .errors import DomainError, NotFoundError, add_to_form
from .limits import parse_id
from .models import ApiToken, UserAccess
from .sessions import MUST_CHANGE_PASSWORD
from .user_forms import PasswordChangeForm, RoleForm, TokenForm, UserCreateForm
from .views import AdministratorRequiredMixin, StaffRequiredMixin

SHOWN_ONCE = "engage_shown_once"  # {"kind": "password" | "token", "for": id, "value": secret, "name": text}


def _keep_once(request, *, kind: str, for_id: int, value: str, name: str = "") -> None:
    request.session[SHOWN_ONCE] = {"kind": kind, "for": for_id, "value": value, "name": name}


def _take_once(request, *, kind: str, for_id: int) -> dict | None:
    shown = request.session.get(SHOWN_ONCE)
    if shown and shown.get("kind") == kind and shown.get("for") == for_id:
        del request.session[SHOWN_ONCE]
        return shown
    return None


def _user_or_404(pk):
    try:
        return users.get_user(pk)
    except NotFoundError as err:
        raise Http404(err.message) from None


def _token_rows(user):
    now = timezone.now()
    return [(token, users.token_state(token, now)) for token in users.tokens_of(user)]


class UserListView(AdministratorRequiredMixin, View):
    def get(self, request):
        rows = [(user, users.role_label(users.role_of(user))) for user in users.user_list()]
        return render(request, "setup/users.html", {"rows": rows, "nav": "setup"})


@method_decorator(sensitive_post_parameters("password", "password_again"), name="dispatch")
class UserAddView(AdministratorRequiredMixin, View):
    template_name = "setup/user_add.html"

    def get(self, request):
        return render(request, self.template_name, {"form": UserCreateForm(), "nav": "setup"})

    def post(self, request):
        form = UserCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = users.create_user(data["username"], data["email"], data["role"], data["password"],
                                         must_change_password=True)
            except DomainError as err:
                add_to_form(form, err)
            else:
                messages.success(request, f"User “{user.get_username()}” added. Give them their password: they "
                                          "choose their own when they first sign in.")
                return redirect("user-detail", pk=user.pk)
        return render(request, self.template_name, {"form": form, "nav": "setup"}, status=400)


@method_decorator(never_cache, name="dispatch")
class UserDetailView(AdministratorRequiredMixin, View):
    def get(self, request, pk):
        user = _user_or_404(pk)
        role = users.role_of(user)
        return render(request, "setup/user_detail.html", {
            "person": user, "role": role, "role_label": users.role_label(role),
            "role_form": RoleForm(initial={"role": role}), "two_factor": user_has_device(user),
            "must_change_password": UserAccess.objects.filter(user=user, must_change_password=True).exists(),
            "tokens": _token_rows(user), "is_self": user.pk == request.user.pk,
            "new_password": _take_once(request, kind="password", for_id=user.pk),
            "nav": "setup",
        })


class UserActionView(AdministratorRequiredMixin, View):
    """A button on a user's page: POST does it and goes back to the page, saying what happened or why not."""

    def get(self, request, pk):
        return redirect("user-detail", pk=pk)

    def post(self, request, pk):
        user = _user_or_404(pk)
        try:
            done = self.act(request, user)
        except DomainError as err:
            messages.error(request, err.message)
        else:
            if done:
                messages.success(request, done)
        return redirect("user-detail", pk=user.pk)

    def act(self, request, user) -> str:
        raise NotImplementedError


class UserRoleView(UserActionView):
    def act(self, request, user):
        form = RoleForm(request.POST)
        if not form.is_valid():
            raise DomainError("Choose a role: Administrator or Support.")
        role = form.cleaned_data["role"]
        if not users.set_role(user, role):
            return f"“{user.get_username()}” already is {users.role_label(role)}: nothing changed."
        state = "" if user.is_active else " They stay deactivated."
        return (f"“{user.get_username()}” is now {users.role_label(role)}. Their sessions ended and their API tokens "
                f"were revoked.{state}")


class UserDeactivateView(UserActionView):
    def act(self, request, user):
        users.deactivate(user)
        return (f"“{user.get_username()}” is deactivated: they can no longer sign in, their sessions ended and their "
                "API tokens were revoked.")


class UserReactivateView(UserActionView):
    def act(self, request, user):
        users.reactivate(user)
        return f"“{user.get_username()}” is active again and may sign in."


class UserResetPasswordView(UserActionView):
    def act(self, request, user):
        password = users.reset_password(user, actor=request.user)
        _keep_once(request, kind="password", for_id=user.pk, value=password)
        return ""  # the page shows the password itself


class UserTokenRevokeView(UserActionView):
    """Revoke one of the user's tokens (`token`), or all of them (`all`)."""

    def act(self, request, user):
        if request.POST.get("all"):
            count = users.revoke_all_tokens(user)
            return f"Revoked {count} API token{'s' if count != 1 else ''} of “{user.get_username()}”." if count else (
                f"“{user.get_username()}” has no tokens left to revoke.")
        token = _token_of(user, request.POST.get("token"))
        users.revoke_token(token)
        return f"Revoked the API token “{token.name}” of “{user.get_username()}”."


def _token_of(user, raw) -> ApiToken:
    token = ApiToken.objects.filter(user=user, pk=parse_id(raw)).first() if parse_id(raw) else None
    if token is None:
        raise DomainError("That API token does not exist (any more).")
    return token


# Your sign-in (/me/)

class MeView(StaffRequiredMixin, View):
    def get(self, request):
        user = request.user
        role = users.role_of(user)
        tokens = _token_rows(user)
        return render(request, "engage/me.html", {
            "role_label": users.role_label(role),
            "usable_tokens": sum(1 for _token, state in tokens if state == "usable"),
            "nav": "me",
        })


@method_decorator(sensitive_post_parameters("old_password", "new_password", "new_password_again"), name="dispatch")
class MePasswordView(StaffRequiredMixin, View):
    template_name = "engage/me_password.html"

    def get(self, request):
        return self._page(request, PasswordChangeForm())

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                users.change_own_password(request, old=data["old_password"], new=data["new_password"])
            except DomainError as err:
                add_to_form(form, err)
            else:
                messages.success(request, "Your password is changed. Your other sessions were signed out.")
                return redirect("me")
        return self._page(request, form, status=400)

    def _page(self, request, form, status=200):
        return render(request, self.template_name, {
            "form": form, "must_change": bool(request.session.get(MUST_CHANGE_PASSWORD)), "nav": "me",
        }, status=status)


@method_decorator(never_cache, name="dispatch")
class MeTokensView(StaffRequiredMixin, View):
    """Your API tokens: make a named one (its key is shown once), see their last use, revoke them."""

    template_name = "engage/me_tokens.html"

    def get(self, request):
        return self._page(request, TokenForm())

    def post(self, request):
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                token, key = users.create_token(request.user, name=form.cleaned_data["name"],
                                                expires_at=form.cleaned_data["expires"] or None)
            except DomainError as err:
                add_to_form(form, err)
            else:
                _keep_once(request, kind="token", for_id=request.user.pk, value=key, name=token.name)
                return redirect("me-tokens")
        return self._page(request, form, status=400)

    def _page(self, request, form, status=200):
        return render(request, self.template_name, {
            "form": form, "tokens": _token_rows(request.user),
            "new_token": _take_once(request, kind="token", for_id=request.user.pk),
            "api_docs": reverse("swagger-ui"), "nav": "me",
        }, status=status)


class MeTokenRevokeView(StaffRequiredMixin, View):
    def get(self, request):
        return redirect("me-tokens")

    def post(self, request):
        try:
            token = _token_of(request.user, request.POST.get("token"))
            users.revoke_token(token)
        except DomainError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, f"Revoked your API token “{token.name}”: it no longer opens the API.")
        return redirect("me-tokens")
