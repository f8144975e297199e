"""How API lists page (SPEC §9): `limit` from 1 to 500; a larger or malformed limit, offset or cursor is a 400."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

from .limits import parse_id

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000  # past any real list; a deeper page is what cursor paging is for


def _bounded_int(request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    number = parse_id(raw)
    if number is None or not low <= number <= high:
        raise ValidationError({name: [f"Give a whole number from {low} to {high:,}."]})
    return number


def _integer_schema(name: str, description: str, low: int, high: int) -> dict:
    return {
        "name": name,
        "required": False,
        "in": "query",
        "description": description,
        "schema": {"type": "integer", "minimum": low, "maximum": high},
    }


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        return _bounded_int(request, self.limit_query_param, default=self.default_limit, low=1, high=MAX_LIMIT)

    def get_offset(self, request):
        return _bounded_int(request, self.offset_query_param, default=0, low=0, high=MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        return [
            _integer_schema(self.limit_query_param, "Number of results to return per page.", 1, MAX_LIMIT),
            _integer_schema(self.offset_query_param, "The initial index from which to return the results.",
                            0, MAX_OFFSET),
        ]


class BoundedCursorPagination(CursorPagination):
    """Cursor paging on an integer key: a cursor that was not made by us is a 400, never a 404 or a 500."""

    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT

    def get_page_size(self, request):
        return _bounded_int(request, self.page_size_query_param, default=self.page_size, low=1, high=MAX_LIMIT)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            position = cursor.position if cursor else None
            valid = position is None or parse_id(position) is not None
        if not valid or (cursor and cursor.offset > MAX_OFFSET):
            raise ValidationError({self.cursor_query_param: ["This cursor is not one this list gave out."]})
        return cursor

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
        return params
