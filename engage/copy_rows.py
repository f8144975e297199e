"""Fast bulk writes for the passes: on PostgreSQL, ids drawn from the table's sequence in one query and rows
written with COPY; elsewhere (SQLite, the embedded default) Django's bulk_create. Constraints hold either
way: COPY checks every unique key and foreign key as an INSERT does.

Two doors: `insert_objects` saves model instances (each gets its pk); `insert_rows` saves rows given as
tuples, without an instance per row on PostgreSQL (the billing pass's lines and invoices)."""

from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb

# Below this many rows the plain INSERT is as quick, and simpler to read in a query log.
COPY_MIN_ROWS = 200


def _uses_copy(n: int) -> bool:
    return connection.vendor == "postgresql" and n >= COPY_MIN_ROWS


_SEQUENCES: dict[str, str] = {}


def new_ids(model, n: int) -> list[int]:
    """n ids drawn from the model's sequence in one query (PostgreSQL), for rows written with COPY. The
    sequence is named as a constant: pg_get_serial_sequence inside the query would run once per id."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if table not in _SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            _SEQUENCES[table] = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [_SEQUENCES[table], n])
        return [row[0] for row in cursor.fetchall()]


def _copy(model, attnames: list[str], rows) -> None:
    """COPY the rows (sequences of values in `attnames`' order) into the model's table. The passes' models
    hold ints, str, Decimal, date, UUID and aware datetimes, which psycopg adapts as they are, and JSON
    (wrapped, as Django's JSONField would write it)."""
    meta = model._meta
    fields = [meta.get_field(name) for name in attnames]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    row = [Jsonb(v) if i in json_at and v is not None else v for i, v in enumerate(row)]
                copy.write_row(row)


def insert_objects(model, objects: list, *, batch_size: int = 1000) -> list:
    """Save new model instances; each gets its pk (as bulk_create gives it). auto_now_add fields are set."""
    if not objects:
        return objects
    if not _uses_copy(len(objects)):
        return model.objects.bulk_create(objects, batch_size=batch_size)
    now = timezone.now()
    stamped = _stamped(model)
    for attname in stamped:
        for obj in objects:
            setattr(obj, attname, now)
    for obj, pk in zip(objects, new_ids(model, len(objects)), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    attnames = [f.attname for f in model._meta.concrete_fields if f.attname not in stamped]
    tail = _stamp(now, stamped)
    _copy(model, [*attnames, *stamped], ((*[obj.__dict__[a] for a in attnames], *tail) for obj in objects))
    return objects


def _stamped(model) -> list[str]:
    """The fields a save stamps with the time (auto_now, auto_now_add)."""
    return [f.attname for f in model._meta.concrete_fields
            if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)]


def _stamp(now, stamped: list[str]) -> tuple[str, ...]:
    # The time as ISO text, once for every row: psycopg adapting an aware datetime costs more than the rest of
    # a line's values together.
    return (now.isoformat(),) * len(stamped)


def insert_rows(model, attnames: Sequence[str], rows: list[tuple], *, ids: bool = False,
                batch_size: int = 1000) -> list[int] | None:
    """Save new rows given as tuples of the values of `attnames` (`account_id`, not `account`); the fields not
    named get what a save gives them (auto_now stamps, defaults). On PostgreSQL no model instance is made: the
    ids (when `ids`) come from the sequence in one query and the rows go in with COPY; elsewhere, or for a few
    rows, through bulk_create. Returns the new ids in the rows' order when `ids`, else None."""
    if not rows:
        return [] if ids else None
    if not _uses_copy(len(rows)):
        objects = model.objects.bulk_create([build(model, dict(zip(attnames, row, strict=True))) for row in rows],
                                            batch_size=batch_size)
        return [obj.pk for obj in objects] if ids else None
    stamped = [a for a in _stamped(model) if a not in attnames]
    tail = _stamp(timezone.now(), stamped)
    names = [*attnames, *stamped]
    if not ids:
        _copy(model, names, (row + tail for row in rows))
        return None
    pks = new_ids(model, len(rows))
    _copy(model, [model._meta.pk.attname, *names], ((pk, *row, *tail) for pk, row in zip(pks, rows, strict=True)))
    return pks


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
