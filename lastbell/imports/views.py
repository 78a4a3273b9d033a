"""Upload pages: check a file (a dry run with a per-row report), then import it.

The checked file is kept under the data directory by a random name, so "Import" applies
exactly the file that was checked, without choosing it again.
"""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from lastbell.accounts.access import district_admin_or_404
from lastbell.imports import csvfeeds
from lastbell.imports.edfi import import_edfi
from lastbell.imports.oneroster import import_oneroster
from lastbell.plans.views import SchoolPage

KINDS = {"attendance": ("Attendance", csvfeeds.import_attendance),
         "bus": ("Bus assignments", csvfeeds.import_buses)}  # fmt: skip
MAX_UPLOAD = 200 * 1024**2


def _upload_dir():
    path = settings.DATA_DIR / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _keep(upload, suffix) -> str:
    token = secrets.token_urlsafe(16)
    with open(_upload_dir() / f"{token}{suffix}", "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def _kept(token: str, suffix: str):
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return None
    path = _upload_dir() / f"{token}{suffix}"
    return path if path.exists() else None


@login_required
def template(request, school_id, kind):
    SchoolPage(request, school_id, tracker_required=False).access.require_edit()
    if kind not in csvfeeds.TEMPLATES:
        raise Http404("No such template.")
    response = HttpResponse(csvfeeds.template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{kind}-template.csv")
    return response


def _check_or_apply(request, *, suffix, run, back):
    """The two steps every upload page shares: "check" keeps the upload and runs a dry run;
    "apply" runs the kept file for real and forgets it once imported. Returns (report,
    token, file name), or a redirect when the kept file is gone."""
    if request.POST.get("mode") == "apply":
        token = request.POST.get("file", "")
        path = _kept(token, suffix)
        if path is None:
            messages.error(request, "That checked file is gone; choose it and check it again.")
            return redirect(back)
        name = request.POST.get("name", f"file{suffix}")[:200]
        report = run(path, name, True)
        if report.ok:
            path.unlink(missing_ok=True)
            messages.success(request, f"Imported {name}: {report.summary()}")
        return report, token, name
    upload = request.FILES.get("upload")
    if upload is None:
        messages.error(request, "Choose the file to check.")
    elif upload.size > MAX_UPLOAD:
        messages.error(request, f"{upload.name} is larger than 200 MB. Split it and try again.")
    else:
        token = _keep(upload, suffix)
        return run(_upload_dir() / f"{token}{suffix}", upload.name, False), token, upload.name
    return None, None, None


@login_required
@require_http_methods(["GET", "POST"])
def school_imports(request, school_id):
    page = SchoolPage(request, school_id, tracker_required=False)
    page.access.require_edit()
    report = kind = token = file_name = None
    if request.method == "POST":
        kind = request.POST.get("kind")
        if kind not in KINDS:
            raise Http404("No such import.")
        importer = KINDS[kind][1]

        def run(path, name, apply):
            return importer(path, school=page.school, name=name, apply=apply, actor=request.user)

        back = reverse("imports:school", args=[page.school.pk])
        outcome = _check_or_apply(request, suffix=".csv", run=run, back=back)
        if not isinstance(outcome, tuple):
            return outcome
        report, token, file_name = outcome
    return render(
        request, "imports/school.html",
        page.context("imports", kinds=KINDS, report=report, kind=kind, token=token,
                     file_name=file_name, rows=report.rows[:500] if report else []),
    )  # fmt: skip


ROSTER_KINDS = {"oneroster": ".zip", "edfi": ".xml"}


@login_required
@require_http_methods(["GET", "POST"])
def district_roster(request, district_id):
    """District admins: a OneRoster zip or an Ed-Fi interchange XML file, checked first."""
    district = district_admin_or_404(request.user, district_id)
    report = token = file_name = kind = None
    if request.method == "POST":
        kind = request.POST.get("kind", "oneroster")
        if kind not in ROSTER_KINDS:
            raise Http404("No such import.")

        def run(path, name, apply):
            if kind == "edfi":
                return import_edfi(path, district=district, actor=request.user, apply=apply,
                                   name=name)  # fmt: skip
            return import_oneroster(path, district=district, actor=request.user, apply=apply)

        back = reverse("imports:roster", args=[district.pk])
        outcome = _check_or_apply(request, suffix=ROSTER_KINDS[kind], run=run, back=back)
        if not isinstance(outcome, tuple):
            return outcome
        report, token, file_name = outcome
    return render(
        request, "imports/roster.html",
        {"district": district, "report": report, "token": token, "file_name": file_name,
         "kind": kind, "rows": report.rows[:500] if report else []},
    )  # fmt: skip
