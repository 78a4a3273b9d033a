"""The chain of custody stays append-only for everyone but the two doors privacy opens: the
retention purge deletes, an erasure blanks names and notes. On PostgreSQL the database keeps
those doors narrow too."""

import pytest
from django.db import IntegrityError, connection, transaction

from lastbell.dismissal.models import AppendOnly, CustodyEvent

TABLE = CustodyEvent._meta.db_table


def test_the_model_opens_no_other_door(record):
    events = CustodyEvent.objects.filter(student=record.student)
    with pytest.raises(AppendOnly):
        events.update(note="")
    with pytest.raises(AppendOnly), transaction.atomic():
        events.redact(kind="sent")  # only names and notes
    assert events.filter(note="Ana was sad today").exists()


@pytest.mark.postgres
def test_postgresql_lets_only_the_purge_and_the_redaction_through(record):
    event = CustodyEvent.objects.filter(student=record.student, to_label__gt="").first()
    for sql in (f"UPDATE {TABLE} SET to_label = '' WHERE id = %s",  # noqa: S608
                f"DELETE FROM {TABLE} WHERE id = %s"):  # noqa: S608  # fmt: skip
        with (pytest.raises(IntegrityError, match="never edited or deleted"),
              transaction.atomic(), connection.cursor() as cursor):  # fmt: skip
            cursor.execute(sql, [event.pk])
    # The redaction's setting lets names and notes change, and nothing else.
    with (pytest.raises(IntegrityError, match="never edited or deleted"),
          transaction.atomic(), connection.cursor() as cursor):  # fmt: skip
        cursor.execute("SET LOCAL lastbell.custody_redact = 'on'")
        cursor.execute(f"UPDATE {TABLE} SET to_label = '', kind = 'sent' WHERE id = %s",  # noqa: S608
                       [event.pk])  # fmt: skip
    # A setting ends with its transaction.
    with transaction.atomic():
        CustodyEvent.objects.filter(pk=event.pk).redact(to_label="")
    with (pytest.raises(IntegrityError), transaction.atomic(),
          connection.cursor() as cursor):  # fmt: skip
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])  # noqa: S608
    with transaction.atomic():
        assert CustodyEvent.objects.filter(pk=event.pk).retention_purge() == 1
    assert not CustodyEvent.objects.filter(pk=event.pk).exists()
