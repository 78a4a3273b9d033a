"""Logs carry ids, never a student's or a guardian's name, email address or phone number:
a message sent, a message failing, an import with rejected rows and a dismissal release,
with every logger listening at every level."""

import datetime as dt
import logging

import pytest
from django.db import transaction

from lastbell import testing
from lastbell.dismissal import services as dismissal
from lastbell.dismissal.models import CustodyEvent, Verification
from lastbell.dismissal.services import Adult
from lastbell.imports.oneroster import import_oneroster
from lastbell.imports.tests.helpers import SAMPLE_PARENT_SCHOOL, copy_sample, read_csv, write_csv
from lastbell.messaging.models import Channel, Status
from lastbell.messaging.services import deliver_due, queue_message
from lastbell.messaging.tests.conftest import sms_gateway, smtp_port  # noqa: F401 — fixtures
from lastbell.messaging.tests.support import smtp_server

PACIFIC = dt.timezone(dt.timedelta(hours=-8))
# The loopback SMTP server of the tests logs what it receives: it stands for the district's
# mail server, not for Last Bell.
NOT_OURS = ("mail.log",)


def _written(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


def personal_data_in(records, needles) -> list[tuple[str, str]]:
    return [
        (record.name, needle)
        for record in records
        if not record.name.startswith(NOT_OURS)
        for needle in needles
        if needle.casefold() in _written(record).casefold()
    ]


@pytest.fixture
def family(school):
    student = testing.make_student(school, first="Anneliese", last="Vandermeer")
    guardian = testing.make_guardian(student, first="Rosalind", last="Okonkwo-Hart",
                                     mobile="+15550142777")  # fmt: skip
    return student, guardian


def needles_of(student, guardian) -> list[str]:
    return [student.first_name, student.last_name, guardian.first_name, guardian.last_name,
            guardian.email, guardian.mobile, "5550142777"]  # fmt: skip


def test_messages_sent_and_failing_log_no_personal_data(caplog, family, school, smtp_port,  # noqa: F811
                                                        sms_gateway, time_machine):  # noqa: F811  # fmt: skip
    student, guardian = family
    time_machine.move_to(dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC), tick=False)
    caplog.set_level(logging.DEBUG)
    body = f"{student.first_name} {student.last_name} goes home with {guardian.full_name}."
    with transaction.atomic():
        sent = queue_message(
            channel=Channel.EMAIL,
            to=guardian.email,
            body=body,
            school=school,
            student=student,
            guardian=guardian,
        )
        refused = queue_message(
            channel=Channel.EMAIL,
            to="rosalind@nowhere.test",
            body=body,
            school=school,
            student=student,
            guardian=guardian,
        )
        text = queue_message(
            channel=Channel.SMS,
            to=guardian.mobile,
            body=body,
            school=school,
            student=student,
            guardian=guardian,
        )
    # The gateway refuses the number, quoting it back as gateways do.
    sms_gateway.reply = (400, {"message": f"The 'To' number {guardian.mobile} is not valid."})

    with smtp_server(smtp_port):
        outcome = deliver_due()

    assert outcome == {"sent": 1, "failed": 2}
    sent.refresh_from_db(), refused.refresh_from_db(), text.refresh_from_db()
    assert (sent.status, refused.status, text.status) == (Status.SENT, Status.FAILED,
                                                          Status.FAILED)  # fmt: skip
    failures = [r for r in caplog.records if r.name == "lastbell.messaging.services"]
    assert len(failures) == 2  # the failures are logged, by id
    assert {str(refused.pk), str(text.pk)} <= {w for r in failures for w in
                                                r.getMessage().split()}  # fmt: skip
    needles = [*needles_of(student, guardian), "rosalind@nowhere.test"]
    assert personal_data_in(caplog.records, needles) == []


def test_a_dismissal_release_logs_no_personal_data(
    caplog, family, school, staff, time_machine, django_capture_on_commit_callbacks
):
    student, guardian = family
    time_machine.move_to(dt.datetime(2026, 11, 18, 14, 50, tzinfo=PACIFIC), tick=False)
    caplog.set_level(logging.DEBUG)
    day = dismissal.day_of(school)
    with django_capture_on_commit_callbacks(execute=True):
        dismissal.check_in(day, actor=staff, method="name", guardian=guardian,
                           adult_name=guardian.full_name)  # fmt: skip
        dismissal.release(day, student, adult=Adult(CustodyEvent.To.GUARDIAN, guardian),
                          actor=staff, verification=Verification.KNOWN)  # fmt: skip

    assert CustodyEvent.objects.filter(kind=CustodyEvent.Kind.RELEASED).count() == 1
    assert personal_data_in(caplog.records, needles_of(student, guardian)) == []


def test_an_import_with_rejected_rows_logs_no_personal_data(caplog, district, tmp_path):
    school = testing.make_school(district, "Central High", code=SAMPLE_PARENT_SCHOOL)
    folder = copy_sample(tmp_path)
    users = read_csv(folder / "users.csv")
    users[1]["dateLastModified"] = "2023-02-30"  # a student's row is rejected
    write_csv(folder / "users.csv", users)
    caplog.set_level(logging.DEBUG)

    report = import_oneroster(folder, district=school.district, apply=True)

    assert report.rejected()
    needles = [value for row in users for key in ("givenName", "familyName", "email", "sms",
                                                  "phone") if (value := row[key])]  # fmt: skip
    assert personal_data_in(caplog.records, needles) == []
