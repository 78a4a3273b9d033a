"""What an import did, row by row, in words a school secretary understands.

Every row of every file gets one line: created, updated, kept (already as the file says),
skipped (not something Last Bell keeps, such as a teacher) or rejected, with the reason. A
problem with a whole file (not UTF-8, wrong delimiter, missing columns, too large) is a file
error: the import then applies nothing at all.

A report counts every row but keeps only the first `KEEP_ROWS` of each outcome in memory, so a
million-row file costs what a small one does; a `sink` (a callable) receives every row, for a
full report written to a file.
"""

import dataclasses
from collections import Counter
from collections.abc import Callable
from enum import StrEnum

KEEP_ROWS = 1000  # per outcome, for the page and the summary; the rest are only counted


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    KEPT = "kept"
    SKIPPED = "skipped"
    REJECTED = "rejected"


# What attendance.services.absences_record_many did, as a report row says it.
ABSENCE_OUTCOMES = {
    "created": (Outcome.CREATED, ""), "updated": (Outcome.UPDATED, ""),
    "kept": (Outcome.KEPT, ""), "withdrawn": (Outcome.UPDATED, "absence withdrawn"),
    "none": (Outcome.KEPT, "no absence to withdraw"),
    "staff": (Outcome.KEPT, "staff changed this day in Last Bell by hand; it stays as they set it"),
}  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class RowResult:
    file: str
    row: int  # as a spreadsheet numbers it: the header is row 1
    outcome: Outcome
    kind: str  # "school", "student", "guardian", "guardian link", "homeroom", ...
    key: str  # the record's id in the file, e.g. its sourcedId
    reason: str = ""

    def __str__(self):
        text = f"{self.file} row {self.row}: {self.kind} {self.key} {self.outcome}"
        return f"{text}: {self.reason}" if self.reason else text


@dataclasses.dataclass(frozen=True, slots=True)
class FileError:
    file: str
    message: str

    def __str__(self):
        return f"{self.file}: {self.message}" if self.file else self.message


class Report:
    def __init__(self, source: str = "", *, sink: Callable[[RowResult], None] | None = None,
                 keep: int = KEEP_ROWS):  # fmt: skip
        self.source = source
        self.sink = sink
        self.keep = keep
        self._kept: Counter[Outcome] = Counter()
        self.standard = "OneRoster"  # what `version` is a version of
        self.version = ""
        self.applied = False
        self.rows: list[RowResult] = []
        self.file_errors: list[FileError] = []
        self.totals: Counter[tuple[str, Outcome]] = Counter()

    def add(self, file: str, row: int, outcome: Outcome, kind: str, key: str, reason: str = ""):
        outcome = Outcome(outcome)
        self.totals[(kind, outcome)] += 1
        if self.sink is None and self._kept[outcome] >= self.keep:
            return
        result = RowResult(file, row, outcome, kind, key, reason)
        if self.sink is not None:
            self.sink(result)
        if self._kept[outcome] < self.keep:
            self._kept[outcome] += 1
            self.rows.append(result)

    @property
    def left_out(self) -> int:
        """Rows counted but not kept in `rows`."""
        return self.total() - len(self.rows)

    def total(self) -> int:
        return sum(self.totals.values())

    def file_error(self, file: str, message: str):
        self.file_errors.append(FileError(file, message))

    @property
    def ok(self) -> bool:
        return not self.file_errors

    def count(self, outcome: Outcome | str, kind: str | None = None) -> int:
        return sum(
            n for (k, o), n in self.totals.items() if o == outcome and (kind is None or k == kind)
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """{kind: {outcome: n}} for every kind seen, every outcome listed."""
        kinds = sorted({kind for kind, _ in self.totals})
        return {kind: {o.value: self.totals[(kind, o)] for o in Outcome} for kind in kinds}

    def rejected(self) -> list[RowResult]:
        return [r for r in self.rows if r.outcome == Outcome.REJECTED]

    def summary(self) -> str:
        if self.file_errors:
            head = "Nothing was imported, because of a problem with a whole file:"
            return "\n".join([head, *(f"- {e}" for e in self.file_errors)])
        verb = "Imported" if self.applied else "Dry run (nothing saved)"
        lines = [
            f"{verb}: {self.source}"
            + (f" ({self.standard} {self.version})" if self.version else "")
        ]
        for kind, outcomes in self.counts().items():
            parts = ", ".join(f"{n} {o}" for o, n in outcomes.items() if n)
            lines.append(f"- {kind}: {parts}")
        return "\n".join(lines)

    def as_text(self, *, all_rows: bool = False) -> str:
        """The summary, then each rejected row (or every row)."""
        lines = [self.summary()]
        shown = self.rows if all_rows else self.rejected()
        if shown:
            lines.append("")
            lines.extend(str(r) for r in shown)
        hidden = self.left_out if all_rows else self.count(Outcome.REJECTED) - len(shown)
        if hidden:
            lines.append(f"… and {hidden:,} more rows, counted above but not listed.")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "version": self.version,
            "applied": self.applied,
            "ok": self.ok,
            "file_errors": [dataclasses.asdict(e) for e in self.file_errors],
            "counts": self.counts(),
            "left_out": self.left_out,
            "rows": [{**dataclasses.asdict(r), "outcome": r.outcome.value} for r in self.rows],
        }
