"""Keyset paging of pages (accounts list, audit log): rows in a fixed order of (sort value, id); the next page
starts after the last row shown and the previous page ends before the first one. No OFFSET and no COUNT(*),
so page N costs what page 1 does at any size."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from .limits import parse_id


@dataclass(frozen=True)
class Marker:
    """Where a page starts or ends: the sort value and id of a row (value is None when the order is id alone)."""

    value: Any
    pk: int

    def __str__(self):
        return str(self.pk) if self.value is None else f"{self.value}|{self.pk}"


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    next: Marker | None  # the last row, when a page follows
    previous: Marker | None  # the first row, when a page comes before


def parse_marker(text: str, *, has_value: bool, max_chars: int = 200) -> Marker | None:
    """`<id>` when the order is id alone, else `<value>|<id>`; None for anything else (a forged or stale link)."""
    if has_value:
        value, sep, pk = str(text).rpartition("|")
        if not sep or len(value) > max_chars:
            return None
    else:
        value, pk = None, text
    pk = parse_id(pk)
    return None if pk is None else Marker(value, pk)


def order_for(key: str | None, descending: bool) -> list[str]:
    """The ORDER BY of a keyset: the key, then id as the tie-breaker, in one direction."""
    sign = "-" if descending else ""
    return [f"{sign}{field}" for field in ([key] if key else []) + ["id"]]


def _past(key: str | None, marker: Marker, descending: bool) -> Q:
    """The rows after `marker` in the order: (key, id) > (value, pk), or < when descending."""
    op = "lt" if descending else "gt"
    if key is None:
        return Q(**{f"id__{op}": marker.pk})
    # The first term is implied by the other two; it is the range an index on (key, id) starts its scan at,
    # so a deep page reads a page of index entries, not every entry before it.
    return Q(**{f"{key}__{op}e": marker.value}) & (
        Q(**{f"{key}__{op}": marker.value}) | Q(**{key: marker.value, f"id__{op}": marker.pk})
    )


def _marker(row, key: str | None) -> Marker:
    return Marker(None if key is None else getattr(row, key), row.pk)


def keyset_window(
    queryset,
    *,
    key: str | None,
    descending: bool,
    size: int,
    after: Marker | None = None,
    before: Marker | None = None,
) -> KeysetPage:
    """One page of `queryset` ordered by (key, id) (both descending or both ascending; `key` a field or an
    annotation, None for id alone): the first page, the page after `after`, or the page before `before`
    (read in the reverse order, then turned round). Its ordering is replaced."""
    if before is not None:
        rows = list(queryset.filter(_past(key, before, not descending)).order_by(*order_for(key, not descending))[
            : size + 1
        ])
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return KeysetPage(rows, _marker(rows[-1], key) if rows else None,
                          _marker(rows[0], key) if rows and more_before else None)
    if after is not None:
        queryset = queryset.filter(_past(key, after, descending))
    rows = list(queryset.order_by(*order_for(key, descending))[: size + 1])
    more_after = len(rows) > size
    rows = rows[:size]
    return KeysetPage(rows, _marker(rows[-1], key) if more_after else None,
                      _marker(rows[0], key) if rows and after is not None else None)


def keyset_page(queryset, below: int | None, size: int) -> tuple[list, int | None]:
    """One page of `queryset` newest first (by -id) with ids below `below`, and the marker of the next page."""
    page = keyset_window(queryset, key=None, descending=True, size=size,
                         after=None if below is None else Marker(None, below))
    return page.rows, page.next.pk if page.next else None
