"""Family pages: sign-in links, scope, the school's rules, bad input and confirmations."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from lastbell import testing
from lastbell.audit.models import AuditEvent
from lastbell.family import links
from lastbell.messaging.models import Message
from lastbell.plans.board import day_board
from lastbell.plans.models import LongTermDefault, PlanChange, PlanType, Source

pytestmark = pytest.mark.django_db
FRIDAY = dt.date(2026, 11, 20)


@pytest.fixture
def family_school(school):
    school.parent_access = True
    school.parent_editing = True
    school.same_day_cutoff = dt.time(13, 0)
    school.save()
    return school


@pytest.fixture
def signed_in(client, family_school, guardian, on_school_day):
    client.force_login(guardian.user)
    return client


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


# --- Links -----------------------------------------------------------------------------------


def test_a_child_link_signs_the_guardian_in_on_that_childs_page(
    client, family_school, student, guardian, on_school_day
):
    response = client.get(path_of(links.child_link(guardian, student)))
    assert response.status_code == 302
    assert response["Location"] == reverse("family:child", args=[student.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert student.first_name in page.content.decode()


def test_a_link_for_another_child_is_refused(
    client, family_school, student, guardian, on_school_day
):
    sibling = testing.make_student(family_school, first="Luis")
    url = path_of(links.child_link(guardian, student))
    # The token is scoped to the first child: moving it to the sibling's address fails.
    forged = url.replace(f"/child/{student.pk}/", f"/child/{sibling.pk}/")
    response = client.get(forged)
    assert response.status_code == 403
    assert "no longer works" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_expired_link_is_refused(client, family_school, student, guardian, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 16, 17, 0, tzinfo=dt.UTC), tick=False)
    url = path_of(links.child_link(guardian, student))
    time_machine.move_to(dt.datetime(2026, 11, 19, 18, 0, tzinfo=dt.UTC), tick=False)  # 3 days+
    assert client.get(url).status_code == 403
    time_machine.move_to(dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.UTC), tick=False)  # in time
    assert client.get(url).status_code == 302


def test_a_staff_users_token_opens_no_family_page(client, family_school, student, staff):
    from sesame.utils import get_query_string

    url = reverse("family:link_child", args=[student.pk])
    url += get_query_string(staff, scope=links.child_scope(student.pk))
    assert client.get(url).status_code == 403


def test_a_new_link_request_answers_the_same_whether_or_not_on_file(client, guardian):
    for contact in (guardian.email, "nobody@example.org"):
        response = client.post(reverse("family:link_request"), {"contact": contact})
        assert response.status_code == 200
        assert "on its way" in response.content.decode()
    sent = Message.objects.filter(kind="sign_in_link")
    assert [m.to for m in sent] == [guardian.email]
    assert "/family/link/?sesame=" in sent[0].body


def test_a_link_request_with_a_bad_address_says_so(client):
    response = client.post(reverse("family:link_request"), {"contact": "maria@"})
    assert response.status_code == 400
    assert "looks incomplete" in response.content.decode()
    assert not Message.objects.exists()


def test_a_guardian_with_only_a_mobile_gets_an_account_for_links(family_school, student):
    guardian = testing.make_guardian(student, with_user=False, mobile="(555) 010-0199")
    url = links.child_link(guardian, student)
    guardian.refresh_from_db()
    assert guardian.user is not None and guardian.user.email.endswith(links.NO_EMAIL_DOMAIN)
    assert not guardian.user.has_usable_password()
    assert "sesame=" in url


# --- Scope -----------------------------------------------------------------------------------


def test_another_familys_child_is_not_found(signed_in, family_school):
    stranger = testing.make_student(family_school, first="Other")
    testing.make_guardian(stranger, first="Olga", last="Other")
    for name in ("child", "usual", "change_new", "month"):
        assert signed_in.get(reverse(f"family:{name}", args=[stranger.pk])).status_code == 404


def test_staff_accounts_get_no_family_pages(client, staff, family_school):
    client.force_login(staff)
    assert client.get(reverse("family:home")).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, student):
    response = client.get(reverse("family:child", args=[student.pk]))
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_a_guardian_is_refused_staff_pages(signed_in, family_school):
    assert signed_in.get(reverse("plans:dashboard", args=[family_school.pk])).status_code == 404


def test_two_children_are_a_list(signed_in, family_school, student, guardian):
    sibling = testing.make_student(family_school, first="Luis")
    guardian.links.create(student=sibling, relationship="Parent")
    page = signed_in.get(reverse("family:home")).content.decode()
    assert reverse("family:child", args=[student.pk]) in page
    assert reverse("family:child", args=[sibling.pk]) in page


def test_one_child_goes_straight_to_the_childs_page(signed_in, student):
    response = signed_in.get(reverse("family:home"))
    assert response["Location"] == reverse("family:child", args=[student.pk])


# --- The school's rules ----------------------------------------------------------------------


def test_parent_access_off_shows_no_parent_pages(signed_in, family_school, student):
    family_school.parent_access = False
    family_school.save()
    response = signed_in.get(reverse("family:child", args=[student.pk]))
    assert response.status_code == 403
    assert family_school.office_phone in response.content.decode()


def test_parent_editing_off_is_read_only_and_says_so(signed_in, family_school, student):
    family_school.parent_editing = False
    family_school.save()
    page = signed_in.get(reverse("family:child", args=[student.pk])).content.decode()
    assert "does not take changes online" in page
    assert reverse("family:change_new", args=[student.pk]) not in page
    response = signed_in.post(
        reverse("family:change_new", args=[student.pk]),
        {"starts_on": "2026-11-20", "plan_type": "walk"},
    )
    assert response.status_code == 404
    assert not PlanChange.objects.exists()


def _change_today(client, student):
    return client.post(
        reverse("family:change_new", args=[student.pk]),
        {"starts_on": "2026-11-18", "plan_type": "walk"},
    )


@pytest.mark.parametrize(
    ("utc_time", "allowed"),
    [
        # The school is in New York (UTC-5 in November); the server's clock is UTC.
        (dt.datetime(2026, 11, 18, 17, 59, tzinfo=dt.UTC), True),  # 12:59 pm at the school
        (dt.datetime(2026, 11, 18, 18, 1, tzinfo=dt.UTC), False),  # 1:01 pm at the school
    ],
)
def test_the_same_day_cutoff_in_the_schools_timezone(
    client, family_school, student, guardian, time_machine, utc_time, allowed
):
    family_school.timezone = "America/New_York"
    family_school.save()
    time_machine.move_to(utc_time, tick=False)
    client.force_login(guardian.user)
    response = _change_today(client, student)
    if allowed:
        assert response.status_code == 302
        assert PlanChange.objects.get().starts_on == dt.date(2026, 11, 18)
    else:
        assert response.status_code == 400
        page = response.content.decode()
        assert "can no longer be changed online" in page
        assert family_school.office_phone in page
        assert not PlanChange.objects.exists()
        # Tomorrow stays open.
        tomorrow = client.post(
            reverse("family:change_new", args=[student.pk]),
            {"starts_on": "2026-11-19", "plan_type": "walk"},
        )
        assert tomorrow.status_code == 302


def test_an_early_release_day_moves_the_cutoff_earlier(family_school):
    from lastbell.schools.models import CalendarDay

    CalendarDay.objects.create(
        school=family_school, date=FRIDAY, kind=CalendarDay.Kind.EARLY_RELEASE,
        dismissal_time=dt.time(12, 30),
    )  # fmt: skip
    cutoff = family_school.cutoff_on(FRIDAY)
    assert cutoff.time() == dt.time(10, 30)  # 2 h before dismissal, as on a 3:00 day
    assert family_school.cutoff_on(dt.date(2026, 11, 19)).time() == dt.time(13, 0)


# --- Plans: set, change, remove, and bad input ------------------------------------------------


def test_a_guardian_sets_the_usual_plan_and_every_guardian_is_told(
    signed_in, family_school, student, guardian, route
):
    other = testing.make_guardian(student, first="Jorge", last="Lopez", with_user=False,
                                  language="es")  # fmt: skip
    other.email = "jorge@example.org"
    other.save()
    response = signed_in.post(
        reverse("family:usual", args=[student.pk]),
        {"starts_on": "2026-11-18", "pattern": "same", "all-plan_type": "bus",
         "all-bus_route": route.pk},
    )  # fmt: skip
    assert response.status_code == 302
    default = LongTermDefault.objects.get()
    assert default.source == Source.GUARDIAN and default.set_by == guardian.user
    row = day_board(family_school, dt.date(2026, 11, 18), student_ids=[student.pk]).rows[0]
    assert row.plan_type == PlanType.BUS
    sent = {m.to: m for m in Message.objects.filter(kind="plan_confirmation")}
    assert set(sent) == {guardian.email, other.email}
    assert (
        "Bus 12" in sent[guardian.email].body and "Maria Lopez changed" in sent[guardian.email].body
    )
    assert sent[other.email].language == "es"
    assert "sesame=" in sent[other.email].body
    assert AuditEvent.objects.filter(action="plan.default.set", student=student).exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"starts_on": "2026-11-20", "ends_on": "2026-11-19", "plan_type": "walk"},
            "ends_on",
            "before its first day",
        ),
        ({"starts_on": "2026-11-20", "plan_type": "other"}, "note", ""),
        ({"starts_on": "2026-11-20", "plan_type": "bus"}, "bus_route", ""),
        ({"starts_on": "2026-11-17", "plan_type": "walk"}, "starts_on", "past days keep"),
        ({"starts_on": "not a date", "plan_type": "walk"}, "starts_on", "Enter a date"),
        ({"starts_on": "2026-11-20", "plan_type": "teleport"}, "plan_type", "from the list"),
    ],
)
def test_bad_changes_are_refused_and_nothing_is_saved(signed_in, student, data, field, message):
    response = signed_in.post(reverse("family:change_new", args=[student.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    if message:
        assert message in " ".join(response.context["form"].errors[field])
    assert not PlanChange.objects.exists()
    assert not Message.objects.exists()


def test_a_friday_change_and_its_removal(signed_in, family_school, student, guardian):
    response = signed_in.post(
        reverse("family:change_new", args=[student.pk]),
        {"starts_on": "2026-11-20", "plan_type": "pickup", "pickup_guardian": guardian.pk},
    )
    assert response.status_code == 302
    change = PlanChange.objects.get()
    assert day_board(family_school, FRIDAY, student_ids=[student.pk]).rows[0].layer == "change"
    month = signed_in.get(reverse("family:month", args=[student.pk]), {"month": "2026-11"})
    assert re.search(r'data-date="2026-11-20">Pickup', month.content.decode())
    signed_in.post(reverse("family:change_remove", args=[student.pk, change.pk]))
    change.refresh_from_db()
    assert change.cancelled_at is not None
    assert Message.objects.filter(kind="plan_confirmation").count() == 2


def test_a_change_the_office_made_stays(signed_in, family_school, student, staff):
    office = PlanChange.objects.create(
        student=student, starts_on=FRIDAY, ends_on=FRIDAY, plan_type=PlanType.WALK,
        source=Source.STAFF, set_by=staff,
    )  # fmt: skip
    signed_in.post(reverse("family:change_remove", args=[student.pk, office.pk]))
    office.refresh_from_db()
    assert office.cancelled_at is None


def test_the_month_moves_and_ignores_nonsense(signed_in, student):
    page = signed_in.get(reverse("family:month", args=[student.pk]), {"month": "2026-12"})
    assert "December 2026" in page.content.decode()
    assert "?month=2027-01" in page.content.decode()
    page = signed_in.get(reverse("family:month", args=[student.pk]), {"month": "banana"})
    assert page.status_code == 200 and "November 2026" in page.content.decode()


# --- Staff: message the parents of students with no plan -------------------------------------


def test_staff_message_the_parents_of_students_with_no_plan(
    client, staff, family_school, student, guardian, on_school_day
):
    client.force_login(staff)
    url = reverse("families:missing_message", args=[family_school.pk])
    preview = client.get(url)
    assert preview.status_code == 200
    assert 'data-testid="guardian-count">1<' in preview.content.decode()
    assert "has no plan for how Ana gets home on Wednesday, November 18" in (
        preview.content.decode()
    )
    assert not Message.objects.exists()
    response = client.post(url, {"students": [student.pk]})
    assert response.status_code == 302
    message = Message.objects.get(kind="missing_plan")
    assert message.to == guardian.email
    link = re.search(r"https?://\S+", message.body).group(0)
    client.logout()
    # No usual plan yet: the link lands where it is set.
    landing = client.get(path_of(link))
    assert landing["Location"] == reverse("family:usual", args=[student.pk])


def test_staff_of_another_school_cannot_message_this_schools_parents(
    client, other_staff, family_school, student, guardian, on_school_day
):
    client.force_login(other_staff)
    url = reverse("families:missing_message", args=[family_school.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"students": [student.pk]}).status_code == 404
    assert not Message.objects.exists()


def test_a_teacher_cannot_message_parents(client, teacher, family_school, on_school_day):
    client.force_login(teacher)
    url = reverse("families:missing_message", args=[family_school.pk])
    assert client.get(url).status_code == 403


def test_nothing_ticked_is_a_clear_error(
    client, staff, family_school, student, guardian, on_school_day
):
    client.force_login(staff)
    url = reverse("families:missing_message", args=[family_school.pk])
    response = client.post(url, {})
    assert response.status_code == 400
    assert "Tick at least one student" in response.content.decode()
    assert not Message.objects.exists()


def test_staff_invite_a_guardian(client, staff, family_school, student, guardian):
    client.force_login(staff)
    response = client.post(
        reverse("families:invite", args=[family_school.pk, student.pk]), {"guardian": guardian.pk}
    )
    assert response.status_code == 302
    message = Message.objects.get(kind="invitation")
    assert "/family/link/?sesame=" in message.body
    assert AuditEvent.objects.filter(action="family.invited").count() == 1


@pytest.mark.django_db(transaction=True)
def test_staff_invite_every_family_not_yet_signed_in(
    client, staff, family_school, student, guardian
):
    from lastbell.messaging.tests.support import run_worker

    signed_in_before = testing.make_guardian(student, first="Sam", last="Seen")
    signed_in_before.user.last_login = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    signed_in_before.user.save()
    testing.make_guardian(student, first="Nora", last="Nocontact", with_user=False)
    client.force_login(staff)
    url = reverse("families:invite_all", args=[family_school.pk])
    assert 'data-testid="invite-count">1<' in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302
    assert not Message.objects.exists(), "the task worker sends them, not the request"
    run_worker()
    assert [m.to for m in Message.objects.filter(kind="invitation")] == [guardian.email]
    assert AuditEvent.objects.filter(action="family.invited").count() == 1
    # Asking twice invites nobody twice while the first link still works.
    assert "has been invited or has signed in" in client.get(url).content.decode()
    client.post(url)
    run_worker()
    assert Message.objects.filter(kind="invitation").count() == 1


def test_the_invitation_run_goes_in_batches_and_resumes(family_school, staff):
    from lastbell.family import tasks

    for n in range(5):
        kid = testing.make_student(family_school)
        testing.make_guardian(kid, first=f"G{n}", with_user=False).__class__.objects.filter(
            first_name=f"G{n}").update(email=f"g{n}@example.org")  # fmt: skip
    tasks.BATCH, before = 2, tasks.BATCH
    try:
        assert tasks.invite_families.call(family_school.pk, staff.pk) == 5
    finally:
        tasks.BATCH = before
    assert Message.objects.filter(kind="invitation").count() == 5
    assert tasks.invite_families.call(family_school.pk, staff.pk) == 0


def test_another_schools_staff_cannot_invite_this_schools_families(
    client, other_staff, family_school, guardian
):
    client.force_login(other_staff)
    url = reverse("families:invite_all", args=[family_school.pk])
    assert client.post(url).status_code == 404
    assert not Message.objects.exists()


def test_a_staff_change_is_confirmed_to_guardians_and_an_import_is_not(
    family_school, student, guardian, staff, on_school_day
):
    from lastbell.plans.services import PlanSpec, change_create, default_set

    change_create(student=student, starts_on=FRIDAY, ends_on=None,
                  plan=PlanSpec(PlanType.WALK), actor=staff)  # fmt: skip
    message = Message.objects.get(kind="plan_confirmation")
    assert message.to == guardian.email
    assert f"{family_school.name} office changed" in message.body
    assert "Fri Nov 20: Walks home" in message.body
    default_set(student=student, starts_on=FRIDAY, actor=None, source=Source.IMPORT,
                days={d: PlanSpec(PlanType.WALK) for d in range(5)})  # fmt: skip
    assert Message.objects.filter(kind="plan_confirmation").count() == 1


def test_a_confirmation_is_written_in_the_guardians_language(
    family_school, student, guardian, staff, on_school_day
):
    from lastbell.plans.services import PlanSpec, change_create

    guardian.language = "es"
    guardian.save()
    change_create(student=student, starts_on=FRIDAY, ends_on=None,
                  plan=PlanSpec(PlanType.WALK), actor=staff)  # fmt: skip
    message = Message.objects.get(kind="plan_confirmation")
    assert message.language == "es"
    assert "Hola" in message.body


# --- Pickup adults and custody, from the family side ------------------------------------------


def test_a_guardian_adds_and_removes_a_pickup_adult(signed_in, student):
    url = reverse("family:adults", args=[student.pk])
    adult = {"first_name": "Rosa", "last_name": "Diaz", "relationship": "Grandmother",
             "phone": "(555) 010-0123"}  # fmt: skip
    response = signed_in.post(url, adult)
    assert response.status_code == 302
    adult = student.authorized_adults.active().get()
    assert adult.full_name == "Rosa Diaz"
    # The adult is offered when picking who collects the child on a change.
    change_page = signed_in.get(reverse("family:change_new", args=[student.pk])).content.decode()
    assert '<option value="Rosa Diaz">' in change_page
    signed_in.post(reverse("family:adult_remove", args=[student.pk, adult.pk]))
    adult.refresh_from_db()
    assert adult.removed_at is not None


def test_a_bad_pickup_adult_is_refused(signed_in, student):
    response = signed_in.post(reverse("family:adults", args=[student.pk]),
                              {"first_name": "", "last_name": "Diaz", "relationship": "Aunt",
                               "phone": "call me"})  # fmt: skip
    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"first_name", "phone"}
    assert not student.authorized_adults.exists()


def test_a_guardian_sees_custody_orders_but_cannot_end_them(
    signed_in, family_school, student, staff
):
    from lastbell.people.services import restriction_record

    restriction = restriction_record(
        student=student, actor=staff, person_name="John Doe", kind="do_not_release",
        court_order_reference="FL-2026-118", starts_on=dt.date(2026, 11, 1),
    )  # fmt: skip
    page = signed_in.get(reverse("family:adults", args=[student.pk])).content.decode()
    assert "John Doe" in page and "FL-2026-118" in page
    assert "restriction_end" not in page
    staff_url = reverse("people:restriction_end", args=[family_school.pk, student.pk,
                                                         restriction.pk])  # fmt: skip
    assert signed_in.post(staff_url, {"reason": "mine"}).status_code == 404
    restriction.refresh_from_db()
    assert restriction.ended_at is None


def test_another_familys_pickup_list_is_not_found(signed_in, family_school):
    stranger = testing.make_student(family_school, first="Other")
    assert signed_in.get(reverse("family:adults", args=[stranger.pk])).status_code == 404


# --- The account ------------------------------------------------------------------------------


def test_a_guardian_sets_a_password_and_old_links_stop_working(
    client, family_school, student, guardian, on_school_day
):
    old_link = path_of(links.child_link(guardian, student))
    client.force_login(guardian.user)
    response = client.post(reverse("family:account"), {
        "form": "password", "new_password1": "a quiet harbor 1987",
        "new_password2": "a quiet harbor 1987",
    })  # fmt: skip
    assert response.status_code == 302
    assert client.get(reverse("family:home")).status_code == 302  # still signed in
    client.logout()
    assert client.get(old_link).status_code == 403
    # Through the sign-in page: the lockout checks (django-axes) need the request.
    signed_in = client.post(reverse("accounts:login"), {
        "username": guardian.user.email, "password": "a quiet harbor 1987",
    })  # fmt: skip
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(guardian.user.pk)


def test_a_password_that_does_not_match_is_refused(signed_in, guardian):
    response = signed_in.post(reverse("family:account"), {
        "form": "password", "new_password1": "a quiet harbor 1987", "new_password2": "other",
    })  # fmt: skip
    assert response.status_code == 400
    guardian.user.refresh_from_db()
    assert not guardian.user.check_password("a quiet harbor 1987")


def test_a_guardian_chooses_spanish(signed_in, guardian):
    response = signed_in.post(reverse("family:account"), {"form": "language", "language": "es"})
    assert response.status_code == 302
    guardian.refresh_from_db()
    assert guardian.language == "es"
    assert AuditEvent.objects.filter(action="family.language.set").exists()
    assert signed_in.get(reverse("family:account"))["Content-Language"] == "es"
    bad = signed_in.post(reverse("family:account"), {"form": "language", "language": "klingon"})
    assert bad.status_code == 400
    guardian.refresh_from_db()
    assert guardian.language == "es"


def test_a_bad_usual_plan_is_refused_and_nothing_is_saved(signed_in, student):
    response = signed_in.post(reverse("family:usual", args=[student.pk]),
                              {"starts_on": "2026-11-18", "pattern": "same",
                               "all-plan_type": "bus"})  # fmt: skip
    assert response.status_code == 400
    assert response.context["every"].errors.get("bus_route")
    assert not LongTermDefault.objects.exists()
    assert not Message.objects.exists()


def test_a_link_never_signs_in_an_account_that_is_also_staff(
    client, family_school, student, guardian
):
    from lastbell.accounts.models import Role, StaffMembership

    StaffMembership.objects.create(user=guardian.user, district=family_school.district,
                                   school=family_school, role=Role.DISMISSAL_STAFF)  # fmt: skip
    response = client.get(path_of(links.child_link(guardian, student)))
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_the_invitation_count_refreshes_by_itself_while_a_run_goes(
    client, staff, family_school, guardian
):
    client.force_login(staff)
    url = reverse("families:invite_all", args=[family_school.pk]) + "?running=1"
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in page and "still to invite" in page
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="invite-count"')


# --- After review: landing, custody, confirmations, scope of writes ---------------------------


def test_a_no_plan_link_for_a_child_with_a_usual_plan_lands_on_a_change_for_that_day(
    client, family_school, student, guardian, staff, on_school_day
):
    from lastbell.plans.services import PlanSpec, default_set

    default_set(student=student, starts_on=dt.date(2026, 11, 18), actor=staff,
                days={0: PlanSpec(PlanType.WALK)})  # Mondays only: Friday has no plan  # fmt: skip
    link = links.child_link(guardian, student, setup_for=FRIDAY)
    landing = client.get(path_of(link))
    assert (
        landing["Location"] == reverse("family:change_new", args=[student.pk]) + "?date=2026-11-20"
    )
    page = client.get(landing["Location"]).content.decode()
    assert 'value="2026-11-20"' in page


@pytest.fixture
def order_against_guardian(family_school, student, guardian, staff):
    from lastbell.people.services import restriction_record

    return restriction_record(
        student=student, actor=staff, person_name=guardian.full_name, kind="do_not_release",
        court_order_reference="FL-2026-7", starts_on=dt.date(2026, 11, 1),
    )  # fmt: skip


def test_a_guardian_named_by_a_custody_order_gets_no_page_and_no_messages(
    signed_in, family_school, student, guardian, staff, order_against_guardian
):
    from lastbell.plans.services import PlanSpec, change_create

    other = testing.make_guardian(student, first="Jorge", last="Lopez")
    response = signed_in.get(reverse("family:child", args=[student.pk]))
    assert response.status_code == 403
    assert "contact the school office" in response.content.decode()
    assert signed_in.get(reverse("family:adults", args=[student.pk])).status_code == 403
    change_create(student=student, starts_on=FRIDAY, ends_on=None,
                  plan=PlanSpec(PlanType.WALK), actor=staff)  # fmt: skip
    assert [m.to for m in Message.objects.filter(kind="plan_confirmation")] == [other.email]


def test_nobody_can_plan_a_release_a_custody_order_forbids(
    family_school, student, guardian, staff, order_against_guardian, on_school_day
):
    from django.core.exceptions import ValidationError

    from lastbell.plans.services import PlanSpec, change_create

    for plan in (PlanSpec(PlanType.PICKUP, pickup_guardian=guardian),
                 PlanSpec(PlanType.PICKUP, pickup_name="  maria  LOPEZ ")):  # fmt: skip
        with pytest.raises(ValidationError, match="FL-2026-7"):
            change_create(student=student, starts_on=FRIDAY, ends_on=None, plan=plan,
                          actor=staff)  # fmt: skip
    assert not PlanChange.objects.exists()


def test_a_parent_names_only_people_on_file_for_a_pickup(signed_in, student):
    url = reverse("family:change_new", args=[student.pk])
    response = signed_in.post(url, {"starts_on": "2026-11-20", "plan_type": "pickup",
                                    "pickup_name": "Random Stranger"})  # fmt: skip
    assert response.status_code == 400
    assert "not on the pickup list" in " ".join(response.context["form"].errors["pickup_name"])
    assert not PlanChange.objects.exists()
    student.authorized_adults.create(first_name="Rosa", last_name="Diaz", relationship="Aunt",
                                     phone="(555) 010-0123", source="guardian")  # fmt: skip
    ok = signed_in.post(url, {"starts_on": "2026-11-20", "plan_type": "pickup",
                              "pickup_name": "rosa diaz"})  # fmt: skip
    assert ok.status_code == 302


def test_enrolling_in_a_program_is_confirmed_to_guardians(
    family_school, student, guardian, staff, on_school_day
):
    from lastbell.plans import weekdays
    from lastbell.plans.models import Program
    from lastbell.plans.services import enrollment_create, enrollment_end

    program = Program.objects.create(
        school=family_school, name="Chess Club", weekdays=weekdays.SCHOOL_WEEK,
        starts_on=dt.date(2026, 8, 17), ends_on=dt.date(2027, 6, 1), end_time=dt.time(17, 0),
    )  # fmt: skip
    enrollment = enrollment_create(program=program, student=student, weekday_mask=0b00010,
                                   starts_on=FRIDAY, ends_on=None, actor=staff)  # fmt: skip
    enrollment_end(enrollment=enrollment, last_day=dt.date(2026, 12, 4), actor=staff)
    bodies = [m.body for m in Message.objects.filter(kind="plan_confirmation").order_by("id")]
    assert "Chess Club on Tue" in bodies[0]
    assert "Chess Club: no more days after Fri Dec 4" in bodies[1]


def test_removing_a_change_that_began_confirms_the_days_removed(
    family_school, student, guardian, staff, time_machine
):
    from lastbell.plans.services import PlanSpec, change_cancel, change_create

    time_machine.move_to(dt.datetime(2026, 11, 16, 17, tzinfo=dt.UTC), tick=False)
    change = change_create(student=student, starts_on=dt.date(2026, 11, 16),
                           ends_on=dt.date(2026, 11, 27), plan=PlanSpec(PlanType.WALK),
                           actor=staff)  # fmt: skip
    time_machine.move_to(dt.datetime(2026, 11, 18, 17, tzinfo=dt.UTC), tick=False)
    change_cancel(change=change, actor=staff)
    removal = Message.objects.filter(kind="plan_confirmation").latest("id").body
    assert "Wed Nov 18 to Fri Nov 27" in removal


def test_an_early_release_make_up_saturday_has_its_own_cutoff(family_school):
    from lastbell.schools.models import CalendarDay

    saturday = dt.date(2026, 12, 5)
    CalendarDay.objects.create(school=family_school, date=saturday,
                               kind=CalendarDay.Kind.EARLY_RELEASE,
                               dismissal_time=dt.time(11, 0), follows_weekday=4)  # fmt: skip
    cutoff = family_school.cutoff_on(saturday)
    assert cutoff.time() == dt.time(9, 0)  # 2 h before 11:00, as 1:00 is before 3:00
    assert cutoff.time() <= family_school.dismissal_time_on(saturday)


def test_the_page_uses_the_early_release_cutoff(
    client, family_school, student, guardian, time_machine
):
    from lastbell.schools.models import CalendarDay

    CalendarDay.objects.create(school=family_school, date=FRIDAY,
                               kind=CalendarDay.Kind.EARLY_RELEASE,
                               dismissal_time=dt.time(12, 30))  # fmt: skip
    # 11:00 am Pacific on Friday: before the usual 1:00 cutoff, after this day's 10:30.
    time_machine.move_to(dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(guardian.user)
    response = client.post(reverse("family:change_new", args=[student.pk]),
                           {"starts_on": "2026-11-20", "plan_type": "walk"})  # fmt: skip
    assert response.status_code == 400
    assert "10:30" in response.content.decode()


def test_a_family_link_opened_in_a_staff_session_changes_nothing(
    client, family_school, student, guardian, staff, on_school_day
):
    client.force_login(staff)
    response = client.get(path_of(links.child_link(guardian, student)))
    assert response.status_code == 403
    assert int(client.session["_auth_user_id"]) == staff.pk


def test_staff_never_see_a_familys_sign_in_link(
    client, staff, family_school, student, guardian, on_school_day
):
    client.force_login(staff)
    client.post(reverse("families:missing_message", args=[family_school.pk]),
                {"students": [student.pk]})  # fmt: skip
    message = Message.objects.get(kind="missing_plan")
    assert "sesame=" in message.body
    token = re.search(r"sesame=([^\s&]+)", message.body).group(1)
    page = client.get(reverse("messaging:detail", args=[family_school.pk, message.pk]))
    assert token not in page.content.decode()


def test_link_requests_are_limited_per_guardian(client, guardian, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 18, 17, tzinfo=dt.UTC), tick=False)
    for minute in (0, 1, 3, 6, 9, 12, 15, 18):
        time_machine.move_to(dt.datetime(2026, 11, 18, 17, minute, tzinfo=dt.UTC), tick=False)
        client.post(reverse("family:link_request"), {"contact": guardian.email})
    # 0 and 1 minute: one (a pause of two minutes); then at most five a day.
    assert Message.objects.filter(kind="sign_in_link").count() == 5


def test_no_plan_messages_need_parent_access_and_an_open_day(
    client, staff, family_school, student, guardian, on_school_day
):
    client.force_login(staff)
    url = reverse("families:missing_message", args=[family_school.pk])
    past = client.post(url + "?date=2026-11-17", {"students": [student.pk]})
    assert past.status_code == 302
    family_school.parent_access = False
    family_school.save()
    client.post(url, {"students": [student.pk]})
    assert "Parent access is off" in client.get(url).content.decode()
    assert not Message.objects.exists()


def test_another_familys_change_adult_or_photo_is_out_of_reach(
    signed_in, family_school, student, staff
):
    stranger = testing.make_student(family_school, first="Other")
    change = PlanChange.objects.create(student=stranger, starts_on=FRIDAY, ends_on=FRIDAY,
                                       plan_type=PlanType.WALK, source=Source.GUARDIAN)  # fmt: skip
    adult = stranger.authorized_adults.create(first_name="Rosa", last_name="Diaz",
                                              relationship="Aunt", phone="(555) 010-0123",
                                              source="guardian")  # fmt: skip
    # Under my own child's address, with the other family's ids.
    mine = student.pk
    assert (
        signed_in.post(reverse("family:change_remove", args=[mine, change.pk])).status_code == 404
    )
    assert signed_in.post(reverse("family:adult_remove", args=[mine, adult.pk])).status_code == 404
    assert signed_in.get(reverse("family:adult_photo", args=[mine, adult.pk])).status_code == 404
    change.refresh_from_db()
    adult.refresh_from_db()
    assert change.cancelled_at is None and adult.removed_at is None


def test_parent_editing_off_refuses_every_write(signed_in, family_school, student):
    family_school.parent_editing = False
    family_school.save()
    change = PlanChange.objects.create(student=student, starts_on=FRIDAY, ends_on=FRIDAY,
                                       plan_type=PlanType.WALK, source=Source.GUARDIAN)  # fmt: skip
    posts = [
        (reverse("family:usual", args=[student.pk]),
         {"starts_on": "2026-11-19", "pattern": "same", "all-plan_type": "walk"}),
        (reverse("family:adults", args=[student.pk]),
         {"first_name": "Rosa", "last_name": "Diaz", "relationship": "Aunt",
          "phone": "(555) 010-0123"}),
        (reverse("family:change_remove", args=[student.pk, change.pk]), {}),
    ]  # fmt: skip
    for url, data in posts:
        assert signed_in.post(url, data).status_code in (403, 404), url
    change.refresh_from_db()
    assert change.cancelled_at is None
    assert not LongTermDefault.objects.exists() and not student.authorized_adults.exists()


def test_the_family_home_reads_the_same_queries_for_two_children_or_five(
    signed_in, family_school, student, guardian, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get(reverse("family:home")).status_code == 200
        return len(queries)

    guardian.links.create(student=testing.make_student(family_school), relationship="Parent")
    count()  # the day's first visit makes the school's dismissal day (the pickup card's)
    two = count()
    for _ in range(3):
        guardian.links.create(student=testing.make_student(family_school), relationship="Parent")
    assert count() == two
