"""CSV downloads streamed from an iterator (memory stays flat at a million rows), every cell safe to open in
a spreadsheet."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse


class _Echo:
    """csv.writer writes each row here and gets the line back, to stream it."""

    def write(self, value):
        return value


def csv_cell(value):
    """A cell a spreadsheet shows as text: one that starts with = + - @ or a tab or return would run as a
    formula (CSV injection), so it is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


def csv_response(header: Iterable, rows: Iterable[Iterable], *, filename: str) -> StreamingHttpResponse:
    """A download of `header` then `rows` (an iterator: read as the response is sent)."""
    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(list(header))
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
