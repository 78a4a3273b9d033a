"""OneRoster 1.1 and 1.2 CSV bulk sets: schools, students, guardians, their links, homerooms.

    import_oneroster("/path/to/set-or.zip", district=district, apply=True) -> Report

What comes from where:
- orgs.csv, type `school` -> School, matched by its sourcedId in School.code (or its
  `identifier` there, for a school set up by hand with its state code). A new school gets the
  district's time zone. Other org types (district, department ...) are not schools; people
  attached to a department belong to the department's parent school.
- users.csv (1.2: with roles.csv for the role and school) -> Student for role `student`,
  Guardian for `parent`, `guardian` and `relative`; staff roles are skipped. A student's id
  (Student.sis_id) is the row's `identifier`, the number staff know and search for, or the
  sourcedId when the identifier is empty. Guardians are matched on Guardian.source_id =
  sourcedId. `grades` gives the grade (first one; KG -> K, 03 -> 3). `enabledUser` false or
  status `tobedeleted` withdraws a student (today); an enabled, active row re-enrolls them: the
  SIS is the authority on enrollment. Guardians get email, `sms` (else `phone`) as mobile, and
  a `language` column when present, on creation only: the language is the guardian's choice.
- agentSourcedIds, on the student's row or on the guardian's row -> GuardianLink. Links are
  only ever added: one a person made in Last Bell is never removed by an import.
- classes.csv with classType `homeroom` -> Homeroom (per school, by the class title), and
  enrollments.csv student rows in them -> Student.homeroom.

How it runs: every file is streamed through csv.DictReader and handled in batches of
BATCH_SIZE rows with one lookup query per batch, so memory stays flat apart from a small map of
sourcedIds per user. The whole set runs in one transaction; a dry run is the same run, rolled
back at the end, so its report is exactly what applying would do. A problem with a whole file
(encoding, delimiter, missing columns, size) rolls everything back; a bad row is rejected and
reported while the other rows go ahead, as a SIS export with one odd record should still bring
in the other thousands. Running the same files again changes nothing: every row is "kept".

One audit event per applied import (action `import.oneroster`, via Import) records the source
and the counts; a row per changed record would be 100,000 audit rows for a district roster.
Which records came from the import stays visible on them: Guardian.source_id, and students
by their SIS id.
"""

import codecs
import csv
import datetime as dt
import pathlib
import re
import zipfile
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from lastbell import live
from lastbell.audit.models import Via
from lastbell.audit.services import audit_record
from lastbell.imports.report import Outcome, Report
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.schools.models import District, Homeroom, School

BATCH_SIZE = 1000
MAX_FILE_BYTES = 1024**3  # 1 GB: a roster of a very large district is a few hundred MB
MAX_LINE = 1024**2  # bytes; a roster line is a few hundred

STUDENT_ROLES = {"student"}
GUARDIAN_ROLES = {"parent", "guardian", "relative"}
SUPPORTED_VERSIONS = {"1.1", "1.2"}

# Required columns per file and version: a header without them is a wrong file or delimiter.
REQUIRED = {
    "orgs.csv": ["sourcedId", "name", "type"],
    "roles.csv": ["sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"],
    "users.csv": ["sourcedId", "enabledUser", "givenName", "familyName"],
    "users.csv/1.1": ["sourcedId", "enabledUser", "orgSourcedIds", "role", "givenName",
                      "familyName"],
    "classes.csv": ["sourcedId", "title", "classType", "schoolSourcedId"],
    "enrollments.csv": ["sourcedId", "classSourcedId", "userSourcedId", "role"],
}  # fmt: skip

Progress = Callable[[str, int, float | None], None]


class FileProblem(Exception):
    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


class _Rollback(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Reading: a folder or a zip, each file streamed.


class _Folder:
    def __init__(self, path: pathlib.Path):
        self.path = path
        self.files = {p.name.lower(): p for p in path.iterdir() if p.is_file()}

    def has(self, name):
        return name.lower() in self.files

    def size(self, name):
        return self.files[name.lower()].stat().st_size

    def open(self, name):
        return self.files[name.lower()].open("rb")

    def close(self):
        pass


class _Zip:
    def __init__(self, file):
        self.zip = zipfile.ZipFile(file)
        # A set zipped with its folder has its files one level down.
        self.files = {
            pathlib.PurePosixPath(info.filename).name.lower(): info
            for info in self.zip.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        }

    def has(self, name):
        return name.lower() in self.files

    def size(self, name):
        return self.files[name.lower()].file_size

    def open(self, name):
        return self.zip.open(self.files[name.lower()])

    def close(self):
        self.zip.close()


@contextmanager
def _open_source(source):
    if isinstance(source, str | pathlib.Path) and pathlib.Path(source).is_dir():
        opened = _Folder(pathlib.Path(source))
    else:
        try:
            opened = _Zip(source)
        except (zipfile.BadZipFile, FileNotFoundError, IsADirectoryError, OSError) as error:
            name = pathlib.Path(source).name if isinstance(source, str | pathlib.Path) else ""
            raise FileProblem(
                name,
                "is neither a folder nor a zip file of OneRoster CSV files. Export the "
                "roster from the student information system as OneRoster CSV and try again.",
            ) from error
    try:
        yield opened
    finally:
        opened.close()


def _rows(source, name: str, required: list[str], progress: Progress | None, max_bytes: int
          ) -> Iterator[tuple[int, dict[str, str]]]:  # fmt: skip
    """(row number, {column: stripped cell}) for every data row of a CSV file, streamed."""
    size = source.size(name)
    if size > max_bytes:
        raise FileProblem(
            name,
            f"is {size / 1024**2:,.0f} MB, more than the {max_bytes / 1024**2:,.0f} MB Last Bell "
            "takes in one file. Export the schools in smaller sets and import them one by one.",
        )
    raw = source.open(name)
    row_number = 1
    try:
        reader = csv.DictReader(_lines(raw, name))
        header = [(c or "").strip() for c in (reader.fieldnames or [])]
        if not header:
            raise FileProblem(name, "is empty: it has no header row.")
        reader.fieldnames = header
        missing = [c for c in required if c not in header]
        if missing:
            raise FileProblem(name, _header_problem(header, required, missing))
        for row_number, row in enumerate(reader, start=2):
            extra = row.pop(None, None)
            cells = {k: (v or "").strip() for k, v in row.items()}
            if extra and any(v.strip() for v in extra):
                cells["\0extra"] = "yes"
            if progress and row_number % BATCH_SIZE == 0:
                progress(name, row_number - 1, _fraction(raw, size))
            yield row_number, cells
        if progress:
            progress(name, row_number - 1, 1.0)
    except csv.Error as error:
        raise FileProblem(
            name, f"could not be read as CSV near row {row_number + 1} ({error})."
        ) from error
    finally:
        raw.close()


def _lines(raw, name) -> Iterator[str]:
    """The file's lines as text, checked one by one, so an encoding error names its line.

    (UTF-8 never has a newline byte inside a character, so splitting bytes first is safe.)
    """
    number = 0
    while line := raw.readline(MAX_LINE):
        number += 1
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            raise FileProblem(
                name, f"has a line longer than {MAX_LINE:,} characters (line {number}): it is "
                "not the CSV file Last Bell expects, or it is damaged.",
            )  # fmt: skip
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FileProblem(
                name,
                f"is not UTF-8 text (the first problem is on line {number}). Save it as "
                '"CSV UTF-8" in your spreadsheet program, or export it again, and try again.',
            ) from error


def _fraction(raw, size) -> float | None:
    try:
        return min(raw.tell() / size, 1.0) if size else None
    except (OSError, ValueError):
        return None


def _header_problem(header, required, missing) -> str:
    for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if len(header) == 1 and delimiter in header[0]:
            return (
                f"has its columns separated by {label}; Last Bell reads commas. Export it "
                f"again as comma-separated CSV. Its first row must name the columns "
                f"{', '.join(required)}."
            )
    return (
        f"is missing the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. Its "
        f"first row must name the columns {', '.join(required)} (and may have others)."
    )


# ---------------------------------------------------------------------------------------------
# Cells


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(T.*)?$")


def _date_problem(value: str, column: str) -> str | None:
    """Why `value` is not a usable date, or None (an empty cell is fine)."""
    if not value:
        return None
    match = _DATE.match(value)
    if not match:
        return f"the {column} {value!r} is not a date written like 2024-08-19"
    try:
        dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return f"the {column} {value} is not a real date"
    return None


def _ids(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _grade(value: str) -> str:
    grade = (_ids(value) or [""])[0]
    if grade.upper() == "KG":
        return "K"
    if grade.isdigit():
        return str(int(grade))
    return grade[:8]


def _no_school(orgs: list[str], kinds: dict[str, str]) -> str:
    named = ", ".join(orgs) or "(none)"
    placed = [
        f"the school {o} was not imported (see orgs.csv)"
        if kinds[o] == "school"
        else f"{o} is a {kinds[o]} whose school is not known"
        for o in orgs
        if o in kinds
    ]
    return "; ".join(placed) if placed else f"no school {named} in orgs.csv or in this district"


def _update_rows(model, objects, fields):
    """Save `fields` of many rows with one executemany of a plain UPDATE.

    QuerySet.bulk_update builds a CASE branch per row and field in Python, which takes about
    two minutes for a roster of 50,000 changed people; this takes seconds. Database triggers
    still stamp the boards (plans/stamps.py).
    """
    if not objects:
        return
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    sets = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    # Table and column names come from the model, never from the file.
    sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote('id')} = %s"  # noqa: S608
    params = [
        [c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _batches(rows, size=BATCH_SIZE):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---------------------------------------------------------------------------------------------
# The import


def import_oneroster(
    source,
    *,
    district: District,
    actor=None,
    apply: bool = False,
    report: Report | None = None,
    progress: Progress | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Report:
    """Import a OneRoster CSV bulk set (folder, zip path or zip file object) into `district`.

    A dry run (the default) reports what would happen and saves nothing.
    """
    label = source if isinstance(source, str | pathlib.Path) else getattr(source, "name", "")
    report = report or Report(pathlib.Path(str(label or "upload.zip")).name)
    try:
        with _open_source(source) as opened, transaction.atomic():
            run = _Run(opened, district, report, progress, max_file_bytes)
            run.all()
            if apply:
                # Bulk writes send no model signals: tell each school's open pages.
                for school_id in district.schools.values_list("pk", flat=True):
                    live.board_changed(school_id)
                audit_record(
                    action="import.oneroster", actor=actor, target=district, via=Via.IMPORT,
                    after={"source": report.source, "version": report.version,
                           "counts": report.counts()},
                    label=f"OneRoster import {report.source}"[:300],
                )  # fmt: skip
            else:
                raise _Rollback
    except _Rollback:
        pass
    except FileProblem as problem:
        report.file_error(problem.file, problem.message)
    report.applied = apply and report.ok
    return report


class _Run:
    def __init__(self, source, district, report: Report, progress, max_bytes):
        self.source = source
        self.district = district
        self.report = report
        self.progress = progress
        self.max_bytes = max_bytes
        self.today = timezone.now().astimezone(zoneinfo.ZoneInfo(district.timezone)).date()
        self.version = "1.1"
        self.org_school: dict[str, int | None] = {}  # org sourcedId -> school pk (None: none)
        self.org_kind: dict[str, str] = {}
        self.students: dict[str, int] = {}  # user sourcedId -> Student pk
        self.guardians: dict[str, int] = {}  # user sourcedId -> Guardian pk
        self.user_role: dict[str, str] = {}  # every user sourcedId in users.csv -> role
        self.roles: dict[str, tuple[str, str]] = {}  # 1.2: user sourcedId -> (role, org)
        self.agent_pairs: list[tuple[str, str, int]] = []  # (student, guardian, users.csv row)
        self.homeroom_classes: dict[str, tuple[int, str]] = {}  # class -> (homeroom pk, title)

    def rows(self, name, required):
        return _rows(self.source, name, required, self.progress, self.max_bytes)

    def all(self):
        self.read_manifest()
        for name in ["orgs.csv", "users.csv"] + (["roles.csv"] if self.version == "1.2" else []):
            if not self.source.has(name):
                raise FileProblem(name, f"is missing: a OneRoster {self.version} set needs it.")
        if self.source.has("classes.csv") != self.source.has("enrollments.csv"):
            missing = "enrollments.csv" if self.source.has("classes.csv") else "classes.csv"
            raise FileProblem(missing, "is missing: homerooms need both classes and enrollments.")
        self.import_orgs()
        if self.version == "1.2":
            self.read_roles()
        self.import_users()
        self.import_links()
        if self.source.has("classes.csv"):
            self.import_classes()
            self.import_enrollments()

    def add(self, *args):
        self.report.add(*args)

    # manifest --------------------------------------------------------------------------------

    def read_manifest(self):
        if not self.source.has("manifest.csv"):
            # Without a manifest, the shape of users.csv says which version it is.
            self.version = "1.2" if self.source.has("roles.csv") else "1.1"
            self.report.version = self.version
            return
        manifest = {
            row["propertyName"]: row.get("value", "")
            for _, row in self.rows("manifest.csv", ["propertyName", "value"])
        }
        version = manifest.get("oneroster.version", "")
        if version not in SUPPORTED_VERSIONS:
            raise FileProblem(
                "manifest.csv",
                f"says this is OneRoster version {version or '(none)'}; Last Bell takes "
                "versions 1.1 and 1.2.",
            )
        self.version = self.report.version = version
        for key, mode in manifest.items():
            name = key.removeprefix("file.") + ".csv"
            if key.startswith("file.") and mode.lower() == "delta":
                raise FileProblem(
                    name,
                    "is a delta (changes only). Last Bell imports bulk sets: export the full "
                    "roster and try again.",
                )
            if key.startswith("file.") and mode.lower() == "bulk" and not self.source.has(name):
                raise FileProblem(name, "is listed in manifest.csv but is not in the set.")

    # orgs ------------------------------------------------------------------------------------

    def import_orgs(self):
        # Orgs are few (a school district has hundreds), so they are read whole.
        file = "orgs.csv"
        orgs: dict[str, tuple[int, dict]] = {}
        for row_number, row in self.rows(file, REQUIRED[file]):
            key = row["sourcedId"]
            if problem := self.row_problem(row, orgs.keys(), file):
                self.add(file, row_number, Outcome.REJECTED, "org", key, problem)
                continue
            orgs[key] = (row_number, row)
            self.org_kind[key] = row["type"].lower()

        keys = [k for k, (_, r) in orgs.items() if r["type"].lower() == "school"]
        idents = [orgs[k][1].get("identifier", "") for k in keys]
        names = [orgs[k][1]["name"] for k in keys]
        existing = list(
            School.objects.filter(district=self.district).filter(
                Q(code__in=[*keys, *filter(None, idents)]) | Q(name__in=names)
            )
        )
        by_code = {s.code: s for s in existing if s.code}
        by_name = {s.name: s for s in existing}
        taken_names: dict[str, str] = {}
        for key, (row_number, row) in orgs.items():
            kind = row["type"].lower()
            if kind != "school":
                continue
            name = row["name"][:200]
            school = by_code.get(key) or by_code.get(row.get("identifier", "") or "\0")
            if school is None and name in by_name and not by_name[name].code:
                school = by_name[name]  # a school set up by hand, before any import
            if not name:
                self.add(
                    file, row_number, Outcome.REJECTED, "school", key, "the school has no name"
                )
                continue
            if name in taken_names:
                reason = f"another school in this file, {taken_names[name]}, has the same name"
                self.add(file, row_number, Outcome.REJECTED, "school", key, reason)
                continue
            other = by_name.get(name)
            if other is not None and other != school:
                reason = f"another school in Last Bell is already called {name!r}"
                self.add(file, row_number, Outcome.REJECTED, "school", key, reason)
                continue
            taken_names[name] = key
            deleted = row.get("status", "").lower() == "tobedeleted"
            if school is None and deleted:
                reason = "the school is marked to be deleted and is not in Last Bell"
                self.add(file, row_number, Outcome.SKIPPED, "school", key, reason)
                continue
            if school is None:
                school = School.objects.create(
                    district=self.district, name=name, code=key[:64],
                    timezone=self.district.timezone,
                )  # fmt: skip
                outcome = Outcome.CREATED
            elif school.name != name or not school.code:
                school.name, school.code = name, school.code or key[:64]
                school.save(update_fields=["name", "code"])
                outcome = Outcome.UPDATED
            else:
                outcome = Outcome.KEPT
            reason = "marked to be deleted; Last Bell keeps the school" if deleted else ""
            self.add(file, row_number, outcome, "school", key, reason)
            self.org_school[key] = school.pk

        # Departments and other orgs stand for their parent school, when that is known.
        parents = {k: r.get("parentSourcedId", "") for k, (_, r) in orgs.items()}
        for key, (row_number, row) in orgs.items():
            kind = row["type"].lower()
            if kind == "school":
                continue
            if kind in ("district", "local", "state", "national"):
                reason = f"a {kind}, not a school: Last Bell imports schools only"
                self.add(file, row_number, Outcome.SKIPPED, "org", key, reason)
                self.org_school[key] = None
                continue
            parent = parents.get(key, "")
            self.org_school[key] = self.school_of_org(parent, parents) if parent else None
            if self.org_school[key]:
                reason = f"a {kind}, not a school: its people go to its school {parent}"
            else:
                reason = (
                    f"a {kind}, not a school, and its school {parent or '(none given)'} is "
                    "neither in orgs.csv nor in Last Bell: its people cannot be placed"
                )
            self.add(file, row_number, Outcome.SKIPPED, "org", key, reason)

    def school_of_org(self, key: str, parents: dict[str, str], depth=0) -> int | None:
        if key in self.org_school:
            return self.org_school[key]
        if key in parents and depth < 5:
            parent = parents[key]
            return self.school_of_org(parent, parents, depth + 1) if parent else None
        school = School.objects.filter(district=self.district, code=key).first()
        self.org_school[key] = school.pk if school else None
        return self.org_school[key]

    def resolve_orgs(self, keys):
        """Look up, in one query, the schools of org ids not in orgs.csv."""
        unknown = {k for k in keys if k and k not in self.org_school}
        if unknown:
            found = dict(
                School.objects.filter(district=self.district, code__in=unknown).values_list(
                    "code", "pk"
                )
            )
            for key in unknown:
                self.org_school[key] = found.get(key)

    def row_problem(self, row, seen, file) -> str | None:
        """The problems every OneRoster row can have."""
        if "\0extra" in row:
            return "the row has more cells than the file has columns (a comma inside a name?)"
        if not row["sourcedId"]:
            return "the row has no sourcedId"
        if row["sourcedId"] in seen:
            return f"{row['sourcedId']} appears more than once in {file}; only the first is used"
        if len(row["sourcedId"]) > 64:
            return "the sourcedId is longer than 64 characters"
        return _date_problem(row.get("dateLastModified", ""), "date last modified")

    # roles (1.2) -----------------------------------------------------------------------------

    def read_roles(self):
        file, seen = "roles.csv", set()
        for row_number, row in self.rows(file, REQUIRED[file]):
            problem = self.row_problem(row, seen, file) or _date_problem(
                row.get("beginDate", ""), "begin date"
            ) or _date_problem(row.get("endDate", ""), "end date")  # fmt: skip
            seen.add(row["sourcedId"])
            if problem:
                self.add(file, row_number, Outcome.REJECTED, "role", row["sourcedId"], problem)
                continue
            if row.get("status", "").lower() == "tobedeleted":
                continue
            user = row["userSourcedId"]
            primary = row["roleType"].lower() == "primary"
            if primary or user not in self.roles:
                self.roles[user] = (row["role"].lower(), row["orgSourcedId"])

    # users -----------------------------------------------------------------------------------

    def import_users(self):
        file = "users.csv"
        required = REQUIRED["users.csv/1.1" if self.version == "1.1" else file]
        seen_sis: dict[str, int] = {}

        def parsed():
            for row_number, row in self.rows(file, required):
                key = row["sourcedId"]
                problem = self.row_problem(row, self.user_role, file)
                role, orgs = self.role_and_orgs(row)
                if not problem:
                    self.user_role[key] = role
                yield row_number, row, key, role, orgs, problem

        for batch in _batches(parsed()):
            self.resolve_orgs(org for *_, orgs, _ in batch for org in orgs)
            students, guardians = [], []
            for row_number, row, key, role, orgs, problem in batch:
                kind = "student" if role in STUDENT_ROLES else "guardian"
                if problem:
                    self.add(file, row_number, Outcome.REJECTED, "user", key, problem)
                elif role in STUDENT_ROLES:
                    self.collect_student(row_number, row, key, orgs, seen_sis, students)
                elif role in GUARDIAN_ROLES:
                    self.collect_guardian(row_number, row, key, guardians)
                else:
                    reason = (
                        f"a {role or 'user without a role'}: Last Bell imports students and "
                        "their guardians only"
                    )
                    self.add(file, row_number, Outcome.SKIPPED, "user", key, reason)
                    continue
                if problem:
                    continue
                for agent in _ids(row.get("agentSourcedIds", "")):
                    pair = (key, agent) if kind == "student" else (agent, key)
                    self.agent_pairs.append((*pair, row_number))
            self.save_students(students)
            self.save_guardians(guardians)

    def role_and_orgs(self, row) -> tuple[str, list[str]]:
        if self.version == "1.1":
            return row["role"].lower(), _ids(row["orgSourcedIds"])
        role, org = self.roles.get(row["sourcedId"], ("", ""))
        orgs = [org] if org else []
        if primary := row.get("primaryOrgSourcedId", ""):
            orgs.insert(0, primary)
        return role, orgs

    def collect_student(self, row_number, row, key, orgs, seen_sis, students):
        file = "users.csv"
        sis_id = row.get("identifier") or key
        school = next((self.org_school[o] for o in orgs if self.org_school.get(o)), None)
        problem = None
        if not row["givenName"] or not row["familyName"]:
            problem = "the student has no first name or no last name"
        elif len(sis_id) > 64:
            problem = f"the student id {sis_id!r} is longer than 64 characters"
        elif sis_id in seen_sis:
            problem = f"the student id {sis_id} is also on row {seen_sis[sis_id]}"
        elif school is None:
            problem = _no_school(orgs, self.org_kind)
        if problem:
            self.add(file, row_number, Outcome.REJECTED, "student", sis_id, problem)
            return
        seen_sis[sis_id] = row_number
        withdrawn = (
            row.get("status", "").lower() == "tobedeleted" or row["enabledUser"].lower() == "false"
        )
        students.append((row_number, key, sis_id, school, {
            "first_name": row["givenName"][:100],
            "last_name": row["familyName"][:100],
            "preferred_name": row.get("preferredGivenName", "")[:100],
            "grade": _grade(row.get("grades", "")),
        }, withdrawn))  # fmt: skip

    def save_students(self, students):
        if not students:
            return
        file = "users.csv"
        existing: dict[str, list[Student]] = {}
        for student in Student.objects.filter(
            school__district=self.district, sis_id__in=[s[2] for s in students]
        ):
            existing.setdefault(student.sis_id, []).append(student)
        creates, updates, created_rows = [], [], []
        fields = ["first_name", "last_name", "preferred_name", "grade", "school", "homeroom",
                  "withdrawn_on"]  # fmt: skip
        for row_number, key, sis_id, school_pk, values, withdrawn in students:
            matches = existing.get(sis_id, [])
            student = next((s for s in matches if s.school_id == school_pk), None) or next(
                iter(matches), None
            )
            if student is None:
                if withdrawn:
                    reason = "withdrawn in the SIS and not in Last Bell"
                    self.add(file, row_number, Outcome.SKIPPED, "student", sis_id, reason)
                    continue
                student = Student(school_id=school_pk, sis_id=sis_id, enrolled_on=self.today,
                                  **values)  # fmt: skip
                creates.append(student)
                created_rows.append((row_number, key, sis_id))
                continue
            before = [getattr(student, f + ("_id" if f in ("school", "homeroom") else ""))
                      for f in fields]  # fmt: skip
            for field, value in values.items():
                setattr(student, field, value)
            if student.school_id != school_pk:
                student.school_id, student.homeroom_id = school_pk, None
            if withdrawn and student.withdrawn_on is None:
                student.withdrawn_on = self.today
            elif not withdrawn:
                student.withdrawn_on = None
            after = [getattr(student, f + ("_id" if f in ("school", "homeroom") else ""))
                     for f in fields]  # fmt: skip
            self.students[key] = student.pk
            if before != after:
                updates.append(student)
                changed = [f for f, b, a in zip(fields, before, after, strict=True) if b != a]
                reason = "changed: " + ", ".join(f.replace("_", " ") for f in changed)
                self.add(file, row_number, Outcome.UPDATED, "student", sis_id, reason)
            else:
                self.add(file, row_number, Outcome.KEPT, "student", sis_id)
        Student.objects.bulk_create(creates)
        _update_rows(Student, updates, fields)
        for student, (row_number, key, sis_id) in zip(creates, created_rows, strict=True):
            self.students[key] = student.pk
            self.add(file, row_number, Outcome.CREATED, "student", sis_id)

    def collect_guardian(self, row_number, row, key, guardians):
        email = row.get("email", "")
        problem = None
        if row.get("status", "").lower() == "tobedeleted":
            reason = "marked to be deleted: Last Bell does not remove guardians on import"
            self.add("users.csv", row_number, Outcome.SKIPPED, "guardian", key, reason)
            return
        if not row["givenName"] and not row["familyName"]:
            problem = "the guardian has no name"
        elif email:
            try:
                validate_email(email)
            except ValidationError:
                problem = f"the email {email!r} is not an email address"
        if problem:
            self.add("users.csv", row_number, Outcome.REJECTED, "guardian", key, problem)
            return
        values = {
            "first_name": row["givenName"][:100],
            "last_name": row["familyName"][:100],
            "email": email[:254],
            "mobile": (row.get("sms") or row.get("phone", ""))[:40],
        }
        language = row.get("language", "").lower()[:2]
        guardians.append((row_number, key, values, language))

    def save_guardians(self, guardians):
        if not guardians:
            return
        languages = {code for code, _ in settings.LANGUAGES}
        file = "users.csv"
        existing = {
            g.source_id: g
            for g in Guardian.objects.filter(
                district=self.district, source_id__in=[g[1] for g in guardians]
            )
        }
        creates, created_rows, updates = [], [], []
        fields = ["first_name", "last_name", "email", "mobile"]
        for row_number, key, values, language in guardians:
            guardian = existing.get(key)
            if guardian is None:
                guardian = Guardian(district=self.district, source_id=key, **values)
                if language in languages:
                    guardian.language = language
                creates.append(guardian)
                created_rows.append((row_number, key))
                continue
            self.guardians[key] = guardian.pk
            changed = [f for f in fields if getattr(guardian, f) != values[f]]
            if changed:
                for field in changed:
                    setattr(guardian, field, values[field])
                updates.append(guardian)
                reason = "changed: " + ", ".join(f.replace("_", " ") for f in changed)
                self.add(file, row_number, Outcome.UPDATED, "guardian", key, reason)
            else:
                self.add(file, row_number, Outcome.KEPT, "guardian", key)
        Guardian.objects.bulk_create(creates)
        _update_rows(Guardian, updates, fields)
        for guardian, (row_number, key) in zip(creates, created_rows, strict=True):
            self.guardians[key] = guardian.pk
            self.add(file, row_number, Outcome.CREATED, "guardian", key)

    # guardian links --------------------------------------------------------------------------

    def import_links(self):
        file, seen = "users.csv", set()
        pairs = []
        for student_key, guardian_key, row_number in self.agent_pairs:
            if (student_key, guardian_key) in seen:
                continue  # both people's rows name each other
            seen.add((student_key, guardian_key))
            label = f"{guardian_key} → {student_key}"
            problem = self.link_problem(student_key, guardian_key)
            if problem:
                self.add(file, row_number, Outcome.REJECTED, "guardian link", label, problem)
            else:
                pairs.append((self.guardians[guardian_key], self.students[student_key],
                              row_number, label, self.user_role[guardian_key]))  # fmt: skip
        self.agent_pairs = []
        for batch in _batches(pairs):
            existing = set(
                GuardianLink.objects.filter(
                    guardian_id__in={p[0] for p in batch}, student_id__in={p[1] for p in batch}
                ).values_list("guardian_id", "student_id")
            )
            creates = []
            for guardian_pk, student_pk, row_number, label, role in batch:
                if (guardian_pk, student_pk) in existing:
                    self.add(file, row_number, Outcome.KEPT, "guardian link", label)
                    continue
                existing.add((guardian_pk, student_pk))
                creates.append(GuardianLink(guardian_id=guardian_pk, student_id=student_pk,
                                            relationship=role.capitalize()))  # fmt: skip
                self.add(file, row_number, Outcome.CREATED, "guardian link", label)
            GuardianLink.objects.bulk_create(creates)

    def link_problem(self, student_key, guardian_key) -> str | None:
        for key, wanted, found in (
            (student_key, "student", self.students),
            (guardian_key, "parent or guardian", self.guardians),
        ):
            if key in found:
                continue
            role = self.user_role.get(key)
            if role is None:
                return f"no user {key} in users.csv"
            if (role in STUDENT_ROLES) == (wanted == "student") and role in (
                STUDENT_ROLES | GUARDIAN_ROLES
            ):
                return f"{key} was not imported (see its own row)"
            return f"{key} is a {role}, not a {wanted}"
        return None

    # homerooms -------------------------------------------------------------------------------

    def import_classes(self):
        file, seen = "classes.csv", set()
        for batch in _batches(self.rows(file, REQUIRED[file])):
            self.resolve_orgs(row["schoolSourcedId"] for _, row in batch)
            wanted = []
            for row_number, row in batch:
                key = row["sourcedId"]
                problem = self.row_problem(row, seen, file)
                seen.add(key)
                if problem:
                    self.add(file, row_number, Outcome.REJECTED, "class", key, problem)
                    continue
                if row["classType"].lower() != "homeroom":
                    reason = "not a homeroom: Last Bell imports homeroom classes only"
                    self.add(file, row_number, Outcome.SKIPPED, "class", key, reason)
                    continue
                school = self.org_school.get(row["schoolSourcedId"])
                title = row["title"][:100]
                if row.get("status", "").lower() == "tobedeleted":
                    reason = "the homeroom is marked to be deleted; its enrollments are ignored"
                    self.add(file, row_number, Outcome.SKIPPED, "homeroom", key, reason)
                elif school is None:
                    reason = f"no school {row['schoolSourcedId']} in orgs.csv or in this district"
                    self.add(file, row_number, Outcome.REJECTED, "homeroom", key, reason)
                elif not title:
                    self.add(file, row_number, Outcome.REJECTED, "homeroom", key,
                             "the homeroom has no title")  # fmt: skip
                else:
                    wanted.append((row_number, key, school, title))
            self.save_homerooms(wanted)

    def save_homerooms(self, wanted):
        if not wanted:
            return
        existing = {
            (h.school_id, h.name): h.pk
            for h in Homeroom.objects.filter(
                school_id__in={w[2] for w in wanted}, name__in={w[3] for w in wanted}
            )
        }
        creates: dict[tuple[int, str], Homeroom] = {}
        pending = []
        for row_number, key, school, title in wanted:
            if (school, title) in existing:
                self.homeroom_classes[key] = (existing[(school, title)], title)
                self.add("classes.csv", row_number, Outcome.KEPT, "homeroom", key)
                continue
            # Two classes with one title at one school share one room, created once.
            new = (school, title) not in creates
            if new:
                creates[(school, title)] = Homeroom(school_id=school, name=title)
            pending.append((row_number, key, creates[(school, title)], title, new))
        Homeroom.objects.bulk_create(creates.values())
        for row_number, key, homeroom, title, new in pending:
            self.homeroom_classes[key] = (homeroom.pk, title)
            outcome = Outcome.CREATED if new else Outcome.KEPT
            self.add("classes.csv", row_number, outcome, "homeroom", key)

    def import_enrollments(self):
        file, seen = "enrollments.csv", set()
        placed: dict[int, tuple[int, int]] = {}  # student pk -> (homeroom pk, row)
        for batch in _batches(self.rows(file, REQUIRED[file])):
            wanted = []
            for row_number, row in batch:
                key = row["sourcedId"]
                problem = (
                    self.row_problem(row, seen, file)
                    or _date_problem(row.get("beginDate", ""), "begin date")
                    or _date_problem(row.get("endDate", ""), "end date")
                )
                seen.add(key)
                room = self.homeroom_classes.get(row["classSourcedId"])
                user = row["userSourcedId"]
                if problem:
                    self.add(file, row_number, Outcome.REJECTED, "enrollment", key, problem)
                elif room is None or row["role"].lower() != "student":
                    reason = "not a student in an imported homeroom"
                    self.add(file, row_number, Outcome.SKIPPED, "enrollment", key, reason)
                elif row.get("status", "").lower() == "tobedeleted":
                    reason = "the enrollment is marked to be deleted"
                    self.add(file, row_number, Outcome.SKIPPED, "enrollment", key, reason)
                elif user not in self.students:
                    reason = f"no student {user} in users.csv (or the student was not imported)"
                    self.add(file, row_number, Outcome.REJECTED, "homeroom enrollment", key,
                             reason)  # fmt: skip
                elif self.students[user] in placed:
                    other = placed[self.students[user]][1]
                    reason = f"the student is already placed in a homeroom on row {other}"
                    self.add(file, row_number, Outcome.REJECTED, "homeroom enrollment", key,
                             reason)  # fmt: skip
                else:
                    placed[self.students[user]] = (room[0], row_number)
                    wanted.append((row_number, key, self.students[user], room))
            self.save_placements(wanted)

    def save_placements(self, wanted):
        if not wanted:
            return
        file = "enrollments.csv"
        students = Student.objects.in_bulk([w[2] for w in wanted])
        homerooms = dict(
            Homeroom.objects.filter(pk__in={w[3][0] for w in wanted}).values_list("pk", "school_id")
        )
        moves: dict[int, list[int]] = {}  # homeroom pk -> students: one UPDATE per room
        for row_number, key, student_pk, (homeroom_pk, title) in wanted:
            student = students[student_pk]
            if homerooms[homeroom_pk] != student.school_id:
                reason = f"the homeroom {title} is at another school than the student"
                self.add(file, row_number, Outcome.REJECTED, "homeroom enrollment", key, reason)
            elif student.homeroom_id == homeroom_pk:
                self.add(file, row_number, Outcome.KEPT, "homeroom enrollment", key)
            else:
                moves.setdefault(homeroom_pk, []).append(student_pk)
                self.add(file, row_number, Outcome.UPDATED, "homeroom enrollment", key,
                         f"{student.sis_id} now in homeroom {title}")  # fmt: skip
        for homeroom_pk, student_pks in moves.items():
            Student.objects.filter(pk__in=student_pks).update(homeroom_id=homeroom_pk)
