"""Emergency reunification (DESIGN.md §3, the Standard Reunification Method), for staff.

A school admin switches today's dismissal to emergency, and ends it with the all clear (each
with a confirmation step); in between staff work three screens: the desk (find the student,
pick the adult on file, check a photo ID), the release by a reunifier (the student says yes,
or nothing happens), and the accountability board (every student accounted, missing, injured
or released). After the all clear the board and the log stay readable, without the
emergency's actions. The log of the day is exported as PDF and CSV. Every rule is in
services.py: these views only ask and show.
"""

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from lastbell.audit.models import AuditEvent
from lastbell.dismissal import services
from lastbell.dismissal.models import CustodyEvent, DismissalDay, Verification
from lastbell.dismissal.screen_forms import UndoForm
from lastbell.dismissal.services import Blocked, Refused
from lastbell.people.services import active_restrictions, pickup_people
from lastbell.plans.views import SchoolPage, _safe_cell, form_invalid

Kind = CustodyEvent.Kind
DESK_RESULTS = 25
SUGGESTED_MESSAGE = (
    "Students are safe. Do not come to the school: go to the reunification site. "
    "Students are released only to a guardian or an adult on their pickup list."
)
SUGGESTED_ALL_CLEAR = (
    "Students still at school can be picked up at the front office as on a normal day. "
    "Call the office with any question."
)
# The accountability board's statuses, in the order the counts are shown.
BOARD_STATUSES = {
    "unaccounted": "Not yet accounted",
    "accounted": "Accounted for",
    "missing": "Missing",
    "injured": "Injured",
    "released": "Released",
    "absent": "Absent today",
}


def _page(request, school_id, *, live=False) -> SchoolPage:
    """Emergency pages are for the office (dismissal staff and admins); always today."""
    page = SchoolPage(request, school_id, live=live)
    page.access.require_edit()
    page.date = page.today
    return page


def _today(page) -> DismissalDay | None:
    return services.day_of(page.school, page.today)


def _board_status(state) -> str:
    if state.absent:
        return "absent"
    if state.released is not None:
        return "released"
    return state.emergency_status or "unaccounted"


def _board_url(page) -> str:
    return reverse("dismissal:emergency", args=[page.school.id])


def _student_url(page, student_id) -> str:
    return reverse("dismissal:emergency_student", args=[page.school.id, student_id])


def _context(page, tab, day, **extra):
    return page.context("dismissal", screen="emergency", emergency_tab=tab, day=day, **extra)


# ---------------------------------------------------------------------------------------------
# The switch


class EmergencyStartForm(forms.Form):
    message = forms.CharField(
        label="Instructions for guardians",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=1000,
        help_text="Sent at once by email and text to every guardian of a student still on "
        "campus: where to go and what to do. The message adds that adults must bring a photo ID.",
        error_messages={"required": "Write the instructions guardians will get: where to go "
                        "and what to do."},
    )  # fmt: skip
    site = forms.CharField(
        label="Reunification site",
        max_length=200,
        required=False,
        help_text="Where families go: a name and an address.",
    )
    confirm = forms.CharField(
        label="Type the school's name to confirm",
        max_length=200,
        error_messages={"required": "Type the school's name to switch to emergency."},
    )

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.school = school
        self.fields["confirm"].help_text = f"Type “{school.name}”."

    def clean_confirm(self):
        typed = " ".join(self.cleaned_data["confirm"].split()).casefold()
        if typed != " ".join(self.school.name.split()).casefold():
            raise ValidationError(
                f"Type the school's name as shown, “{self.school.name}”, to switch to emergency."
            )
        return typed


@login_required
@require_http_methods(["GET", "POST"])
def emergency_start(request, school_id):
    page = _page(request, school_id)
    page.access.require_admin()
    day = _today(page)
    if day is None or day.is_emergency:
        return render(request, "dismissal/emergency_start.html", _context(page, "start", day))
    on_campus = sum(1 for state in services.day_states(day) if state.on_campus)
    form = EmergencyStartForm(
        request.POST or None, school=page.school, initial={"message": SUGGESTED_MESSAGE}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                queued = services.emergency_start(
                    day, actor=request.user, message=data["message"], site=data["site"]
                )
            except Refused as refused:
                messages.error(request, str(refused))
                return redirect(_board_url(page))
            if queued:
                messages.success(
                    request, f"Emergency mode is on. Messages to guardians on their way: {queued}."
                )
            else:
                messages.warning(
                    request,
                    "Emergency mode is on. No guardian of a student on campus has an email or "
                    "mobile number on file: reach the families another way.",
                )
            return redirect(_board_url(page))
        status = form_invalid(request)
    context = _context(page, "start", day, form=form, on_campus=on_campus)
    return render(request, "dismissal/emergency_start.html", context, status=status)


class EmergencyEndForm(forms.Form):
    note = forms.CharField(
        label="What guardians are told now",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
        help_text="Sent at once by email and text with the all clear. Each message also says "
        "where the guardian's child is: still at school, or released to whom and when.",
        error_messages={"required": "Write what guardians are told now: where and when to "
                        "pick up."},
    )  # fmt: skip
    confirm = forms.BooleanField(
        label="The incident commander gave the all clear: the emergency is over.",
        error_messages={"required": "Tick the box to confirm the all clear was given."},
    )


@login_required
@require_http_methods(["GET", "POST"])
def emergency_end(request, school_id):
    """The all clear, for school admins: a page that says what ending changes, then ends."""
    page = _page(request, school_id)
    page.access.require_admin()
    day = _today(page)
    if day is None:
        return render(request, "dismissal/emergency_end.html", _context(page, "end", day))
    form = EmergencyEndForm(request.POST or None, initial={"note": SUGGESTED_ALL_CLEAR})
    status = 200
    if request.method == "POST":
        # A day not in emergency is refused by the service whatever the form says.
        if form.is_valid() or not day.is_emergency:
            note = form.cleaned_data["note"] if form.is_valid() else ""
            try:
                queued = services.emergency_end(day, actor=request.user, note=note)
            except Refused as refused:
                messages.error(request, str(refused))
                return redirect(_board_url(page))
            if queued:
                messages.success(
                    request, "The emergency is over. All-clear messages to guardians on their "
                    f"way: {queued}. The day's normal dismissal rules apply again.",
                )  # fmt: skip
            else:
                messages.warning(
                    request,
                    "The emergency is over. No guardian to tell has an email or mobile number on "
                    "file: reach the families another way.",
                )
            return redirect(_board_url(page))
        status = form_invalid(request)
    extra = {}
    if day.is_emergency:
        states = services.day_states(day)
        extra = {
            "counts": _counts([BoardEntry(state) for state in states]),
            "to_tell": len(services.all_clear_students(day, states)),
            "on_campus": sum(1 for state in states if state.on_campus),
        }
    context = _context(page, "end", day, form=form, **extra)
    return render(request, "dismissal/emergency_end.html", context, status=status)


# ---------------------------------------------------------------------------------------------
# The accountability board


class BoardFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Every status"), *BOARD_STATUSES.items()]
    )
    grade = forms.ChoiceField(label="Grade", required=False)
    homeroom = forms.ChoiceField(label="Homeroom", required=False)

    def __init__(self, *args, grades, homerooms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = [("", "All grades")] + [(g, g) for g in grades]
        self.fields["homeroom"].choices = [("", "All homerooms")] + [
            (str(pk), name) for pk, name in homerooms
        ]

    def apply(self, entries):
        if not self.is_valid():
            return entries
        data = self.cleaned_data
        if q := data["q"].strip().casefold():
            entries = [e for e in entries if _matches(e.state.row, q)]
        if data["status"]:
            entries = [e for e in entries if e.status == data["status"]]
        if data["grade"]:
            entries = [e for e in entries if e.state.row.grade == data["grade"]]
        if data["homeroom"]:
            entries = [e for e in entries if str(e.state.row.homeroom_id) == data["homeroom"]]
        return entries


def _matches(row, q: str) -> bool:
    names = f"{row.first_name} {row.last_name} {row.last_name}, {row.first_name}".casefold()
    return q in names or row.sis_id.casefold().startswith(q)


class BoardEntry:
    __slots__ = ("state", "status", "label")

    def __init__(self, state):
        self.state = state
        self.status = _board_status(state)
        self.label = BOARD_STATUSES[self.status]


def _counts(entries) -> list[tuple[str, str, int]]:
    tally = dict.fromkeys(BOARD_STATUSES, 0)
    for entry in entries:
        tally[entry.status] += 1
    return [(key, label, tally[key]) for key, label in BOARD_STATUSES.items()]


@login_required
@require_GET
def emergency(request, school_id):
    page = _page(request, school_id, live=True)
    day = _today(page)
    if day is None or not day.had_emergency:
        return render(request, "dismissal/emergency.html", _context(page, "board", day))
    entries = [BoardEntry(state) for state in services.day_states(day)]
    rows = [e.state.row for e in entries]
    grades = sorted({r.grade for r in rows}, key=lambda g: (not g.isdigit(), g.zfill(3)))
    homerooms = sorted({(r.homeroom_id, r.homeroom) for r in rows if r.homeroom_id},
                       key=lambda h: h[1])  # fmt: skip
    form = BoardFilterForm(request.GET, grades=grades, homerooms=homerooms)
    shown = form.apply(entries)
    context = _context(
        page, "board", day, live=True, form=form, entries=shown, counts=_counts(entries),
        shown_counts=_counts(shown), total=len(entries), account_statuses=_ACCOUNT_BUTTONS,
        here=request.get_full_path(),
    )  # fmt: skip
    return render(request, "dismissal/emergency.html", context)


_ACCOUNT_BUTTONS = [(Kind.ACCOUNTED, "Accounted"), (Kind.MISSING, "Missing"),
                    (Kind.INJURED, "Injured")]  # fmt: skip


def _back(request, page, student_id) -> str:
    target = request.POST.get("next", "")
    board = _board_url(page)
    if not (
        target.startswith(board)
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        target = board
    return f"{target}#s{student_id}"


@login_required
@require_POST
def emergency_account(request, school_id, student_id):
    page = _page(request, school_id)
    student = get_object_or_404(page.school.students.all(), pk=student_id)
    day = _today(page)
    if day is None:
        raise Http404("No school today.")
    try:
        event = services.account(day, student, status=request.POST.get("status", ""),
                                 actor=request.user, note=request.POST.get("note", ""))  # fmt: skip
    except Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{student.full_name}: {event.get_kind_display().lower()}.")
    return redirect(_back(request, page, student.pk))


# ---------------------------------------------------------------------------------------------
# The desk and the release


@login_required
@require_GET
def emergency_desk(request, school_id):
    page = _page(request, school_id)
    day = _today(page)
    if day is None or not day.had_emergency:
        if request.htmx:  # a search typed as the day changed: the whole page moves on
            return HttpResponseClientRedirect(_board_url(page))
        return redirect(_board_url(page))
    if day.emergency_ended:
        context = _context(page, "desk", day, q="", found=[], more=0)
        template = "dismissal/emergency_desk.html"
        return render(request, f"{template}#results" if request.htmx else template, context)
    q = request.GET.get("q", "").strip()
    found, more = [], 0
    if q:
        needle = q.casefold()
        found = [BoardEntry(s) for s in services.day_states(day) if _matches(s.row, needle)]
        more = max(0, len(found) - DESK_RESULTS)
        found = found[:DESK_RESULTS]
    context = _context(page, "desk", day, q=q, found=found, more=more)
    template = "dismissal/emergency_desk.html"
    return render(request, f"{template}#results" if request.htmx else template, context)


class ReleaseForm(forms.Form):
    """The reunification card: who came (checked at the desk), who brought the student, and
    the student's own answer."""

    adult = forms.ChoiceField(
        label="The adult who is here",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the adult who is here from the pickup list."},
    )
    photo_id = forms.BooleanField(
        label="I checked the adult's photo ID: the name and the face match.",
        error_messages={"required": "Check the adult's photo ID first: in an emergency every "
                        "adult shows one before a release."},
    )  # fmt: skip
    reunifier = forms.CharField(
        label="Reunifier (the staff member who brought the student)",
        max_length=200,
        error_messages={"required": "Say which staff member brought the student."},
    )
    comfortable = forms.ChoiceField(
        label="Does the student say they are comfortable leaving with this adult?",
        choices=[("yes", "Yes"), ("no", "No")],
        widget=forms.RadioSelect,
        error_messages={"required": "Ask the student, then choose yes or no."},
    )
    note = forms.CharField(label="Note (optional)", max_length=500, required=False)

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["adult"].choices = [(_person_key(p), p.name) for p in people]


def _person_key(person) -> str:
    return f"{person.kind}:{person.record.pk}"


def _student_page(request, page, day, student, state, people, *, form=None, refused=None,
                  blocked=None, status=200):  # fmt: skip
    if form is None:
        initial = {}
        if state.arrival is not None and state.arrival.guardian_id:
            initial["adult"] = f"guardian:{state.arrival.guardian_id}"
        form = ReleaseForm(people=people, initial=initial)
    timeline = services.student_timeline(day, student)
    for event in timeline:
        # After the all clear the page only tells; undo from the student's day instead.
        event.can_undo = (
            day.is_emergency and event.kind in services.UNDOABLE and not event.is_undone
        )
    context = _context(
        page, "desk", day, live=True, student=student, state=state,
        status=_board_status(state), status_label=BOARD_STATUSES[_board_status(state)],
        people=[(p, _person_key(p)) for p in people], form=form, refused=refused,
        blocked=blocked, restrictions=list(active_restrictions(student, day.date)),
        timeline=timeline, account_statuses=_ACCOUNT_BUTTONS, here=_board_url(page),
    )  # fmt: skip
    return render(request, "dismissal/emergency_student.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def emergency_student(request, school_id, student_id):
    page = _page(request, school_id, live=True)
    student = get_object_or_404(page.school.students.select_related("homeroom"), pk=student_id)
    day = _today(page)
    if day is None or not day.had_emergency:
        messages.error(request, "Reunification is for emergency mode; today is not one.")
        return redirect(_board_url(page))
    state = services.day_states(day, student_ids={student.pk}).students.get(student.pk)
    if state is None:
        raise Http404("Not a student of the school today.")
    people = pickup_people(student, day.date)
    if request.method == "POST" and day.emergency_ended:
        # The reunification form was open when the all clear came: without the emergency's
        # rules a "no" from the student would not stop the release, so nothing is released.
        messages.error(
            request, f"The emergency has ended: nothing was released. Release "
            f"{student.first_name} from the Release screen, as on a normal day.",
        )  # fmt: skip
        return redirect(_student_url(page, student.pk))
    if request.method == "GET":
        return _student_page(request, page, day, student, state, people)
    form = ReleaseForm(request.POST, people=people)
    if not form.is_valid():
        return _student_page(request, page, day, student, state, people, form=form,
                             status=form_invalid(request))  # fmt: skip
    data = form.cleaned_data
    kind, _sep, record_id = data["adult"].partition(":")
    try:
        adult = services.adult_for(student, kind, int(record_id))
        event = services.release(
            day, student, adult=adult, actor=request.user, verification=Verification.PHOTO_ID,
            reunifier=data["reunifier"], comfortable=data["comfortable"] == "yes",
            note=data["note"],
        )  # fmt: skip
    except Refused as refused:
        # Blocked (a custody order names the adult) is a Refused shown as its own alert.
        blocked = refused if isinstance(refused, Blocked) else None
        return _student_page(request, page, day, student, state, people, form=form,
                             refused=None if blocked else refused, blocked=blocked,
                             status=409)  # fmt: skip
    messages.success(request, f"{student.full_name} released to {event.to_label}.")
    return redirect(reverse("dismissal:emergency_desk", args=[page.school.id]))


@login_required
@require_POST
def emergency_undo(request, school_id, event_id):
    page = _page(request, school_id)
    event = get_object_or_404(
        CustodyEvent.objects.select_related("day__school", "student"),
        pk=event_id, day__school=page.school,
    )  # fmt: skip
    form = UndoForm(request.POST)
    if not form.is_valid():
        # As on the dismissal screens: the log says why a step was undone.
        messages.error(request, " ".join(form.errors["reason"]))
        return redirect(_student_url(page, event.student_id))
    try:
        services.undo(event, actor=request.user, reason=form.cleaned_data["reason"])
    except Refused as refused:
        messages.error(request, str(refused))
    else:
        what = event.get_kind_display().lower()
        messages.success(request, f"Undid “{what}”; the log keeps both steps.")
    return redirect(_student_url(page, event.student_id))


# ---------------------------------------------------------------------------------------------
# The log of the day: PDF and CSV


LOG_HEADER = [
    "Time", "Student", "Student ID", "Event", "To", "Verification", "Reunifier",
    "Comfortable", "By", "Note", "Undone later",
]  # fmt: skip


class LogLine:
    """One custody event of the log, in words."""

    def __init__(self, event, undone: set[int], tz):
        self.event = event
        self.at = event.at.astimezone(tz)
        self.student = event.student.full_name
        self.sis_id = event.student.sis_id
        self.kind = event.get_kind_display()
        self.to = event.to_label or event.get_to_display()
        self.verification = event.get_verification_display() if event.verification else ""
        self.reunifier = event.reunifier
        self.comfortable = {True: "Yes", False: "No", None: ""}[event.comfortable]
        self.by = event.by_label or (event.by.get_full_name() if event.by else "")
        self.note = event.note
        self.undone = event.pk in undone

    def values(self) -> list[str]:
        return [
            self.at.strftime("%H:%M:%S"), self.student, self.sis_id, self.kind, self.to,
            self.verification, self.reunifier, self.comfortable, self.by, self.note,
            "yes" if self.undone else "",
        ]  # fmt: skip


class Milestone:
    """The switch to emergency or its end, as a line of the log (from the audit, so a day
    switched twice keeps both emergencies)."""

    undone = False
    student = sis_id = to = verification = reunifier = comfortable = ""

    def __init__(self, audit: AuditEvent, tz):
        self.at = audit.at.astimezone(tz)
        after = audit.after or {}
        if audit.action == "dismissal.emergency_ended":
            self.kind = "Emergency ended (all clear)"
            self.note = after.get("note", "")
        else:
            self.kind = "Switched to emergency"
            self.note = after.get("site", "")
        self.by = audit.actor_label

    values = LogLine.values


MILESTONES = ("dismissal.emergency", "dismissal.emergency_ended")


def day_log(day: DismissalDay) -> tuple[list[LogLine | Milestone], list[tuple[str, str, int]]]:
    """Every custody event of the day in order, with the emergency's switch and end, and the
    board's counts: a few queries."""
    events = list(
        CustodyEvent.objects.filter(day=day).select_related("student", "by").order_by("at", "id")
    )
    undone = {e.undoes_id for e in events if e.kind == Kind.UNDONE}
    tz = day.school.tz
    lines: list[LogLine | Milestone] = []
    if day.had_emergency:
        audits = AuditEvent.objects.filter(
            school=day.school, action__in=MILESTONES, target_type="DismissalDay",
            target_id=str(day.pk),
        ).order_by("at", "id")  # fmt: skip
        lines = [Milestone(a, tz) for a in audits]
    # Sorted by time; at the same second a switch comes before the events it led to.
    lines += [LogLine(e, undone, tz) for e in events]
    lines.sort(key=lambda line: line.at)
    counts = _counts([BoardEntry(state) for state in services.day_states(day)])
    return lines, counts


def _log_day(page) -> DismissalDay:
    day = (
        DismissalDay.objects.filter(school=page.school, date=page.date)
        .select_related("school", "emergency_by", "emergency_ended_by")
        .first()
    )
    if day is None:
        raise Http404("No dismissal was run that day.")
    return day


def _log_name(day, extension) -> str:
    what = "emergency log" if day.had_emergency else "dismissal log"
    return f"{day.school.name} {what} {day.date.isoformat()}.{extension}"


@login_required
@require_GET
def emergency_log_csv(request, school_id):
    page = SchoolPage(request, school_id)
    page.access.require_edit()
    day = _log_day(page)
    lines, counts = day_log(day)
    out = io.StringIO()
    out.write("\ufeff")  # so Excel reads UTF-8 names correctly
    writer = csv.writer(out)
    tz = day.school.tz
    writer.writerow(["School", _safe_cell(day.school.name)])
    writer.writerow(["Date", day.date.isoformat()])
    writer.writerow(["Mode", day.get_mode_display()])
    if day.had_emergency:
        by = day.emergency_by.get_full_name() if day.emergency_by else ""
        since = day.emergency_at.astimezone(tz).strftime("%H:%M:%S") if day.emergency_at else ""
        writer.writerow(["Emergency since", since])
        writer.writerow(["Switched by", _safe_cell(by)])
        writer.writerow(["Reunification site", _safe_cell(day.reunification_site)])
        writer.writerow(["Instructions", _safe_cell(day.emergency_message)])
        if day.emergency_ended:
            ended_by = day.emergency_ended_by.get_full_name() if day.emergency_ended_by else ""
            writer.writerow(["Emergency ended", day.emergency_ended_at.astimezone(tz)
                             .strftime("%H:%M:%S")])  # fmt: skip
            writer.writerow(["Ended by", _safe_cell(ended_by)])
            writer.writerow(["All clear sent", _safe_cell(day.emergency_end_note)])
        else:
            writer.writerow(["Emergency ended", "not yet"])
    for _key, label, count in counts:
        writer.writerow([label, count])
    writer.writerow([])
    writer.writerow(LOG_HEADER)
    writer.writerows([_safe_cell(value) for value in line.values()] for line in lines)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, _log_name(day, "csv"))
    return response


@login_required
@require_GET
def emergency_log_pdf(request, school_id):
    # Imported here: WeasyPrint loads Pango, which only the PDF needs.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    page = SchoolPage(request, school_id)
    page.access.require_edit()
    day = _log_day(page)
    lines, counts = day_log(day)
    html = render_to_string(
        "dismissal/emergency_log_pdf.html",
        {"day": day, "school": day.school, "lines": lines, "counts": counts,
         "header": LOG_HEADER[:-1]},
    )  # fmt: skip
    # The log is self-contained: nothing in it (a name, a note) makes WeasyPrint fetch a URL.
    pdf = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, _log_name(day, "pdf"))
    return response
