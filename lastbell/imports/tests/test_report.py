import json

from lastbell.imports.report import Outcome, Report


def test_it_counts_and_renders():
    report = Report("roster.zip")
    report.version = "1.1"
    report.add("users.csv", 2, Outcome.CREATED, "student", "S1")
    report.add("users.csv", 3, Outcome.REJECTED, "student", "S2", "the student has no name")
    assert report.count(Outcome.CREATED) == 1
    assert report.counts()["student"]["rejected"] == 1
    assert report.as_text() == (
        "Dry run (nothing saved): roster.zip (OneRoster 1.1)\n"
        "- student: 1 created, 1 rejected\n"
        "\n"
        "users.csv row 3: student S2 rejected: the student has no name"
    )
    data = json.loads(json.dumps(report.as_dict()))
    assert data["rows"][1] == {
        "file": "users.csv", "row": 3, "outcome": "rejected", "kind": "student", "key": "S2",
        "reason": "the student has no name",
    }  # fmt: skip


def test_it_says_nothing_was_imported_on_a_file_error():
    report = Report("roster.zip")
    report.file_error("users.csv", "is not UTF-8 text.")
    assert not report.ok
    assert report.as_text() == (
        "Nothing was imported, because of a problem with a whole file:\n"
        "- users.csv: is not UTF-8 text."
    )
