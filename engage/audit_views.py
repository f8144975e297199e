"""The audit log page /audit/ (SPEC §1): Administrators read who changed what, newest first, filtered by
user, object, account and date. Keyset paging on id (never OFFSET, never COUNT(*)), so any page of
millions of entries costs what the first does; each filter has its (…, -id) index."""

import json
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from .audit import action_choices, action_label, changed, object_type_choices
from .input_fields import PageDateFilter
from .keyset import keyset_page
from .limits import MAX_ID, parse_id
from .models import AuditEntry
from .views import AdministratorRequiredMixin

PAGE_SIZE = 50
VALUE_MAX_CHARS = 300  # a value longer than this is cut on the page (the entry keeps it whole)


class _IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


def _day_start(day: date) -> datetime:
    """Midnight starting `day` in TIME_ZONE: a range on `at` that its index serves (no date() of the column)."""
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(
        label="User", method="by_user", max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "User name", "class": "form-control"}),
    )
    action = django_filters.ChoiceFilter(
        choices=action_choices, empty_label="Any action", widget=forms.Select(attrs={"class": "form-select"}),
    )
    object_type = django_filters.ChoiceFilter(
        label="Object", choices=object_type_choices, empty_label="Any object",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    object_id = _IdFilter(
        label="Object id", min_value=1, max_value=MAX_ID,
        widget=forms.NumberInput(attrs={"placeholder": "Object id", "class": "form-control"}),
    )
    account = _IdFilter(
        field_name="account_id", label="Account id", min_value=1, max_value=MAX_ID,
        widget=forms.NumberInput(attrs={"placeholder": "Account id", "class": "form-control"}),
    )
    date_from = PageDateFilter(label="From", what="From", method="from_day")
    date_to = PageDateFilter(label="To", what="To", method="to_day")

    class Meta:
        model = AuditEntry
        fields = ["user", "action", "object_type", "object_id", "account", "date_from", "date_to"]

    def by_user(self, queryset, name, value):
        """A user name exactly: that user's entries (the actor index), under any name they had then; else
        part of the recorded name (“system”, a command, a deleted user)."""
        value = value.strip()
        if not value:
            return queryset
        User = get_user_model()
        user_id = User.objects.filter(**{User.USERNAME_FIELD: value}).values_list("pk", flat=True).first()
        if user_id is not None:
            return queryset.filter(actor_id=user_id)
        return queryset.filter(actor_name__icontains=value)

    def from_day(self, queryset, name, value):
        if value <= date.min + timedelta(days=1):  # no bound (and no overflow turning it into UTC)
            return queryset
        return queryset.filter(at__gte=_day_start(value))

    def to_day(self, queryset, name, value):
        if value >= date.max - timedelta(days=1):
            return queryset
        return queryset.filter(at__lt=_day_start(value + timedelta(days=1)))


def _show(value) -> str:
    """A recorded value in a few words: lists joined, a line as “kind amount”, the rest as JSON."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = "; ".join(
            " ".join(str(v) for v in item.values()) if isinstance(item, dict) else _show(item) for item in value
        ) or "none"
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_MAX_CHARS else text[: VALUE_MAX_CHARS - 1] + "…"


def changes(entry: AuditEntry) -> list[dict]:
    """The fields whose values differ between before and after (all of them for a create or a delete)."""
    old, new = changed(entry.before if isinstance(entry.before, dict) else {},
                       entry.after if isinstance(entry.after, dict) else {})
    return [
        {
            "field": key.replace("_", " "),
            "before": _show(old[key]) if key in old else None,
            "after": _show(new[key]) if key in new else None,
        }
        for key in [*new, *(k for k in old if k not in new)]
    ]


class AuditLogView(AdministratorRequiredMixin, View):
    def get(self, request):
        filterset = AuditFilter(request.GET, queryset=AuditEntry.objects.order_by("-id"))
        before = request.GET.get("before", "")
        valid = before == "" or parse_id(before) is not None
        errors = [] if valid else ["That page link is not valid: start again below."]
        entries, next_before = [], None
        if filterset.is_valid() and not errors:
            entries, next_before = keyset_page(filterset.qs, parse_id(before), PAGE_SIZE)
        for entry in entries:
            entry.changes = changes(entry)
            entry.action_label = action_label(entry.action)
        params = request.GET.copy()
        params.pop("before", None)
        return render(
            request,
            "engage/audit.html",
            {
                "form": filterset.form,
                "errors": errors,
                "entries": entries,
                "next_before": next_before,
                "query": params.urlencode(),
                "is_first_page": not before,
                "nav": "setup",
            },
            status=200 if filterset.is_valid() and not errors else 400,
        )
