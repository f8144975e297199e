"""How input comes in (SPEC §9, "Input bounds"): one strict contract for pages and API.

Dates: exactly YYYY-MM-DD, a real day, from FIRST_DATE to LAST_DATE. Pages use PageDateField (PageDateFilter in a
django-filter FilterSet), the API ApiDateField (date_parameter for a query parameter), commands
engage.commands.parse_date: each reads limits.check_date, so each refuses `20261201`, `2027-1-1`, `12/31/2026`
and `9999-12-31` alike, naming the field. Django's and DRF's own DateFields read those (Django's localised input
formats, DRF's date.fromisoformat and 1-digit months).

JSON types: an API serializer (ApiSerializer, ApiModelSerializer) takes a JSON body as the schema types it; DRF
alone reads {"name": 0} as "0", {"quantity": "5"} as 5 and {"dry_run": "yes"} as true.

Filters: StrictFilterBackend reads the FilterSet the page reads, but an empty value is a 400 in the API."""

from collections.abc import Mapping

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.utils import html

from .errors import DomainError
from .limits import FIRST_DATE, LAST_DATE, check_date

# What the schema says a client may send: the format, and a pattern holding the years of the bounds (1990 to
# 2199), so that a schema-driven client (or fuzzer) makes dates the API takes. tests/engage/test_input_contract.py
# checks that it agrees with FIRST_DATE and LAST_DATE.
DATE_PATTERN = r"^(199\d|2[01]\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
DATE_DESCRIPTION = f"A day, exactly YYYY-MM-DD, from {FIRST_DATE} to {LAST_DATE}."
DATE_SCHEMA = {"type": "string", "format": "date", "pattern": DATE_PATTERN}


def _checked(value, what: str):
    try:
        return check_date(value, field="", label=what)
    except DomainError as err:
        raise ValidationError(err.message, code="invalid") from None


class PageDateField(forms.DateField):
    """A form's business date: the browser's date picker sends YYYY-MM-DD, bounded by min and max; a typed or
    forged value is checked as the API checks it. `what` names it in the message ("Start date must be …")."""

    def __init__(self, *, what: str = "The date", **kwargs):
        self.what = what
        kwargs.setdefault("widget", forms.DateInput(attrs={"class": "form-control"}))
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "type": "date", "min": FIRST_DATE.isoformat(),
                "max": LAST_DATE.isoformat()}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return _checked(value, self.what)


@extend_schema_field({**DATE_SCHEMA, "description": DATE_DESCRIPTION})
class PageDateFilter(django_filters.DateFilter):
    """A FilterSet's business date (PageDateField)."""

    field_class = PageDateField


class ApiDateField(serializers.DateField):
    """A serializer's business date. Its answers are written as DRF's DateField writes them."""

    def __init__(self, *, what: str = "The date", **kwargs):
        self.what = what
        super().__init__(**kwargs)

    def get_value(self, dictionary):
        # DRF reads an empty value in a query string or a form body as "not given" (or as null where null is
        # allowed): `?date=` is a malformed date, not today's, and `until=` not an exemption's end (JSON's null is).
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, value):
        try:
            return check_date(value, field=self.field_name, label=self.what)
        except DomainError as err:
            raise serializers.ValidationError(err.message, code="invalid") from None


class ApiDateFieldSchema(OpenApiSerializerFieldExtension):
    """In a request: the pattern and the bounds; in a response: a date (a system-made date may lie past the bounds,
    a next bill date after 2199-12-31, say)."""

    target_class = ApiDateField

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return dict(DATE_SCHEMA)
        return {"type": "string", "format": "date"}


def date_parameter(name: str, description: str) -> OpenApiParameter:
    """A query parameter that is a business date (read with ApiDateField)."""
    return OpenApiParameter(name, {**DATE_SCHEMA}, description=f"{description} {DATE_DESCRIPTION}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# (field class, test of the JSON value, what the message asks for), the first that matches a field wins.
_JSON_TYPES = (
    (serializers.BooleanField, lambda v: isinstance(v, bool), "true or false"),
    (serializers.IntegerField, _is_int, "a whole number"),
    (serializers.PrimaryKeyRelatedField, _is_int, "an id (a whole number)"),
    (serializers.DecimalField, lambda v: isinstance(v, str), 'a decimal number written as a string, like "19.95"'),
    (serializers.CharField, lambda v: isinstance(v, str), "text (a string)"),
    (serializers.ChoiceField, lambda v: isinstance(v, str), "one of the listed values (a string)"),
)


def _json_type_problem(field, value) -> str | None:
    if value is None:
        return None  # the field's allow_null decides
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            if problem := _json_type_problem(field.child, item):
                return problem
        return None
    for field_class, test, wanted in _JSON_TYPES:
        if isinstance(field, field_class):
            return None if test(value) else f"Must be {wanted}."
    return None


# Text may be empty (allow_blank decides), a list is its items, a date says "must be a date" itself.
_MAY_BE_EMPTY = (serializers.CharField, serializers.ListField, serializers.DateField)


# A serializer's JSON body typed as its schema says: a value of another JSON type is a 400 naming the field, before
# DRF would convert it; in a form body (all text) an empty value is refused where DRF would drop it. (Comments, not
# docstrings, on these three classes: drf-spectacular would describe every request component with an inherited one.)
class StrictJson:
    def to_internal_value(self, data):
        writable = [f.field_name for f in self.fields.values() if not f.read_only]
        if self.partial and isinstance(data, Mapping) and not any(name in data for name in writable):
            # An edit that names no field (an empty body, a body that is not one) changes nothing: say so.
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
                f"Nothing to change: give at least one of {', '.join(writable)}."]})
        errors = {}
        if isinstance(data, Mapping) and not html.is_html_input(data):
            for field in self.fields.values():
                if not field.read_only and field.field_name in data:
                    if problem := _json_type_problem(field, data[field.field_name]):
                        errors[field.field_name] = [problem]
        elif html.is_html_input(data):
            # A form body is all text: DRF reads an empty value of a number, a choice, a yes/no or an id as "not
            # given" (or null); it is a value that was meant and lost. Leave the field out instead.
            for field in self.fields.values():
                if (not field.read_only and data.get(field.field_name) == ""
                        and not isinstance(field, _MAY_BE_EMPTY) and not getattr(field, "allow_blank", False)):
                    errors[field.field_name] = ["Give a value, or leave the field out."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class ApiSerializer(StrictJson, serializers.Serializer):  # the base of a request's serializer
    pass


class ApiModelSerializer(StrictJson, serializers.ModelSerializer):  # the base of a request's model serializer
    pass


class StrictFilterBackend(DjangoFilterBackend):
    """The accounts list's FilterSet, read as the page reads it, except that an empty value (`?status_type=`) is a
    400 naming the parameter: on the page it is a drop-down's "Any", in the API a value that was meant and lost.
    A search (`q=`) may be empty."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            empty = [name for name, f in filterset_class.base_filters.items()
                     if request.query_params.get(name) == "" and not isinstance(f, django_filters.CharFilter)]
            if empty:
                raise serializers.ValidationError({name: ["Give a value, or leave the parameter out."]
                                                   for name in empty})
        return super().filter_queryset(request, queryset, view)
