"""Many rows updated with their own values in one statement: `UPDATE … FROM` a list of rows joined through the
primary key (on PostgreSQL an unnest of one array per column, which the planner joins by the primary key; on
SQLite a VALUES list, 500 rows a statement), not Django's CASE per row nor a statement per distinct value."""

from django.db import connection

SQLITE_ROWS = 500


def update_rows(model, columns: list[tuple[str, str]], rows: list[tuple], *, assignments: list[str]) -> None:
    """`columns`: the row's (column name, PostgreSQL type) pairs, the primary key (bigint) first, the others
    bigint or date; `rows`: tuples in that order; `assignments`: the SET clauses, in terms of `v.<column>` (the
    row) and `t.<column>` (the table's row), e.g. `"status_type_id = v.status_type_id"`,
    `"version = t.version + 1"`."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), [name for name, _ in columns]
    key = names[0]
    sets = ", ".join(assignments)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = [_array_literal(row[i] for row in rows) for i in range(len(columns))]
            casts = ", ".join(f"%s::{sql_type}[]" for _, sql_type in columns)
            # The keys again as a condition on the table: without it the planner, knowing the array's length,
            # may join it to a scan of the whole table (a scan per chunk of a pass).
            cursor.execute(
                f"UPDATE {table} AS t SET {sets} FROM unnest({casts}) AS v({', '.join(names)}) "
                f"WHERE t.{key} = v.{key} AND t.{key} = ANY(%s::bigint[])",
                [*arrays, arrays[0]],
            )
            return
        adapt = [_sqlite_adapter(sql_type) for _, sql_type in columns]
        for i in range(0, len(rows), SQLITE_ROWS):
            batch = rows[i : i + SQLITE_ROWS]
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(batch))
            cursor.execute(
                f"WITH v({', '.join(names)}) AS (VALUES {values}) UPDATE {table} AS t SET {sets} FROM v "
                f"WHERE t.{key} = v.{key}",
                [fn(value) for row in batch for fn, value in zip(adapt, row, strict=True)],
            )


def _array_literal(values) -> str:
    """ids or dates as one PostgreSQL array literal ('{1,NULL}', '{2031-01-01}': str of either needs no quoting),
    which costs a join; psycopg adapting a list costs microseconds an element, more than the UPDATE that reads
    it."""
    return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"


def _sqlite_adapter(sql_type: str):
    if sql_type == "date":
        return connection.ops.adapt_datefield_value
    return lambda value: value
