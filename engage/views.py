"""Base views every app builds on: role checks, the home page, Setup's index, and a generic
NetBox-style list / edit / bulk-delete trio that a model's pages only configure."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import resolve, reverse
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from .errors import DomainError, add_to_form
from .limits import parse_id
from .roles import is_administrator, is_staff_role
from .sign_in_guard import locks_now, unlock


class StaffRequiredMixin(UserPassesTestMixin):
    """Administrators and Support (SPEC §1)."""

    raise_exception = True
    permission_denied_message = "Your user has no Engage role."

    def test_func(self):
        return is_staff_role(self.request.user)

    def handle_no_permission(self):
        # Signed out: to the login page (also without the login middleware); signed in without the role: 403.
        if not self.request.user.is_authenticated:
            return redirect_to_login(self.request.get_full_path())
        raise PermissionDenied(self.get_permission_denied_message())


class AdministratorRequiredMixin(StaffRequiredMixin):
    """Setup pages: Administrators only; Support gets 403."""

    permission_denied_message = "Setup is for Administrators only."

    def test_func(self):
        return is_administrator(self.request.user)


@csrf_exempt  # it writes nothing, whatever the method
def api_not_found(request):
    """Unknown paths under /api/: JSON, like every other API answer."""
    detail = "Not found."
    if not request.path.endswith("/"):
        match = resolve(request.path + "/")
        if match.url_name != "api-not-found":
            detail = f"Not found. API paths end with a slash: {request.path}/"
    return JsonResponse({"detail": detail}, status=404)


@require_safe
def favicon(request):
    """Browsers and tools that ask for /favicon.ico without reading the page's <link rel="icon">."""
    return HttpResponsePermanentRedirect(static("engage/favicon.svg"))


@require_safe
def home(request):
    if not is_staff_role(request.user):
        raise PermissionDenied("Your user has no Engage role.")
    return redirect("accounts:list")


class SetupIndexView(AdministratorRequiredMixin, TemplateView):
    template_name = "setup/index.html"
    extra_context = {"nav": "setup"}


class ObjectListView(AdministratorRequiredMixin, View):
    """A list with check boxes; configure queryset, table template and the names of the other views."""

    queryset = None
    template_name = ""
    title = ""
    add_url = ""
    delete_url = ""

    def objects(self):
        return self.queryset.all()

    def get(self, request):
        return render(
            request,
            self.template_name,
            {
                "objects": self.objects(),
                "title": self.title,
                "add_url": reverse(self.add_url),
                "delete_url": reverse(self.delete_url),
                "nav": "setup",
            },
        )


class ObjectEditView(AdministratorRequiredMixin, View):
    """Add and Edit with Save (back to the list) and Save/New (an empty form again, with a confirmation).

    Configure model, form_class (built as `form_class(data, obj=obj)`), the service functions
    `create(cleaned)` / `update(obj, cleaned)` which raise DomainError, and the URL names. Each message of
    a DomainError goes on its field, or on the form (engage.errors.add_to_form).
    """

    model = None
    form_class = None
    template_name = "setup/object_edit.html"
    list_url = ""
    add_url = ""
    verbose_name = ""
    verbose_name_plural = ""

    def create(self, data):
        raise NotImplementedError

    def update(self, obj, data):
        raise NotImplementedError

    def extra_context(self, obj):
        return {}

    def get_object(self, pk):
        if pk is None:
            return None
        try:
            return self.model.objects.get(pk=pk)
        except self.model.DoesNotExist as exc:
            raise Http404(f"No {self.verbose_name} with id {pk}: it may have been deleted.") from exc

    def render_form(self, request, form, obj):
        context = {
            "form": form,
            "object": obj,
            "verbose_name": self.verbose_name,
            "verbose_name_plural": self.verbose_name_plural or f"{self.verbose_name}s",
            "list_url": reverse(self.list_url),
            "nav": "setup",
        }
        context.update(self.extra_context(obj))
        return render(request, self.template_name, context, status=400 if form.errors else 200)

    def get(self, request, pk=None):
        obj = self.get_object(pk)
        return self.render_form(request, self.form_class(obj=obj), obj)

    def post(self, request, pk=None):
        obj = self.get_object(pk)
        form = self.form_class(request.POST, obj=obj)
        if form.is_valid():
            try:
                saved = self.create(form.cleaned_data) if obj is None else self.update(obj, form.cleaned_data)
            except DomainError as err:
                add_to_form(form, err)
            else:
                done = f"{self.verbose_name.capitalize()} “{saved}” {'added' if obj is None else 'saved'}."
                if "save_new" in request.POST:
                    messages.success(request, f"{done} Add the next one below.")
                    return redirect(self.add_url)
                messages.success(request, done)
                return redirect(self.list_url)
            # The page shows the stored object's name, not the rejected input.
            obj = self.get_object(pk)
        return self.render_form(request, form, obj)


class BulkDeleteView(AdministratorRequiredMixin, View):
    """Delete every checked row after a confirmation page; a service decides which may go and why not."""

    model = None
    list_url = ""
    verbose_name_plural = ""
    template_name = "setup/bulk_delete.html"

    def delete_rows(self, ids):
        """Return (deleted names, [(name, why not)]); must be all-or-nothing per row, never half."""
        raise NotImplementedError

    def refusal(self, obj):
        """Why this row would be kept (shown on the confirmation page), or None."""
        return None

    def get(self, request):
        return redirect(self.list_url)

    def post(self, request):
        ids = sorted({pk for pk in map(parse_id, request.POST.getlist("pk")) if pk is not None})
        objects = list(self.model.objects.filter(pk__in=ids))
        if not objects:
            what = f"The checked {self.verbose_name_plural} no longer exist" if ids else (
                f"No {self.verbose_name_plural} were checked"
            )
            messages.warning(request, f"{what}: nothing was deleted.")
            return redirect(self.list_url)
        if "confirm" not in request.POST:
            rows = [(obj, self.refusal(obj)) for obj in objects]
            return render(
                request,
                self.template_name,
                {"rows": rows, "deletable": sum(1 for _obj, why in rows if not why),
                 "verbose_name_plural": self.verbose_name_plural, "list_url": reverse(self.list_url),
                 "action_url": request.path, "nav": "setup"},
            )
        deleted, refused = self.delete_rows([obj.pk for obj in objects])
        if deleted:
            names = ", ".join(f"“{name}”" for name in deleted)
            messages.success(request, f"Deleted {len(deleted)} of the checked {self.verbose_name_plural}: {names}.")
        for name, why in refused:
            messages.error(request, f"“{name}” was not deleted: {why}")
        if not deleted and not refused:
            messages.warning(request, f"The checked {self.verbose_name_plural} no longer exist: nothing was deleted.")
        return redirect(self.list_url)


class LockedSignInsView(AdministratorRequiredMixin, View):
    """Setup → Locked sign-ins: user names locked or slowed down, addresses locked, and Unlock."""

    def get(self, request):
        return render(request, "setup/locked_sign_ins.html", {
            "locks": locks_now(), "nav": "setup", "failure_limit": settings.ENGAGE_LOGIN_FAILURE_LIMIT,
            "address_limit": settings.ENGAGE_LOGIN_ADDRESS_LIMIT,
        })

    def post(self, request):
        try:
            row = unlock(guard_id=parse_id(request.POST.get("guard")))
        except DomainError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, f"Lifted the lock on {row.get_kind_display().lower()} “{row.key}”.")
        return redirect("lockouts")
