"""Inserting many rows fast, for the imports' hot paths (a million absences and their audit
events). Django's `bulk_create` builds a model instance and prepares every value through the
SQL compiler, which costs more than the database does at that scale; this prepares each column
once and sends plain multi-row INSERTs, on SQLite and PostgreSQL alike."""

import functools
from collections.abc import Iterable, Sequence

from django.db import connection, models

_MAX_PARAMS = 30_000  # under SQLite's 32,766 variables per statement


def _prepare(field: models.Field):
    # Dates and times repeat across a file's rows (one import's timestamp, a few days): each
    # distinct value is adapted once.
    if isinstance(field, models.DateTimeField):
        return functools.lru_cache(maxsize=64)(connection.ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return functools.lru_cache(maxsize=1024)(connection.ops.adapt_datefield_value)
    if isinstance(field, models.TimeField):
        return functools.lru_cache(maxsize=1024)(connection.ops.adapt_timefield_value)
    if isinstance(field, models.JSONField):
        return lambda value: connection.ops.adapt_json_value(value, field.encoder)
    return None


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence],
                *, returning: bool = False) -> list[int]:  # fmt: skip
    """INSERT `rows` (tuples in the order of `columns`, attnames such as "student_id") into
    `model`'s table. With `returning`, the new ids, in the order of the rows."""
    fields = [model._meta.get_field(name) for name in columns]
    prepared = [(n, prep) for n, f in enumerate(fields) if (prep := _prepare(f))]
    quote = connection.ops.quote_name
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 — names from the model
        f"({', '.join(quote(f.column) for f in fields)}) VALUES "
    )
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per = max(1, min(1000, _MAX_PARAMS // len(fields)))
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    ids: list[int] = []
    chunk: list = []
    rows = iter(rows)
    with connection.cursor() as cursor:
        while True:
            chunk.clear()
            for row in rows:
                row = list(row)
                for n, prep in prepared:
                    row[n] = prep(row[n])
                chunk.extend(row)
                if len(chunk) >= per * len(fields):
                    break
            if not chunk:
                return ids
            count = len(chunk) // len(fields)
            cursor.execute(head + ", ".join([one] * count) + tail, chunk)
            if returning:
                ids.extend(r[0] for r in cursor.fetchall())
