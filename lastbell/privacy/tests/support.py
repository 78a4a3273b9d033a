"""A departed student with something in every part of the record, and a sibling who stays."""

import dataclasses
import datetime as dt

from django.core.files.base import ContentFile
from django.db import transaction

from lastbell import testing
from lastbell.attendance.models import Absence
from lastbell.dismissal import services as dismissal
from lastbell.dismissal.models import Arrival, CustodyEvent, Verification
from lastbell.dismissal.services import Adult
from lastbell.messaging.models import Channel
from lastbell.messaging.services import queue_message
from lastbell.people.models import AuthorizedAdult, CustodyRestriction, GuardianLink, PickupSource
from lastbell.plans.models import DefaultDay, Enrollment, LongTermDefault, PlanChange, Program
from lastbell.truancy.models import Conference, Letter, Referral

PACIFIC = dt.timezone(dt.timedelta(hours=-8))
TODAY = dt.date(2026, 11, 25)  # a Wednesday; the student left on Friday the 20th
LEFT_ON = dt.date(2026, 11, 20)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% a court order\n"
To = CustodyEvent.To


def at(date, hour, minute=0):
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=PACIFIC)


@dataclasses.dataclass
class Record:
    student: object
    sibling: object
    other: object  # another family's child, in the same releases
    maria: object  # a guardian of the student only
    jorge: object  # a guardian of the student and of the sibling, who stays
    adult: object
    restriction: object
    letter: object

    def personal(self) -> list[str]:
        """What names or reaches the departed student's family, and must go on erasure."""
        return [
            "Ana", "Rivera-Solis", "S-ANA-77",  # the student
            "Maria", "Lopez", "maria.lopez@example.org", "555-0142", "12 Elm Street",
            "Carmen", "Ruiz", "555-0199",  # the pickup adult
            "Victor", "Vance", "CO-2026-889",  # the restricted person and court order
            "gate code", "grandma", "allergic", "custody hearing", "sad today",
        ]  # fmt: skip


def departed_student(school, staff) -> Record:
    """Build it with the clock on TODAY (time_machine); the student leaves on LEFT_ON."""
    homeroom = testing.make_homeroom(school)
    student = testing.make_student(
        school, first="Ana", last="Rivera-Solis", homeroom=homeroom, sis_id="S-ANA-77"
    )
    sibling = testing.make_student(school, first="Leo", last="Fernandez", homeroom=homeroom)
    other = testing.make_student(school, first="Zed", last="Quill", homeroom=homeroom)
    maria = testing.make_guardian(
        student, first="Maria", last="Lopez", mobile="555-0142",
        mailing_address="12 Elm Street, Riverside",
    )  # fmt: skip
    maria.email = maria.user.email = "maria.lopez@example.org"
    maria.save()
    maria.user.save()
    jorge = testing.make_guardian(sibling, first="Jorge", last="Fernandez", mobile="555-0177")
    GuardianLink.objects.create(guardian=jorge, student=student, relationship="Stepfather")
    testing.make_guardian(other, first="Yara", last="Quill")

    adult = AuthorizedAdult.objects.create(
        student=student, first_name="Carmen", last_name="Ruiz", relationship="Aunt",
        phone="555-0199", note="Drives a red van", source=PickupSource.GUARDIAN,
    )  # fmt: skip
    adult.photo.save("carmen.png", ContentFile(PNG))
    restriction = CustodyRestriction.objects.create(
        student=student, person_name="Victor Vance", person_description="Tall, beard",
        kind="do_not_release", court_order_reference="CO-2026-889",
        starts_on=dt.date(2026, 9, 1), recorded_by=staff,
    )  # fmt: skip
    restriction.court_order_file.save("order.pdf", ContentFile(PDF))

    default = LongTermDefault.objects.create(student=student, starts_on=dt.date(2026, 8, 17))
    DefaultDay.objects.create(default=default, weekday=0, plan_type="pickup",
                              pickup_name="Carmen Ruiz", note="gate code 4411")  # fmt: skip
    PlanChange.objects.create(
        student=student, starts_on=dt.date(2026, 10, 7), ends_on=dt.date(2026, 10, 7),
        plan_type="pickup", pickup_guardian=maria, note="grandma picks up, allergic to bees",
    )  # fmt: skip
    program = Program.objects.create(
        school=school, name="Chess club", starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2027, 6, 1), end_time=dt.time(16, 30),
    )  # fmt: skip
    Enrollment.objects.create(program=program, student=student, weekdays=1,
                              starts_on=dt.date(2026, 9, 1))  # fmt: skip

    for day in (dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 10, 13),
                dt.date(2026, 10, 14)):  # fmt: skip
        Absence.objects.create(student=student, date=day, reason="custody hearing")
    Absence.objects.create(student=sibling, date=dt.date(2026, 10, 5))
    letter = Letter.objects.create(
        student=student, school=school, level=1, level_name="Letter 1",
        year_starts_on=dt.date(2026, 7, 1), count=4, threshold=3, issued_at=at(TODAY, 9),
        dates=["2026-10-05", "2026-10-06", "2026-10-13", "2026-10-14"],
    )  # fmt: skip
    Conference.objects.create(letter=letter, place="Office", notes="Ana is sad today, Maria")
    Referral.objects.create(letter=letter, board="SARB", outcome="Victor Vance attended")

    with transaction.atomic():
        queue_message(channel=Channel.EMAIL, to="maria.lopez@example.org", school=school,
                      student=student, guardian=maria, subject="Ana's plan",
                      body="Ana Rivera-Solis goes home with Carmen Ruiz.")  # fmt: skip
        queue_message(channel=Channel.SMS, to="555-0142", guardian=maria, school=school,
                      body="Maria, you are invited to Last Bell.")  # fmt: skip

    dismissal.tags_assign(school, actor=staff)
    carmen = Adult(To.ADULT, adult)
    day = dismissal.day_of(school, dt.date(2026, 11, 16))
    _arrival, _ids = dismissal.check_in(day, actor=staff, method=Arrival.Method.NAME,
                                       adult_name="Carmen Ruiz", guardian=maria,
                                       now=at(day.date, 14, 55))  # fmt: skip
    dismissal.release(day, student, adult=carmen, actor=staff, verification=Verification.QR,
                      note="Ana was sad today", now=at(day.date, 15, 2))  # fmt: skip
    dismissal.release_group(day, [sibling.pk, other.pk], to=To.WALK, label="Walkers",
                            actor=staff, now=at(day.date, 15, 5))  # fmt: skip
    day = dismissal.day_of(school, dt.date(2026, 11, 17))
    assert sorted(dismissal.flag_late(day, now=at(day.date, 15, 11))) == sorted(
        [student.pk, sibling.pk, other.pk]
    )
    dismissal.release(day, student, adult=carmen, actor=staff, verification=Verification.KNOWN,
                      now=at(day.date, 15, 20))  # fmt: skip
    dismissal.release_group(day, [sibling.pk, other.pk], to=To.BUS, label="Bus 4", actor=staff,
                            now=at(day.date, 15, 25))  # fmt: skip

    student.withdrawn_on = LEFT_ON
    student.save(update_fields=["withdrawn_on"])
    return Record(student, sibling, other, maria, jorge, adult, restriction, letter)
