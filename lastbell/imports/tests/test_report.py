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


def test_it_counts_every_row_but_keeps_a_bounded_sample():
    seen = []
    report = Report("big.csv", keep=3, sink=seen.append)
    for n in range(10):
        report.add("big.csv", n + 2, Outcome.CREATED, "absence", f"S{n}")
    report.add("big.csv", 12, Outcome.REJECTED, "absence", "S10", "no such student")
    assert report.count(Outcome.CREATED) == 10 and len(seen) == 11
    assert [r.key for r in report.rows] == ["S0", "S1", "S2", "S10"]
    assert report.left_out == 7
    assert report.as_text(all_rows=True).endswith(
        "… and 7 more rows, counted above but not listed."
    )
