"""Inserting many rows fast, for the imports' hot paths (a million absences and their audit
events). Django's `bulk_create` builds a model instance and prepares every value through the
SQL compiler, which costs more than the database does at that scale; this prepares each column
once and sends multi-row INSERTs on SQLite, and COPY on PostgreSQL (where psycopg would spend
longer parsing a long INSERT's placeholders than the server spends inserting).

`field__in_array=ids` is the same idea for lookups: on PostgreSQL one array parameter instead
of thousands of placeholders."""

import functools
from collections.abc import Iterable, Sequence

from django.core.exceptions import EmptyResultSet
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
    if connection.vendor == "postgresql":
        return _copy(model, fields, prepared, rows, returning)
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


def _copy(model, fields, prepared, rows, returning) -> list[int]:
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk.column
    rows = list(rows)
    ids: list[int] = []
    columns = [f.column for f in fields]
    with connection.cursor() as cursor:
        if returning and rows:
            # COPY returns nothing: take the ids from the table's sequence first.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk, len(rows)],
            )
            ids = [r[0] for r in cursor.fetchall()]
            columns = [pk, *columns]
        sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for n, row in enumerate(rows):
                row = list(row)
                for i, prep in prepared:
                    row[i] = prep(row[i])
                copy.write_row([ids[n], *row] if ids else row)
    return ids


@models.Field.register_lookup
class InArray(models.Lookup):
    """`field__in_array=values`: `field IN (values)`, sent on PostgreSQL as `field = ANY(array)`,
    one parameter instead of thousands of placeholders, which plans as one index probe per
    value (`IN (SELECT unnest(...))` may hash-join against the whole index instead)."""

    lookup_name = "in_array"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            field = self.lhs.output_field
            if isinstance(field, models.ForeignKey):
                field = field.target_field  # student_id: the student's id
            if isinstance(field, models.CharField | models.TextField):
                kind = "text"
            elif isinstance(field, models.IntegerField):
                kind = "bigint"
            else:
                raise TypeError(f"in_array takes text or integer fields, not {field!r}")
            return f"{lhs} = ANY(%s::{kind}[])", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


# Relations look their lookups up among their own only: `student_id__in_array` too.
models.ForeignObject.register_lookup(InArray)
