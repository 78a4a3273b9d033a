import io

import pytest
from django.core.management import CommandError, call_command

from lastbell import testing
from lastbell.imports.tests.helpers import SAMPLE, SAMPLE_PARENT_SCHOOL, copy_sample
from lastbell.people.models import Student


@pytest.fixture
def parent_school(district):
    return testing.make_school(district, "Central High", code=SAMPLE_PARENT_SCHOOL)


def run(*args):
    out = io.StringIO()
    call_command("import_oneroster", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_dry_runs_by_default(parent_school):
    out = run(str(SAMPLE), "--district", parent_school.district.slug)
    assert out.startswith("Dry run (nothing saved): oneroster-1.1-sample (OneRoster 1.1)")
    assert "- student: 3 created" in out
    assert "users.csv row 3: guardian link usr-222-123456 → usr-222-66778899 rejected" in out
    assert Student.objects.count() == 0


def test_it_applies(parent_school):
    out = run(str(SAMPLE), "--district", parent_school.district.slug, "--apply")
    assert out.startswith("Imported: oneroster-1.1-sample")
    assert Student.objects.count() == 3


def test_it_exits_with_1_on_a_file_error(parent_school, tmp_path):
    folder = copy_sample(tmp_path)
    (folder / "orgs.csv").write_bytes(b"sourcedId;name;type\n")
    with pytest.raises(SystemExit) as exit_:
        run(str(folder), "--district", parent_school.district.slug, "--apply")
    assert exit_.value.code == 1


def test_it_needs_a_known_district(db):
    with pytest.raises(CommandError, match="No district with the slug 'nowhere'"):
        run(str(SAMPLE), "--district", "nowhere")
