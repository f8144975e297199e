"""How API lists page (SPEC §9): `limit` from 1 to 500, and `offset` (or `cursor` on the accounts list). A limit,
offset or cursor that is too large, negative, empty, not a number, not one the list gave out — or the other
kind's parameter (`offset` on a cursor list, `cursor` on an offset list) — is a 400 naming the parameter, never
the first page as if nothing had been asked."""

from base64 import b64encode
from urllib import parse

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

from .limits import parse_id

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000  # past any real list; a deeper page is what cursor paging is for
MAX_CURSOR_CHARS = 100  # a cursor we give out is under 60 characters
CURSOR_PATTERN = r"^[A-Za-z0-9+/]+={0,2}$"
NOT_OURS = "This cursor is not one this list gave out: follow the list's next or previous link."


def _bounded_int(request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    number = parse_id(raw)
    if number is None or not low <= number <= high:
        raise ValidationError({name: [f"Give a whole number from {low} to {high:,}."]})
    return number


def _refuse_other_kind(request, name: str, message: str) -> None:
    if name in request.query_params:
        raise ValidationError({name: [message]})


def _integer_schema(name: str, description: str, low: int, high: int) -> dict:
    return {
        "name": name,
        "required": False,
        "in": "query",
        "description": f"{description} From {low} to {high:,}; anything else is a 400.",
        "schema": {"type": "integer", "minimum": low, "maximum": high},
    }


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def paginate_queryset(self, queryset, request, view=None):
        _refuse_other_kind(request, "cursor", "This list pages with limit and offset, not a cursor.")
        return super().paginate_queryset(queryset, request, view)

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


def _canonical(cursor) -> str:
    """The text CursorPagination.encode_cursor writes for `cursor`: a cursor we gave out reads back as itself."""
    tokens = {}
    if cursor.offset != 0:
        tokens["o"] = str(cursor.offset)
    if cursor.reverse:
        tokens["r"] = "1"
    if cursor.position is not None:
        tokens["p"] = cursor.position
    return b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")


class BoundedCursorPagination(CursorPagination):
    """Cursor paging on an integer key: a cursor that was not made by us is a 400, never a 404, a 500 or the
    first page. DRF reads any base64 as some cursor (10,000 "A"s as the first page), so the cursor must be the
    very text we write for what it says: a position that is an id, an offset within DRF's cutoff."""

    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT

    def paginate_queryset(self, queryset, request, view=None):
        _refuse_other_kind(request, "offset", "This list pages with a cursor, not an offset: follow its next link.")
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        return _bounded_int(request, self.page_size_query_param, default=self.page_size, low=1, high=MAX_LIMIT)

    def decode_cursor(self, request):
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        cursor = None
        if 0 < len(raw) <= MAX_CURSOR_CHARS:
            try:
                cursor = super().decode_cursor(request)
            except (NotFound, UnicodeError):
                cursor = None
        if (cursor is None or _canonical(cursor) != raw
                or (cursor.position is not None and parse_id(cursor.position) is None)):
            raise ValidationError({self.cursor_query_param: [NOT_OURS]})
        return cursor

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param.update(_integer_schema(param["name"], "Number of results to return per page.", 1, MAX_LIMIT))
            elif param["name"] == self.cursor_query_param:
                param["description"] = ("Where the page starts: the `cursor` of the list's `next` or `previous` "
                                        "link, as it is. Any other value is a 400.")
                param["schema"] = {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_CHARS,
                                   "pattern": CURSOR_PATTERN}
        return params
