"""Base views every app builds on: role checks, the home page, Setup's index, and a generic
NetBox-style list / edit / bulk-delete trio that a model's pages only configure."""

from django.contrib import messages
from django.contrib.auth.mixins import UserPassesTestMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from .errors import DomainError
from .roles import is_administrator, is_staff_role


class StaffRequiredMixin(UserPassesTestMixin):
    """Administrators and Support (SPEC §1)."""

    raise_exception = True

    def test_func(self):
        return is_staff_role(self.request.user)


class AdministratorRequiredMixin(StaffRequiredMixin):
    """Setup pages: Administrators only; Support gets 403."""

    def test_func(self):
        return is_administrator(self.request.user)


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

    def get(self, request):
        return render(
            request,
            self.template_name,
            {
                "objects": self.queryset.all(),
                "title": self.title,
                "add_url": reverse(self.add_url),
                "delete_url": reverse(self.delete_url),
                "nav": "setup",
            },
        )


class ObjectEditView(AdministratorRequiredMixin, View):
    """Add and Edit with Save (back to the list) and Save/New (an empty form again, with a confirmation).

    Configure model, form_class, the service functions `create(**cleaned)` / `update(obj, **cleaned)`
    which raise DomainError, and the URL names.
    """

    model = None
    form_class = None
    template_name = "setup/object_edit.html"
    list_url = ""
    add_url = ""
    verbose_name = ""

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
            from django.http import Http404

            raise Http404(f"No {self.verbose_name} with id {pk}.") from exc

    def render_form(self, request, form, obj):
        context = {
            "form": form,
            "object": obj,
            "verbose_name": self.verbose_name,
            "list_url": reverse(self.list_url),
            "nav": "setup",
        }
        context.update(self.extra_context(obj))
        return render(request, self.template_name, context, status=400 if form.errors else 200)

    def get(self, request, pk=None):
        obj = self.get_object(pk)
        return self.render_form(request, self.form_class(instance=obj), obj)

    def post(self, request, pk=None):
        obj = self.get_object(pk)
        form = self.form_class(request.POST, instance=obj)
        if form.is_valid():
            try:
                saved = self.create(form.cleaned_data) if obj is None else self.update(obj, form.cleaned_data)
            except DomainError as err:
                form.add_error(err.field if err.field in form.fields else None, err.message)
            else:
                verb = "added" if obj is None else "saved"
                messages.success(request, f"{self.verbose_name.capitalize()} “{saved}” {verb}.")
                if "save_new" in request.POST:
                    return redirect(self.add_url)
                return redirect(self.list_url)
        return self.render_form(request, form, obj)


class BulkDeleteView(AdministratorRequiredMixin, View):
    """Delete every checked row after a confirmation page; a service decides which may go and why not."""

    model = None
    list_url = ""
    verbose_name_plural = ""
    template_name = "setup/bulk_delete.html"

    def delete(self, ids):
        """Return (deleted names, [(name, why not)]); must be all-or-nothing per row, never half."""
        raise NotImplementedError

    def post(self, request):
        ids = [i for i in request.POST.getlist("pk") if i.isdigit()]
        if not ids:
            messages.warning(request, f"No {self.verbose_name_plural} were checked: nothing was deleted.")
            return redirect(self.list_url)
        if "confirm" not in request.POST:
            objects = self.model.objects.filter(pk__in=ids)
            return render(
                request,
                self.template_name,
                {"objects": objects, "verbose_name_plural": self.verbose_name_plural,
                 "list_url": reverse(self.list_url), "nav": "setup"},
            )
        deleted, refused = self.delete([int(i) for i in ids])
        if deleted:
            messages.success(request, f"Deleted: {', '.join(deleted)}.")
        for name, why in refused:
            messages.error(request, f"“{name}” was not deleted: {why}")
        return redirect(self.list_url)
