import csv
import io
import pathlib
import shutil

from lastbell.audit.models import AuditEvent
from lastbell.people.models import Guardian, GuardianLink, Student
from lastbell.schools.models import Homeroom, School

ROOT = pathlib.Path(__file__).resolve().parents[3]
SAMPLE = (ROOT / "../shared/data/oneroster-1.1-sample").resolve()
# The sample's only org is a department whose parent school is not in orgs.csv.
SAMPLE_PARENT_SCHOOL = "org-sch-222-3456"


def copy_sample(tmp_path) -> pathlib.Path:
    assert SAMPLE.is_dir(), f"the OneRoster sample set is missing at {SAMPLE}"
    folder = tmp_path / "set"
    shutil.copytree(SAMPLE, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (School, Student, Guardian, GuardianLink, Homeroom, AuditEvent)
    }


def write_csv(path: pathlib.Path, rows: list[dict]):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def read_csv(path: pathlib.Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))
