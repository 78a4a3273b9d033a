"""Family pages: what a parent or guardian does from a phone (issue 3, DESIGN.md §2)."""

import calendar as calendar_module
import datetime as dt
import functools

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods, require_POST
from sesame.utils import get_user

from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.family import links
from lastbell.family.access import NoParentAccess, child_or_404, guardian_of
from lastbell.family.check_in import pickup_cards
from lastbell.family.forms import LanguageForm, LinkRequestForm
from lastbell.family.services import guardian_language_set, link_request
from lastbell.i18n import use_guardian_language
from lastbell.people.files import private_file_response
from lastbell.people.forms import AdultForm
from lastbell.people.models import AuthorizedAdult, PickupSource, Student, name_key
from lastbell.people.services import active_restrictions, adult_add, adult_remove, pickup_people
from lastbell.plans import services, weekdays
from lastbell.plans.board import day_board, plan_days
from lastbell.plans.forms import ChangeForm, default_days, default_forms
from lastbell.plans.models import LongTermDefault, PlanChange, PlanType, Source
from lastbell.plans.views import apply_errors
from lastbell.schools.models import SchoolCalendar

MONDAY = dt.date(2026, 11, 16)
LINK_REQUESTS_PER_HOUR = 20
FIX_BELOW_KEY = gettext_noop(
    "Some answers need a fix: see the messages in red below. Nothing was saved."
)


def family_view(view):
    """Signed in as a guardian, in the guardian's language; a school without parent pages
    answers with a page that says so and gives its phone number."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        guardian = guardian_of(request)
        use_guardian_language(request, guardian)
        try:
            return view(request, guardian, *args, **kwargs)
        except NoParentAccess as error:
            return render(
                request, "family/no_access.html",
                {"guardian": guardian, "school": error.school, "restricted": error.restricted},
                status=403,
            )  # fmt: skip

    return wrapper


def _invalid(request) -> int:
    messages.error(request, _(FIX_BELOW_KEY))
    return 400


class ChildPage:
    """What every page about one child needs: the child, the school's rules today."""

    def __init__(self, guardian, student: Student):
        self.guardian = guardian
        self.student = student
        self.school = student.school
        self.now = timezone.now().astimezone(self.school.tz)
        self.today = self.now.date()
        self.first_open = self.school.first_open_date(self.now)
        self.editable = self.school.parent_editing
        self.locked_today = self.first_open > self.today

    @property
    def cutoff_time(self) -> dt.time:
        return self.school.cutoff_on(self.today).time()

    def context(self, **extra) -> dict:
        return {
            "guardian": self.guardian, "student": self.student, "school": self.school,
            "today": self.today, "first_open": self.first_open, "editable": self.editable,
            "locked_today": self.locked_today, "cutoff_time": self.cutoff_time, **extra,
        }  # fmt: skip

    def next_open_school_day(self) -> dt.date:
        """Where a new change or plan starts by default: the first school day still open."""
        calendar = SchoolCalendar.for_school(
            self.school, self.first_open, self.first_open + dt.timedelta(days=21)
        )
        for n in range(22):
            date = self.first_open + dt.timedelta(days=n)
            if calendar.is_school_day(date):
                return date
        return self.first_open

    def require_editable(self):
        if not self.editable:
            raise Http404(_("Plans for this school can't be changed online."))

    def check_start(self, form, field: str):
        """A plan may start on the first date still open: today before the cutoff."""
        start = form.cleaned_data.get(field)
        if start and start < self.first_open:
            if start == self.today and self.locked_today:
                message = _(
                    "Today's plan can no longer be changed online (after %(time)s). "
                    "Please call the school office at %(phone)s."
                ) % {"time": _clock(self.cutoff_time), "phone": self.school.office_phone}
            else:
                message = _("Choose today or a later date; past days keep their plan.")
            form.add_error(field, message)


def _check_pickup(form, student):
    """A parent may name only a guardian or an adult on the child's pickup list: the school
    releases children to people it has on file (DESIGN.md §3)."""
    data = getattr(form, "cleaned_data", None) or {}
    name = (data.get("pickup_name") or "").strip()
    if data.get("plan_type") != PlanType.PICKUP or data.get("pickup_guardian") or not name:
        return
    on_file = {name_key(a.full_name) for a in student.authorized_adults.active()}
    if name_key(name) not in on_file:
        form.add_error("pickup_name", _(
            "%(name)s is not on the pickup list. Add them under “Who may pick up” first, or "
            "choose a guardian."
        ) % {"name": name})  # fmt: skip


def _clock(value: dt.time) -> str:
    return value.strftime("%-I:%M %p").lower()


# ---------------------------------------------------------------------------------------------
# Home and one child


@family_view
def home(request, guardian):
    children = list(
        guardian.students.filter(withdrawn_on__isnull=True)
        .select_related("school")
        .prefetch_related("custody_restrictions")
        .order_by("first_name", "last_name")
    )
    # One board per school for all of the family's children there, not one per child.
    by_school: dict = {}
    for child in children:
        by_school.setdefault(child.school, []).append(child.pk)
    plans = {}
    for school, ids in by_school.items():
        if school.parent_access:
            board = day_board(school, school.today(), student_ids=ids)
            plans.update({row.student_id: (row, board.is_school_day) for row in board.rows})
    rows = []
    for child in children:
        today = child.school.today()
        restricted = any(
            r.names(guardian.full_name) and r.in_effect(today)
            for r in child.custody_restrictions.all()
        )
        row, school_day = plans.get(child.pk, (None, False))
        rows.append({"child": child, "plan": row, "school_day": school_day,
                     "open": child.school.parent_access and not restricted,
                     "restricted": restricted})  # fmt: skip
    if len(rows) == 1 and rows[0]["open"]:
        return redirect("family:child", rows[0]["child"].pk)
    return render(request, "family/home.html", {
        "guardian": guardian, "rows": rows, "pickups": pickup_cards(guardian),
    })  # fmt: skip


@family_view
def child(request, guardian, student_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    days = plan_days(
        page.school, page.today, page.today + dt.timedelta(days=13), student_ids=[page.student.pk]
    )
    upcoming = [
        (date, board.rows[0] if board.rows else None, board)
        for date, board in days.items()
        if board.is_school_day or date.weekday() < 5
    ]
    today_board = days[page.today]
    changes = list(
        PlanChange.objects.filter(
            student=page.student, cancelled_at__isnull=True, ends_on__gte=page.today
        )
        .select_related("bus_route", "pickup_guardian", "set_by")
        .order_by("starts_on", "id")
    )
    for change in changes:
        # Weekday names in the guardian's language (span_label is the office's English).
        change.weekday_names = (
            []
            if change.weekdays == weekdays.ALL_DAYS
            else [formats.date_format(MONDAY + dt.timedelta(days=d), "D")
                  for d in weekdays.days_of(change.weekdays)]
        )  # fmt: skip
        change.removable = (
            page.editable
            and change.source == Source.GUARDIAN
            and change.starts_on >= page.first_open
        )
    return render(
        request,
        "family/child.html",
        page.context(
            today_board=today_board,
            today_row=today_board.rows[0] if today_board.rows else None,
            upcoming=[item for item in upcoming if item[0] > page.today][:7],
            changes=changes,
            dismissal=page.school.dismissal_time_on(page.today),
            pickups=pickup_cards(guardian, school_id=page.school.pk),
        ),
    )


@family_view
@require_http_methods(["GET", "POST"])
def usual_edit(request, guardian, student_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    page.require_editable()
    current = (
        LongTermDefault.objects.filter(student=page.student, cancelled_at__isnull=True)
        .in_effect_on(page.first_open)
        .prefetch_related("days")
        .first()
    )
    data = request.POST if request.method == "POST" else None
    start, every, by_day = default_forms(
        data,
        school=page.school,
        student=page.student,
        current=current,
        starts_on=page.next_open_school_day(),
    )
    if request.method == "POST":
        days = default_days(start, every, by_day)
        if start.is_valid():
            page.check_start(start, "starts_on")
            chosen = [every] if start.cleaned_data["pattern"] == "same" else [f for *_, f in by_day]
            for plan_form in chosen:
                if plan_form.is_valid():
                    _check_pickup(plan_form, page.student)
            if any(plan_form.errors for plan_form in chosen):
                days = None
        if days is not None and start.is_valid():
            try:
                services.default_set(
                    student=page.student, starts_on=start.cleaned_data["starts_on"], days=days,
                    actor=request.user, source=Source.GUARDIAN, via=Via.WEB,
                )  # fmt: skip
            except ValidationError as exc:
                apply_errors(exc, start)
            else:
                messages.success(
                    request, _("Saved. We sent a confirmation to %(name)s's guardians.")
                    % {"name": page.student.first_name},
                )  # fmt: skip
                return redirect("family:child", page.student.pk)
    return render(
        request, "family/usual_form.html",
        page.context(start=start, every=every, by_day=by_day, current=current),
        status=_invalid(request) if request.method == "POST" else 200,
    )  # fmt: skip


@family_view
@require_http_methods(["GET", "POST"])
def change_new(request, guardian, student_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    page.require_editable()
    initial = {"starts_on": _requested_date(request, page) or page.next_open_school_day()}
    form = ChangeForm(
        request.POST if request.method == "POST" else None,
        school=page.school,
        student=page.student,
        initial=initial,
    )
    if request.method == "POST":
        if form.is_valid():
            page.check_start(form, "starts_on")
            _check_pickup(form, page.student)
        if form.is_valid():
            try:
                services.change_create(
                    student=page.student, starts_on=form.cleaned_data["starts_on"],
                    ends_on=form.cleaned_data["ends_on"], weekday_mask=form.weekday_mask(),
                    plan=form.spec(), actor=request.user, source=Source.GUARDIAN, via=Via.WEB,
                )  # fmt: skip
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(
                    request, _("Change saved. We sent a confirmation to %(name)s's guardians.")
                    % {"name": page.student.first_name},
                )  # fmt: skip
                return redirect("family:child", page.student.pk)
    return render(
        request, "family/change_form.html", page.context(form=form),
        status=_invalid(request) if request.method == "POST" else 200,
    )  # fmt: skip


def _requested_date(request, page) -> dt.date | None:
    try:
        date = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return None
    return date if date >= page.first_open else None


@family_view
@require_POST
def change_remove(request, guardian, student_id, change_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    page.require_editable()
    change = get_object_or_404(
        PlanChange, pk=change_id, student=page.student, cancelled_at__isnull=True
    )
    if change.source != Source.GUARDIAN:
        messages.error(
            request, _("The school office set this change. Please call %(phone)s to change it.")
            % {"phone": page.school.office_phone},
        )  # fmt: skip
    elif change.starts_on < page.first_open:
        messages.error(
            request,
            _("This change has started and can no longer be removed online. Please call the "
              "school office at %(phone)s.") % {"phone": page.school.office_phone},
        )  # fmt: skip
    else:
        services.change_cancel(
            change=change, actor=request.user, via=Via.WEB, source=Source.GUARDIAN
        )
        messages.success(request, _("Change removed."))
    return redirect("family:child", page.student.pk)


# ---------------------------------------------------------------------------------------------
# The month


@family_view
def month(request, guardian, student_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    first = _month_param(request.GET.get("month"), page.today)
    last = first.replace(day=calendar_module.monthrange(first.year, first.month)[1])
    boards = plan_days(page.school, first, last, student_ids=[page.student.pk])
    weeks = []
    for week in calendar_module.Calendar(firstweekday=6).monthdatescalendar(
        first.year, first.month
    ):
        cells = []
        for date in week:
            board = boards.get(date)
            row = board.rows[0] if board and board.rows else None
            cells.append({
                "date": date, "in_month": date.month == first.month, "board": board,
                "row": row, "past": date < page.today, "today": date == page.today,
            })  # fmt: skip
        weeks.append(cells)
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = last + dt.timedelta(days=1)
    return render(
        request, "family/month.html",
        page.context(first=first, weeks=weeks, prev_month=prev_month, next_month=next_month,
                     weekday_heads=_weekday_heads()),
    )  # fmt: skip


def _weekday_heads():
    sunday = dt.date(2026, 11, 22)
    return [sunday + dt.timedelta(days=n) for n in range(7)]


def _month_param(value, today: dt.date) -> dt.date:
    try:
        year, month_number = (int(part) for part in (value or "").split("-"))
        first = dt.date(year, month_number, 1)
    except ValueError:
        return today.replace(day=1)
    # Two school years either way is all a family needs; further is a typo.
    if abs(first.year - today.year) > 2:
        return today.replace(day=1)
    return first


# ---------------------------------------------------------------------------------------------
# Sign-in links and the account


@require_http_methods(["GET"])
def link(request):
    return _link(request, links.FAMILY_SCOPE, links.FAMILY_LINK_AGE, reverse("family:home"))


@require_http_methods(["GET"])
def link_child(request, student_id):
    return _link(
        request, links.child_scope(student_id), links.CHILD_LINK_AGE,
        _setup_target(student_id, request.GET.get("setup", "")),
    )  # fmt: skip


def _setup_target(student_id: int, setup: str) -> str:
    """Where a "no plan yet" link lands: the usual plan when the child has none from that day,
    else a change for the day. Any other link lands on the child's page."""
    try:
        date = dt.date.fromisoformat(setup)
    except ValueError:
        return reverse("family:child", args=[student_id])
    has_usual = (
        LongTermDefault.objects.filter(student_id=student_id, cancelled_at__isnull=True)
        .exclude(ends_on__lt=date)
        .exists()
    )
    if not has_usual:
        return reverse("family:usual", args=[student_id])
    return f"{reverse('family:change_new', args=[student_id])}?date={date:%Y-%m-%d}"


def _link(request, scope, max_age, target):
    if request.user.is_authenticated and request.user.memberships.exists():
        # Opening a family's link from a staff session would swap it for the family's.
        return render(request, "family/link_staff.html", status=403)
    user = get_user(request, scope=scope, max_age=max_age)
    # A link opens a guardian's pages only: an account that is also staff signs in with its
    # password, so a forwarded family link never opens a school's records.
    if user is None or not hasattr(user, "guardian") or user.memberships.exists():
        return render(request, "family/link_invalid.html", {"form": LinkRequestForm()}, status=403)
    login(request, user, backend="sesame.backends.ModelBackend")
    return redirect(target)


@require_http_methods(["GET", "POST"])
def link_request_view(request):
    """ "Send me a new link": the same answer whether or not the address is on file."""
    form = LinkRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # Per address as well as per guardian: at most 20 requests an hour from one place.
        key = f"family-link-request:{request.META.get('REMOTE_ADDR', '')}"
        cache.add(key, 0, timeout=3600)
        if cache.incr(key) <= LINK_REQUESTS_PER_HOUR:
            with transaction.atomic():
                link_request(form.cleaned_data["contact"])
        return render(request, "family/link_sent.html", {"contact": form.cleaned_data["contact"]})
    return render(
        request, "family/link_request.html", {"form": form},
        status=400 if request.method == "POST" else 200,
    )  # fmt: skip


@family_view
@require_http_methods(["GET", "POST"])
def account(request, guardian):
    posted = request.POST if request.method == "POST" else None
    which = request.POST.get("form") if posted else None
    form = SetPasswordForm(request.user, posted if which == "password" else None)
    language = LanguageForm(
        posted if which == "language" else None, initial={"language": guardian.language}
    )
    if which == "password" and form.is_valid():
        with transaction.atomic():
            form.save()
            audit_record(
                action="family.password.set", actor=request.user, target=guardian,
                district=guardian.district, label=f"Password of {guardian.full_name}",
            )  # fmt: skip
        # Setting a password ends old links (they carry the old password's hash), not this visit.
        login(request, request.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Password saved. You can now also sign in with it."))
        return redirect("family:account")
    if which == "language" and language.is_valid():
        guardian_language_set(guardian=guardian, language=language.cleaned_data["language"],
                              actor=request.user)  # fmt: skip
        translation.activate(guardian.language)
        messages.success(request, _("Language saved."))
        return redirect("family:account")
    invalid = which in ("password", "language")
    return render(
        request, "family/account.html", {"guardian": guardian, "form": form, "language": language},
        status=_invalid(request) if invalid else 200,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Who may pick the child up


@family_view
@require_http_methods(["GET", "POST"])
def adults(request, guardian, student_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    form = AdultForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST":
        page.require_editable()
        if form.is_valid():
            data = form.cleaned_data
            try:
                adult_add(
                    student=page.student, actor=request.user, source=PickupSource.GUARDIAN,
                    first_name=data["first_name"], last_name=data["last_name"],
                    relationship=data["relationship"], phone=data["phone"],
                    photo=data.get("photo"), note=data.get("note", ""),
                )  # fmt: skip
            except ValidationError as exc:
                apply_errors(exc, form)
            else:
                messages.success(
                    request, _("Added %(name)s. The school checks their ID at pickup.")
                    % {"name": f"{data['first_name']} {data['last_name']}"},
                )  # fmt: skip
                return redirect("family:adults", page.student.pk)
    return render(
        request, "family/adults.html",
        page.context(form=form, people=pickup_people(page.student, page.today),
                     restrictions=active_restrictions(page.student, page.today)),
        status=_invalid(request) if request.method == "POST" else 200,
    )  # fmt: skip


@family_view
@require_POST
def adult_remove_view(request, guardian, student_id, adult_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    page.require_editable()
    adult = get_object_or_404(
        AuthorizedAdult, pk=adult_id, student=page.student, removed_at__isnull=True
    )
    adult_remove(adult=adult, actor=request.user, source=PickupSource.GUARDIAN)
    messages.success(
        request, _("Removed %(name)s from the pickup list.") % {"name": adult.full_name}
    )
    return redirect("family:adults", page.student.pk)


@family_view
def adult_photo(request, guardian, student_id, adult_id):
    page = ChildPage(guardian, child_or_404(guardian, student_id))
    adult = get_object_or_404(AuthorizedAdult, pk=adult_id, student=page.student)
    if not adult.photo or not adult.photo.storage.exists(adult.photo.name):
        raise Http404(_("No photo."))
    return private_file_response(adult.photo, download_name=f"adult-{adult.pk}", attachment=False)
