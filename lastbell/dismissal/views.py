"""The live dismissal screens for staff (DESIGN.md §3): the overview, the curb's check-in
queue, the classroom "called" screen, releasing a student to an adult on file, releasing a
group, late pickups, and a student's chain of custody for the day.

Every change goes through dismissal/services.py (one transaction with its audit event). Open
screens hear of it after commit and fetch their `#live` part again (lastbell/live, app.js);
forms people type into stay outside that part, so a refresh never wipes what they typed.

Teachers open the overview, the classroom screen, late pickups and timelines for their own
homerooms, and may send students to the door; checking families in, releasing and undoing
are for the office and dismissal staff.
"""

import copy
import dataclasses
import datetime as dt
import functools
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lastbell.accounts.access import request_access
from lastbell.dismissal import services
from lastbell.dismissal.models import Arrival, CarTag, CustodyEvent, DismissalDay, TagStudent
from lastbell.dismissal.screen_forms import (
    NameCheckInForm,
    QRCheckInForm,
    ReleaseForm,
    TagCheckInForm,
    UndoForm,
    choice_of,
    tag_code,
)
from lastbell.live import push
from lastbell.people.models import CustodyRestriction, GuardianLink, Student, name_key
from lastbell.people.services import pickup_people
from lastbell.plans import stamps
from lastbell.plans.models import PlanType
from lastbell.plans.regions import scope_key, shared_response
from lastbell.plans.views import SchoolPage
from lastbell.schools.models import Homeroom

Kind, To = CustodyEvent.Kind, CustodyEvent.To

STAFF_ONLY = (
    "Checking families in, releasing students and undoing steps are for the front office and "
    "dismissal staff. Teachers send their students to the door from the classroom screen."
)
# The overview's counts, in the order staff read them.
COUNT_ROWS = [
    (PlanType.BUS, "Bus"), (PlanType.PICKUP, "Pickup"), (PlanType.WALK, "Walk"),
    (PlanType.BIKE, "Bike"), (PlanType.PROGRAM, "After-school program"),
    (PlanType.EARLY_DISMISSAL, "Early dismissal"), (PlanType.OTHER, "Other"),
    ("none", "No plan yet"),
]  # fmt: skip
# The dismissal's other pages (tag_views, emergency_views, report_views), for office staff.
OTHER_SCREENS = [
    ("dismissal:tags", "Car tags"),
    ("dismissal:emergency", "Emergency"),
    ("dismissal:reports", "Reports"),
]
ARRIVAL_VERIFICATION = {Arrival.Method.TAG: "car_tag", Arrival.Method.QR: "qr"}
SEARCH_LIMIT = 20


class Screen:
    """Today's dismissal day at a school, as the signed-in staff member may see it."""

    def __init__(self, request, school_id, *, staff_only=False, any_date=False):
        self.request = request
        self.page = SchoolPage(request, school_id, live=True)
        self.access = self.page.access
        self.school = self.page.school
        if staff_only and not self.access.can_edit:
            raise PermissionDenied(STAFF_ONLY)
        self.today = self.page.today
        if not any_date:
            self.page.date = self.today
        self.now = timezone.now()
        if self.page.date == self.today:
            self.day = services.day_of(self.school, self.today)
        else:  # a past day as it was; nothing is made for it
            self.day = DismissalDay.objects.filter(school=self.school, date=self.page.date).first()
        if self.day is not None:
            self.day.school = self.school
        self.late_after = services.late_after(self.day) if self.day else None
        self.past_due = bool(
            self.day and not self.day.had_emergency and self.now > self.late_after
            and self.day.date == self.today
        )  # fmt: skip

    def states(self, **kwargs) -> services.DayStates:
        return services.day_states(self.day, homeroom_ids=self.access.homeroom_ids, **kwargs)

    def is_late(self, state: services.StudentState) -> bool:
        """Still on campus after dismissal plus the grace minutes (flag_late's rule: a
        program's students stay on by design), or flagged late already."""
        return services.is_late(state, self.day, self.now)

    def url(self, name, *args, **query) -> str:
        url = reverse(f"dismissal:{name}", args=[self.school.id, *args])
        query = {k: v for k, v in query.items() if v not in (None, "")}
        return url + ("?" + urlencode(query) if query else "")

    def other_screens(self) -> list[dict]:
        if not self.access.can_edit:
            return []
        return [{"url": reverse(name, args=[self.school.id]), "label": label}
                for name, label in OTHER_SCREENS]  # fmt: skip

    def render(self, template, screen, *, status=200, **extra):
        context = self.page.context(
            "dismissal", screen=screen, day=self.day, live=self.day is not None,
            late_after=self.late_after, past_due=self.past_due,
            other_screens=self.other_screens(), **extra,
        )  # fmt: skip
        htmx = getattr(self.request, "htmx", None)
        if htmx and htmx.target == "live" and self.request.method == "GET":
            template += "#live"  # a live refresh: only the part that changes
        return render(self.request, template, context, status=status)


def shared_live(view):
    """A live refresh of this screen (GET, htmx, target `live`) is rendered once per state of
    the day and scope, and that HTML serves every screen asking for the same (plans/regions.py):
    at dismissal each change makes every open curb, classroom, door and overview screen of the
    school ask again at once. The state of the day is the board's stamps, the length of the
    day's chain of custody (it only grows: check-ins, calls, releases, undos, late flags) and
    the day's own row; the minute is part of it too, for what the clock changes (late, windows).
    Page loads and posts go to the view as usual."""

    @functools.wraps(view)
    def wrapper(request, school_id, *args, **kwargs):
        def respond():
            return view(request, school_id, *args, **kwargs)

        htmx = getattr(request, "htmx", None)
        if not (htmx and htmx.target == "live" and request.method == "GET"):
            return respond()
        access = request_access(request, school_id)
        stamp = stamps.current(access.school.id)
        today = access.school.today()
        day = DismissalDay.objects.filter(school=access.school, date=today).values_list(
            "pk", "mode", "dismiss_at", "emergency_at", "emergency_ended_at"
        ).first()  # fmt: skip
        if stamp is None or day is None:
            return respond()
        # How many events, not the last one's id: ids are taken before commit, so on
        # PostgreSQL a lower id can commit after a higher one. The chain only grows, so its
        # length names each committed state.
        events = CustodyEvent.objects.filter(day_id=day[0]).count()
        minute = int(timezone.now().timestamp() // 60)
        key = ("dismissal", view.__name__, access.school.id, today, *day, *stamp, events, minute,
               *scope_key(request, access))  # fmt: skip
        return shared_response(request, key, lambda: respond().content.decode())

    # Its open screens get the region down their stream, not by asking (live/push.py).
    return push.pushed(wrapper)


def _no_day(screen):
    messages.error(
        screen.request, "There is no dismissal today: the school calendar has no school today."
    )
    return redirect(screen.url("overview"))


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise Http404("No such student.") from None
    return ids


def _names(students) -> str:
    names = [s.full_name for s in students]
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _current(state, kind) -> CustodyEvent | None:
    """The student's latest event of `kind` that was not undone."""
    undone = {e.undoes_id for e in state.events if e.kind == Kind.UNDONE}
    found = [e for e in state.events if e.kind == kind and e.pk not in undone]
    return found[-1] if found else None


def _matches(words, *texts) -> bool:
    haystack = " ".join(texts).casefold()
    return all(word in haystack for word in words)


def _search_words(query: str) -> list[str]:
    return [w for w in query.casefold().replace(",", " ").split() if w]


# ---------------------------------------------------------------------------------------------
# Overview


@login_required
@require_GET
@shared_live
def overview(request, school_id):
    screen = Screen(request, school_id)
    extra = {}
    if screen.day is not None:
        states = screen.states()
        counts = states.counts()
        zero = {"on_campus": 0, "released": 0}
        extra = {
            "count_rows": [
                {"key": key, "label": label, **counts.get(key, zero)}
                for key, label in COUNT_ROWS
                if key in counts or key in ("bus", "pickup", "walk", "bike", "program", "none")
            ],
            "total": counts.get("all", zero),
            "absent": sum(1 for s in states if s.absent),
            "waiting": sum(1 for s in states if s.status == "waiting"),
            "sent": sum(1 for s in states if s.status == "sent"),
            "late_count": sum(1 for s in states if screen.is_late(s)),
        }
    return screen.render("dismissal/overview.html", "overview", **extra)


# ---------------------------------------------------------------------------------------------
# Curb: the check-in queue


@dataclasses.dataclass
class QueueEntry:
    arrival: Arrival
    students: list

    @property
    def done(self) -> bool:
        return all(s.released is not None for s in self.students)


def _address_of(name: str, school_id: int):
    """pk -> the address of `name` for that pk at the school, from one reverse(): a screen
    lists up to every student, and a reverse() for each was a fifth of the curb's render."""
    marker = 987654321
    head, _, tail = reverse(f"dismissal:{name}", args=[school_id, marker]).rpartition(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


def _queue(screen, states) -> tuple[list[QueueEntry], list[QueueEntry]]:
    """The families checked in, oldest first, and the last few whose children all left."""
    # Each state's arrival came with the chain (select_related): arrivals are never edited.
    members = defaultdict(list)
    release_url = _address_of("release", screen.school.id)
    undo_url = _address_of("undo", screen.school.id)
    back = "?" + urlencode({"next": screen.request.get_full_path()})
    for state in states:
        if state.arrival is not None:
            state.checkin_event = _current(state, Kind.CHECKED_IN)
            state.release_url = release_url(state.student_id)
            if state.checkin_event is not None:
                state.undo_url = undo_url(state.checkin_event.pk) + back
            members[state.arrival.pk].append(state)
    entries = [QueueEntry(found[0].arrival, found) for found in members.values()]
    entries.sort(key=lambda e: (e.arrival.at, e.arrival.pk))
    waiting = [e for e in entries if not e.done]
    done = [e for e in entries if e.done][-5:][::-1]
    return waiting, done


def _search(screen, states, query: str) -> list[dict]:
    """Students whose name, or whose guardian's name, has every word of `query`; each with
    their guardians (restricted ones marked) and the family's car tag."""
    words = _search_words(query)
    if not words or len(query.strip()) < 2:
        return []
    by_id = states.students
    found = [
        s.student_id for s in states
        if not s.absent and _matches(words, s.row.first_name, s.row.last_name, s.row.sis_id)
    ]  # fmt: skip
    guardian_match = Q()
    for word in words:
        guardian_match &= Q(guardian__first_name__icontains=word) | Q(
            guardian__last_name__icontains=word
        )
    found += GuardianLink.objects.filter(guardian_match, student_id__in=list(by_id)).values_list(
        "student_id", flat=True
    )
    ids = list(dict.fromkeys(i for i in found if not by_id[i].absent))[:SEARCH_LIMIT]
    links = defaultdict(list)
    for link in GuardianLink.objects.filter(student_id__in=ids).select_related("guardian"):
        links[link.student_id].append(link)
    tags = {t.student_id: t.tag for t in TagStudent.objects.filter(student_id__in=ids)
            .select_related("tag")}  # fmt: skip
    restrictions = defaultdict(list)
    for r in CustodyRestriction.objects.filter(student_id__in=ids).in_effect_on(screen.today):
        restrictions[r.student_id].append(r)
    results = []
    for pk in sorted(ids, key=lambda i: (by_id[i].row.last_name, by_id[i].row.first_name)):
        guardians = [
            {"guardian": link.guardian, "relationship": link.relationship,
             "restricted": any(r.names(link.guardian.full_name) for r in restrictions[pk])}
            for link in sorted(links[pk], key=lambda link: link.guardian.last_name)
        ]  # fmt: skip
        results.append({"state": by_id[pk], "guardians": guardians, "tag": tags.get(pk)})
    return results


def _render_curb(request, screen, *, status=200, **forms_):
    door = request.POST.get("door") or request.GET.get("door", "")
    query = request.GET.get("q", "").strip()
    extra = {"door": door[:50], "query": query}
    if screen.day is not None:
        states = screen.states()
        waiting, done = _queue(screen, states)
        extra.update(
            queue=waiting, done=done, results=_search(screen, states, query) if query else None,
            late_ids={s.student_id for s in states if screen.is_late(s)},
        )  # fmt: skip
    extra["no_tags"] = not CarTag.objects.filter(school=screen.school).exists()
    extra["tag_form"] = forms_.get("tag") or TagCheckInForm(school=screen.school)
    extra["qr_form"] = forms_.get("qr") or QRCheckInForm(school=screen.school)
    scanned = request.GET.get("code", "").strip()[:500]
    if not (query or scanned or forms_):
        # Ready for the next car: the number box has the keyboard.
        extra["tag_form"].fields["number"].widget.attrs["autofocus"] = True
    if scanned and screen.day is not None:
        # A phone's own camera opened the hang tag's address: say whose tag it is and let
        # staff confirm (a GET never checks anyone in).
        code = tag_code(scanned)
        tag = CarTag.objects.filter(school=screen.school, code=code).first() if code else None
        extra["scanned"] = {"code": scanned, "tag": tag, "names": _names(
            m.student for m in tag.members.select_related("student")) if tag else ""}  # fmt: skip
    extra["name_error"] = forms_.get("name_error")
    return screen.render("dismissal/curb.html", "curb", status=status, **extra)


@login_required
@require_GET
@shared_live
def curb(request, school_id):
    screen = Screen(request, school_id, staff_only=True)
    return _render_curb(request, screen)


@login_required
@require_POST
def check_in(request, school_id):
    screen = Screen(request, school_id, staff_only=True)
    if screen.day is None:
        return _no_day(screen)
    method = request.POST.get("method")
    forms_ = {"tag": TagCheckInForm, "qr": QRCheckInForm, "name": NameCheckInForm}
    if method not in forms_:
        raise Http404("No such check-in.")
    form = forms_[method](request.POST, school=screen.school)
    if not form.is_valid():
        if method == "name":
            return _render_curb(request, screen, status=400, name_error=" ".join(
                form.non_field_errors()))  # fmt: skip
        return _render_curb(request, screen, status=400, **{method: form})
    data = form.cleaned_data
    guardian = getattr(form, "found_guardian", None)
    tag = getattr(form, "found_tag", None) or getattr(form, "tag", None)
    try:
        arrival, ids = services.check_in(
            screen.day, actor=request.user, method=Arrival.Method(method),
            guardian=guardian, tag=None if guardian else tag,
            adult_name=data.get("adult_name", ""), door=data.get("door", ""),
        )  # fmt: skip
    except services.Refused as exc:
        if method == "name":
            return _render_curb(request, screen, status=409, name_error=str(exc))
        form.add_error(None, str(exc))
        return _render_curb(request, screen, status=409, **{method: form})
    who = arrival.adult_name or (f"Tag {tag.number}" if tag else "The family")
    if ids:
        students = Student.objects.filter(pk__in=ids).order_by("last_name", "first_name")
        messages.success(
            request,
            f"{who} checked in for {_names(students)}. The classroom screens show them now.",
        )
    else:
        messages.info(request, f"{who} was already checked in; nothing changed.")
    return redirect(screen.url("curb", door=data.get("door", "")))


# ---------------------------------------------------------------------------------------------
# Classroom / hall screen


def _grade_key(grade: str):
    return (not grade.isdigit(), grade.zfill(3))


@login_required
@require_GET
@shared_live
def classroom(request, school_id):
    screen = Screen(request, school_id)
    homerooms = Homeroom.objects.filter(school=screen.school).order_by("name")
    if screen.access.homeroom_ids is not None:
        homerooms = homerooms.filter(pk__in=screen.access.homeroom_ids)
    homerooms = list(homerooms)
    chosen_room = next((h for h in homerooms if str(h.pk) == request.GET.get("homeroom", "")), None)
    if chosen_room is None and not request.GET.get("grade") and len(homerooms) == 1:
        chosen_room = homerooms[0] if screen.access.homeroom_ids is not None else None
    extra = {"homerooms": homerooms, "chosen_room": chosen_room, "grades": [], "grade": ""}
    if screen.day is not None:
        states = screen.states()
        grades = sorted({s.row.grade for s in states}, key=_grade_key)
        grade = request.GET.get("grade", "") if request.GET.get("grade") in grades else ""
        members = [
            s for s in states
            if (chosen_room is None or s.row.homeroom_id == chosen_room.pk)
            and (not grade or s.row.grade == grade) and not s.absent
        ]  # fmt: skip
        called = [s for s in members if s.status == "waiting"]
        called.sort(key=lambda s: (s.arrival.at, s.row.last_name, s.row.first_name))
        sent = [s for s in members if s.status == "sent"]
        sent.sort(key=lambda s: s.sent.at, reverse=True)
        extra.update(
            grades=grades, grade=grade, called=called, sent_list=sent[:20],
            late_list=[s for s in members if s.status == "on_campus" and screen.is_late(s)],
            late_ids={s.student_id for s in members if screen.is_late(s)},
            gone=sum(1 for s in members if s.status == "released"),
            in_scope=len(members),
        )  # fmt: skip
    return screen.render("dismissal/classroom.html", "classroom", **extra)


@login_required
@require_POST
def sent(request, school_id):
    screen = Screen(request, school_id)
    ids = _ids(request.POST.getlist("student"))
    students = Student.objects.filter(school=screen.school, pk__in=ids)
    if screen.access.homeroom_ids is not None:
        students = students.filter(homeroom_id__in=screen.access.homeroom_ids)
    students = list(students.order_by("last_name", "first_name"))
    if not ids or {s.pk for s in students} != set(ids):
        raise Http404("No such student.")
    query = {k: request.POST.get(k, "") for k in ("homeroom", "grade")}
    query = {k: v for k, v in query.items() if v}
    back = screen.url("classroom", **query)
    live = getattr(request, "htmx", None) and request.htmx.target == "live"
    if screen.day is None:
        gone = _no_day(screen)
        return _htmx_redirect(gone["Location"]) if live else gone
    done = set(services.mark_sent(screen.day, ids, actor=request.user))
    if done:
        messages.success(
            request, f"Sent {_names([s for s in students if s.pk in done])} to the door."
        )
    else:
        messages.info(
            request,
            "Nobody was sent: they were sent already, went home, or their family's check-in "
            "was undone.",
        )
    if live:
        # Posted by htmx from the screen itself: its live region as this viewer's refresh
        # would get it (shared, so the stream's push of the same state costs nothing more),
        # and the message. The page stays, with its stream: no reload between two calls.
        return _live_answer(request, classroom, school_id, query)
    return redirect(back)


def _live_answer(request, view, school_id, query: dict) -> HttpResponse:
    """`view`'s live region for this viewer, as their GET of it with `query` would get it,
    then the request's messages to replace the page's out of band."""
    refresh = copy.copy(request)
    refresh.method = "GET"
    refresh.GET = QueryDict(urlencode(query))
    response = view(refresh, school_id)
    if response.status_code != 200:
        return _htmx_redirect(reverse(f"dismissal:{view.__name__}", args=[school_id]))
    response.content += render_to_string("_messages.html", {"oob": True}, request=request).encode()
    return response


def _htmx_redirect(url: str) -> HttpResponse:
    """A redirect that htmx follows as a page load (HX-Redirect), not inside the region."""
    answer = HttpResponse(status=204)
    answer["HX-Redirect"] = url
    return answer


# ---------------------------------------------------------------------------------------------
# Release to an adult on file


@login_required
@require_GET
@shared_live
def release_search(request, school_id):
    screen = Screen(request, school_id, staff_only=True)
    query = request.GET.get("q", "").strip()
    extra = {"query": query}
    if screen.day is not None:
        states = screen.states()
        words = _search_words(query)
        found = [
            s for s in states
            if words and _matches(words, s.row.first_name, s.row.last_name, s.row.sis_id)
        ] if len(query) >= 2 else []  # fmt: skip
        at_curb = [s for s in states if s.status in ("waiting", "sent")]
        # A student sent to the door keeps waiting there if the family's check-in is undone.
        at_curb.sort(key=lambda s: ((s.arrival or s.sent).at, s.row.last_name))
        release_url = _address_of("release", screen.school.id)
        for state in at_curb:
            state.release_url = release_url(state.student_id)
        extra.update(results=found[:SEARCH_LIMIT], more=max(0, len(found) - SEARCH_LIMIT),
                     at_curb=at_curb)  # fmt: skip
    return screen.render("dismissal/release_search.html", "release", **extra)


def _people(screen, pupil, people, form):
    chosen = form["person"].value()
    return [
        {
            "person": p, "choice": choice_of(p), "checked": choice_of(p) == chosen,
            "photo": reverse("people:adult_photo", args=[screen.school.id, pupil.id, p.record.pk])
            if not p.is_guardian and p.record.photo else "",
        }
        for p in people
    ]  # fmt: skip


def _initial(state, people) -> dict:
    """Whom the family's check-in names, and how staff knew them, chosen to start with."""
    initial = {}
    arrival = state.arrival if state else None
    if arrival is None:
        return initial
    for person in people:
        same_guardian = person.is_guardian and person.record.pk == arrival.guardian_id
        same_name = arrival.adult_name and name_key(person.name) == name_key(arrival.adult_name)
        if same_guardian or same_name:
            initial["person"] = choice_of(person)
            break
    if arrival.method in ARRIVAL_VERIFICATION:
        initial["verification"] = ARRIVAL_VERIFICATION[arrival.method]
    return initial


@push.pushed  # the student's status line, at each step of their homeroom
@login_required
@require_http_methods(["GET", "POST"])
def release(request, school_id, student_id):
    screen = Screen(request, school_id, staff_only=True)
    pupil = get_object_or_404(
        Student.objects.filter(school=screen.school).select_related("homeroom", "school"),
        pk=student_id,
    )
    if screen.day is None:
        return _no_day(screen)
    people = pickup_people(pupil, screen.today)
    state = screen.states(student_ids={pupil.pk}).students.get(pupil.pk)
    if state is None:
        raise Http404("The student is not on today's roster.")
    form = ReleaseForm(request.POST or None, people=people, initial=_initial(state, people))
    blocked = refused = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            data = form.cleaned_data
            try:
                adult = services.adult_for(pupil, *form.adult())
                event = services.release(
                    screen.day, pupil, adult=adult, actor=request.user,
                    verification=data["verification"], note=data["note"],
                    reunifier=data["reunifier"],
                    comfortable=data["comfortable"] if screen.day.is_emergency else None,
                )  # fmt: skip
            except services.Blocked as exc:
                blocked, status = exc, 409
            except services.Refused as exc:
                refused, status = str(exc), 409
            else:
                late = " It is recorded as a late pickup." if event.late else ""
                messages.success(request, f"{pupil.full_name} was released to {adult.name}.{late}")
                return redirect(screen.url("release", pupil.pk))
            state = screen.states(student_ids={pupil.pk}).students.get(pupil.pk)
    return screen.render(
        "dismissal/release.html", "release", status=status, student=pupil, state=state,
        form=form, people=_people(screen, pupil, people, form), blocked=blocked,
        refused=refused, undo_form=UndoForm(), is_late=screen.is_late(state),
        restrictions=[r for r in CustodyRestriction.objects.filter(student=pupil)
                      .in_effect_on(screen.today)],
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Undo


def _next_url(request, fallback: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback


@login_required
@require_http_methods(["GET", "POST"])
def undo(request, school_id, event_id):
    screen = Screen(request, school_id, staff_only=True)
    event = get_object_or_404(
        CustodyEvent.objects.select_related("day__school", "student", "by"),
        pk=event_id, day__school=screen.school,
    )  # fmt: skip
    fallback = screen.url("timeline", event.student_id, date=event.day.date.isoformat())
    next_url = _next_url(request, fallback)
    form = UndoForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.undo(event, actor=request.user, reason=form.cleaned_data["reason"])
        except services.Refused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Undone: {event.get_kind_display().lower()} of {event.student.full_name}. "
                "The log keeps both steps.",
            )
        return redirect(next_url)
    return screen.render(
        "dismissal/undo.html", "undo", status=400 if form.is_bound else 200, event=event,
        form=form, next_url=next_url,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Groups: buses, walkers, bikers, programs


@dataclasses.dataclass
class Group:
    key: str
    to: str
    label: str
    detail: str = ""
    order: tuple = ()
    on_campus: list = dataclasses.field(default_factory=list)
    at_curb: list = dataclasses.field(default_factory=list)
    released: list = dataclasses.field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "g-" + self.key.replace(":", "-")

    @property
    def last_batch(self) -> list:
        """The students released together with the group last ("All aboard")."""
        mine = [s for s in self.released if s.released.to == self.to
                and s.released.to_label == self.label]  # fmt: skip
        if not mine:
            return []
        last = max(s.released.at for s in mine)
        return [s for s in mine if s.released.at == last]


def _group_of(row) -> Group | None:
    if row.plan_type == PlanType.BUS:
        number = row.bus_number
        order = (0, int(number) if number.isdigit() else 10**9, number)
        return Group(f"bus:{row.bus_route_id}", To.BUS, f"Bus {number}", row.bus_name, order)
    if row.plan_type == PlanType.WALK:
        return Group("walk", To.WALK, "Walkers", order=(1,))
    if row.plan_type == PlanType.BIKE:
        return Group("bike", To.BIKE, "Bikers", order=(2,))
    if row.plan_type == PlanType.PROGRAM:
        return Group(f"program:{row.program_id}", To.PROGRAM, row.program_name,
                     order=(3, row.program_name.casefold()))  # fmt: skip
    return None


def _groups(states) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for state in states:
        if state.absent:
            continue
        found = _group_of(state.row)
        if found is None:
            continue
        group = groups.setdefault(found.key, found)
        if state.released is not None:
            group.released.append(state)
        elif state.arrival is not None:
            group.at_curb.append(state)  # a family came instead: released at the curb
        else:
            group.on_campus.append(state)
    return dict(sorted(groups.items(), key=lambda item: item[1].order))


@login_required
@require_GET
@shared_live
def groups(request, school_id):
    screen = Screen(request, school_id, staff_only=True)
    extra = {}
    if screen.day is not None:
        states = screen.states()
        extra = {"groups": list(_groups(states).values()),
                 "late_ids": {s.student_id for s in states if screen.is_late(s)}}  # fmt: skip
    return screen.render("dismissal/groups.html", "groups", **extra)


def _group_or_404(screen, key) -> tuple[Group, services.DayStates]:
    states = screen.states()
    group = _groups(states).get(key or "")
    if group is None:
        raise Http404("No such group today.")
    return group, states


@login_required
@require_POST
def group_release(request, school_id):
    screen = Screen(request, school_id, staff_only=True)
    if screen.day is None:
        return _no_day(screen)
    group, _states = _group_or_404(screen, request.POST.get("group"))
    wanted = set(_ids(request.POST.getlist("student")))
    ids = [s.student_id for s in group.on_campus if s.student_id in wanted]
    back = screen.url("groups") + "#" + group.anchor
    if not ids:
        messages.info(request, f"{group.label}: nobody left to release.")
        return redirect(back)
    try:
        events = services.release_group(screen.day, ids, to=group.to, label=group.label,
                                        actor=request.user)  # fmt: skip
    except services.Refused as exc:
        messages.error(request, f"{group.label}: {exc} Nobody was released.")
        return redirect(back)
    n = len(events)
    messages.success(request, f"{group.label}: {n} student{'s' if n != 1 else ''} released.")
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def group_undo(request, school_id):
    """Undo the group's last "All aboard" as a whole, with one reason."""
    screen = Screen(request, school_id, staff_only=True)
    if screen.day is None:
        return _no_day(screen)
    key = request.POST.get("group") or request.GET.get("group")
    group, _states = _group_or_404(screen, key)
    batch = group.last_batch
    form = UndoForm(request.POST or None)
    back = screen.url("groups") + "#" + group.anchor
    if request.method == "POST" and form.is_valid():
        wanted = set(_ids(request.POST.getlist("event")))
        events = [s.released for s in batch if s.released.pk in wanted]
        if not events:
            messages.error(request, f"{group.label}: that release was undone already.")
            return redirect(back)
        reason = form.cleaned_data["reason"]
        try:
            for event in events:
                event.day = screen.day
            services.undo_many(events, actor=request.user, reason=reason)
        except services.Refused as exc:
            messages.error(request, f"{group.label}: {exc} Nothing was undone.")
            return redirect(back)
        n = len(events)
        messages.success(
            request, f"{group.label}: the release of {n} student{'s' if n != 1 else ''} was "
            "undone. They show as on campus again.",
        )  # fmt: skip
        return redirect(back)
    return screen.render(
        "dismissal/group_undo.html", "groups", status=400 if form.is_bound else 200,
        group=group, batch=batch, form=form,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Late pickups and a student's day


@login_required
@require_GET
@shared_live
def late(request, school_id):
    screen = Screen(request, school_id)
    extra = {}
    if screen.day is not None:
        states = screen.states()
        late_list = [s for s in states if screen.is_late(s)]
        for state in late_list:
            state.flagged = _current(state, Kind.LATE)
        documented = [s for s in states if s.released is not None and s.released.late]
        documented.sort(key=lambda s: s.released.at)
        phones = defaultdict(list)
        if screen.access.can_edit and late_list:
            for link in GuardianLink.objects.filter(
                student_id__in=[s.student_id for s in late_list]
            ).select_related("guardian"):
                phones[link.student_id].append(link.guardian)
        for state in late_list:
            state.guardians = phones[state.student_id]
        extra = {"late_list": late_list, "documented": documented}
    return screen.render("dismissal/late.html", "late", **extra)


@login_required
@require_GET
def timeline(request, school_id, student_id):
    screen = Screen(request, school_id, any_date=True)
    students = Student.objects.filter(school=screen.school).select_related("homeroom")
    if screen.access.homeroom_ids is not None:
        students = students.filter(homeroom_id__in=screen.access.homeroom_ids)
    pupil = get_object_or_404(students, pk=student_id)
    events = services.student_timeline(screen.day, pupil) if screen.day else []
    arrivals = {a.pk: a for a in Arrival.objects.filter(
        pk__in={e.arrival_id for e in events if e.arrival_id}).select_related("tag")}  # fmt: skip
    by_pk = {e.pk: e for e in events}
    for event in events:
        event.arrival_seen = arrivals.get(event.arrival_id)
        event.undid = by_pk.get(event.undoes_id)
    date = screen.page.date
    return screen.render(
        "dismissal/timeline.html", "timeline", student=pupil, events=events,
        prev_day=date - dt.timedelta(days=1), next_day=date + dt.timedelta(days=1),
    )  # fmt: skip
