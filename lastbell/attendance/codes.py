"""Which category of DESIGN.md §4 a source system's attendance code means, per district.

    codes = CodeMap.for_district(district)
    codes.category("uri://ed-fi.org/AttendanceEventCategoryDescriptor#Tardy")  # "tardy_unexcused"

A code matches as written (trimmed, any case, single spaces) or, for an Ed-Fi descriptor
(`uri://…#Name`), by its name after the `#`: a district can map a whole descriptor of its own
namespace or just the name. The Ed-Fi imports, the API's Ed-Fi endpoint and the CSV feed all
read this one mapping.
"""

import re

from lastbell.attendance.models import AttendanceCode, Category

# The mapping before districts had their own: Ed-Fi's AttendanceEventCategoryDescriptor
# names. A tardy is kept as a tardy (it used to be taken as present).
DEFAULT_CODES: list[tuple[str, str]] = [
    ("Excused Absence", Category.ABSENT_EXCUSED),
    ("Unexcused Absence", Category.ABSENT_UNEXCUSED),
    ("Early Departure", Category.EARLY_EXCUSED),
    ("Partial", Category.EARLY_UNEXCUSED),
    ("Tardy", Category.TARDY_UNEXCUSED),
    ("In Attendance", Category.PRESENT),
]


def code_key(code: str) -> str:
    return re.sub(r"\s+", " ", code.strip()).lower()


class CodeMap:
    def __init__(self, codes: list[tuple[str, str]], *, own: bool = False):
        self.codes = codes  # (code as written, category), in the order shown
        self.own = own  # the district saved its own list
        self.by_key = {code_key(code): category for code, category in codes}

    @classmethod
    def for_district(cls, district) -> "CodeMap":
        """The district's saved codes, or the defaults while it has none (one query)."""
        district_id = getattr(district, "pk", district)
        saved = list(
            AttendanceCode.objects.filter(district_id=district_id)
            .order_by("code")
            .values_list("code", "category")
        )
        return cls(saved, own=True) if saved else cls(list(DEFAULT_CODES))

    def category(self, raw: str) -> str | None:
        """The category `raw` maps to, or None for a code this district has not mapped."""
        key = code_key(raw)
        if not key:
            return None
        found = self.by_key.get(key)
        if found is None and "#" in key:
            found = self.by_key.get(key.rsplit("#", 1)[-1].strip())
        return found

    def names(self) -> str:
        return ", ".join(code for code, _ in self.codes)

    def unknown(self, raw: str) -> str:
        """Why a row with this code changed nothing, in the office's words."""
        shown = raw.rsplit("#", 1)[-1].strip() if "#" in raw else raw.strip()
        if not shown:
            return "the attendance code is missing: the row does not say what happened that day"
        return (
            f"the attendance code {shown!r} is not one this district uses, so the row was "
            f"left out; the codes it knows are {self.names()}. A district admin can add the "
            "code under Attendance codes, then import the file again"
        )
