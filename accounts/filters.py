"""The accounts list's search and filters, one FilterSet for the page and the API (django-filter)."""

from dataclasses import dataclass

import django_filters
from django import forms
from django.db.models import F, Q
from django.db.models.functions import Lower

from engage.clock import today
from engage.limits import SEARCH_MAX_CHARS
from statuses.models import AccountStatusType
from statuses.rules import BackendStatus

from .models import Account


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="search",
        max_length=SEARCH_MAX_CHARS,
        help_text="An account number, an e-mail address, or part of a name.",
        widget=forms.TextInput(attrs={"placeholder": "Number, name or e-mail", "class": "form-control"}),
    )
    status_type = django_filters.ModelChoiceFilter(
        queryset=AccountStatusType.objects.all(),
        label="Status type",
        empty_label="Any status type",
        error_messages={"invalid_choice": "Pick a status type from the list."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    backend_status = django_filters.ChoiceFilter(
        choices=BackendStatus.choices,
        method="by_backend_status",
        # Without a label django-filter calls a field that is not a model field "[invalid name]".
        label="Back-end status",
        empty_label="Any back-end status",
        error_messages={"invalid_choice": "Pick a back-end status from the list."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    collections = django_filters.ChoiceFilter(
        choices=[("exempt", "Exempt"), ("not_exempt", "Not exempt")],
        method="by_exemption",
        label="Collections",
        empty_label="Exempt or not",
        help_text="Exempt from collections today (Overview → Collections → Exempt…).",
        error_messages={"invalid_choice": "Pick exempt or not exempt."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    class Meta:
        model = Account
        fields = ["q", "status_type", "backend_status", "collections"]

    def search(self, queryset, name, value):
        """Each kind of term uses an index: the number exactly, the e-mail exactly, else part of the name."""
        value = value.strip()
        if value.isdigit():
            return queryset.filter(number=value)
        if "@" in value:
            # LOWER(email) = …, which the account_email_lower_idx index serves.
            return queryset.alias(email_lower=Lower("email")).filter(email_lower=value.lower())
        return queryset.filter(name__icontains=value)

    def by_backend_status(self, queryset, name, value):
        # The few type ids first: the accounts query then uses the (status_type, id) index, no join.
        type_ids = list(AccountStatusType.objects.filter(backend_status=value).values_list("pk", flat=True))
        return queryset.filter(status_type_id__in=type_ids)


    def by_exemption(self, queryset, name, value):
        """Exempt today: an exemption that runs until today or later (SPEC §11)."""
        exempt = Q(collections_exempt_until__gte=today())
        return queryset.filter(exempt) if value == "exempt" else queryset.exclude(exempt)


def accounts_filtered(params):
    """The FilterSet over all accounts, newest first."""
    return AccountFilter(params, queryset=Account.objects.select_related("status_type").order_by("-id"))


@dataclass(frozen=True)
class Sort:
    """A column of the list one may sort by: what it is called, and the key that keyset paging orders by
    (with id after it); None when id order is the column's order."""

    label: str
    key: str | None


# Numbers are assigned from ids (accounts.services.assign_numbers), so number order is id order, numerically.
ACCOUNT_SORTS = {
    "number": Sort("Number", None),
    "name": Sort("Name", "name"),
    "status": Sort("Status", "status_name"),
    "created": Sort("Created", None),
}
DEFAULT_SORT = "-created"


def parse_sort(value: str | None) -> tuple[str, Sort, bool] | None:
    """`name` or `-name` → ("name", its Sort, descending); None for a column that is not in ACCOUNT_SORTS."""
    value = value or DEFAULT_SORT
    name = value.removeprefix("-")
    sort = ACCOUNT_SORTS.get(name)
    return None if sort is None else (name, sort, value.startswith("-"))


def accounts_sorted(queryset, sort: Sort):
    """The queryset with the sort's key selected (the status type's name, when sorting by status)."""
    return queryset.annotate(status_name=F("status_type__name")) if sort.key == "status_name" else queryset
