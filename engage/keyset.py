"""Keyset paging of pages (accounts list, audit log): newest first by id, the next page starts below the
last id shown; no OFFSET and no COUNT(*), so page N costs what page 1 does at any size."""


def keyset_page(queryset, below: int | None, size: int) -> tuple[list, int | None]:
    """One page of `queryset` (ordered by -id) with ids below `below`, and the marker of the next page."""
    if below is not None:
        queryset = queryset.filter(id__lt=below)
    rows = list(queryset[: size + 1])
    if len(rows) > size:
        rows = rows[:size]
        return rows, rows[-1].pk
    return rows, None
