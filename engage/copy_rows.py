"""Fast bulk writes for the passes: on PostgreSQL, ids drawn from the table's sequence in one query and rows
written with COPY; elsewhere (SQLite, the embedded default) Django's bulk_create. Constraints hold either
way: COPY checks every unique key and foreign key as an INSERT does."""

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb

# Below this many rows the plain INSERT is as quick, and simpler to read in a query log.
COPY_MIN_ROWS = 200


def _uses_copy(n: int) -> bool:
    return connection.vendor == "postgresql" and n >= COPY_MIN_ROWS


def insert_objects(model, objects: list, *, batch_size: int = 1000) -> list:
    """Save new model instances; each gets its pk (as bulk_create gives it). auto_now_add fields are set."""
    if not objects:
        return objects
    if not _uses_copy(len(objects)):
        return model.objects.bulk_create(objects, batch_size=batch_size)
    meta = model._meta
    now = timezone.now()
    fields = [f for f in meta.concrete_fields]
    for f in fields:
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            for obj in objects:
                setattr(obj, f.attname, now)
    table = connection.ops.quote_name(meta.db_table)
    pk_column = meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk_column, len(objects)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        for obj, pk in zip(objects, ids, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        # The passes' models hold ints, str, Decimal, date, UUID and aware datetimes, which psycopg adapts as
        # they are, and JSON (wrapped, as Django's JSONField would write it).
        attnames = [f.attname for f in fields]
        json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                values = obj.__dict__
                copy.write_row([
                    Jsonb(values[a]) if a in json_fields and values[a] is not None else values[a] for a in attnames
                ])
    return objects


_LAYOUTS: dict = {}


def build(model, values: dict):
    """`model(**values)` for the passes' hundreds of thousands of new rows, at a fraction of the cost: the
    instance gets its field values as a row read from the database keeps them (in its __dict__, by attname:
    `account_id`, not `account`), every other field its default, and a fresh state (adding). No __init__, so
    no pre_init/post_init signal: only for models with no receivers of those (the passes' rows: lines,
    invoices, audit entries, outbox messages, provisioning jobs)."""
    layout = _LAYOUTS.get(model)
    if layout is None:  # (attname, a default to call, or a constant one: None or "")
        layout = _LAYOUTS[model] = [
            (f.attname, f.get_default, None) if f.has_default() else (f.attname, None, f.get_default())
            for f in model._meta.concrete_fields
        ]
    obj = model.__new__(model)
    obj._state = models.base.ModelState()
    obj.__dict__.update(
        (name, values[name] if name in values else (call() if call else constant)) for name, call, constant in layout
    )
    return obj
