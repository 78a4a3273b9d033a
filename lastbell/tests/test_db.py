"""The bulk helpers of lastbell/db.py, on whichever database the suite runs against."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.db import insert_rows
from lastbell.people.models import Student

pytestmark = pytest.mark.django_db


def test_insert_rows_returns_the_new_ids_in_the_order_of_the_rows():
    school = testing.make_school(testing.make_district())
    pupils = [testing.make_student(school) for _ in range(3)]
    now = timezone.now()
    rows = [
        (
            pupil.pk,
            dt.date(2026, 11, 16 + n),
            "absent",
            n == 1,
            None,
            f"R{n}",
            f"e,{n}'",
            "",
            "import",
            now,
        )
        for n, pupil in enumerate(pupils)
    ]
    columns = ["student_id", "date", "kind", "excused", "departs_at", "reason", "external_id",
               "source_detail", "source", "created_at"]  # fmt: skip
    ids = insert_rows(Absence, columns, rows, returning=True)
    assert len(ids) == 3
    for pk, row in zip(ids, rows, strict=True):
        absence = Absence.objects.get(pk=pk)
        assert (absence.student_id, absence.date, absence.excused, absence.reason,
                absence.external_id) == (row[0], row[1], row[3], row[5], row[6])  # fmt: skip


def test_in_array_matches_numbers_and_text_with_commas_and_quotes():
    school = testing.make_school(testing.make_district())
    pupils = [testing.make_student(school) for _ in range(4)]
    odd = ["a,b", "o'neil", 'say "hi"', "{x}"]
    for pupil, event in zip(pupils, odd, strict=True):
        Absence.objects.create(student=pupil, date=dt.date(2026, 11, 16), external_id=event)
    wanted = {pupils[0].pk, pupils[2].pk}
    assert set(Student.objects.filter(pk__in_array=wanted).values_list("pk", flat=True)) == wanted
    found = Absence.objects.filter(external_id__in_array=odd[1:]).values_list("external_id")
    assert sorted(e for (e,) in found) == sorted(odd[1:])
    by_student = Absence.objects.filter(student_id__in_array=[pupils[1].pk, pupils[3].pk])
    assert sorted(by_student.values_list("external_id", flat=True)) == sorted([odd[1], odd[3]])
    assert list(Student.objects.filter(pk__in_array=[])) == []
    assert Student.objects.exclude(pk__in_array=[]).count() == 4


def test_in_array_refuses_on_postgresql_a_field_it_cannot_send_as_an_array():
    school = testing.make_school(testing.make_district())
    Absence.objects.create(student=testing.make_student(school), date=dt.date(2026, 11, 16))
    dates = Absence.objects.filter(date__in_array=[dt.date(2026, 11, 16)])
    if connection.vendor == "postgresql":  # an array of dates would be cast to bigint[]
        with pytest.raises(TypeError, match="text or integer"):
            list(dates)
    else:  # a plain IN takes any field
        assert dates.count() == 1
