"""A calendar month, the unit of every partition, file name and table slice ('YYYY-MM')."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nsi.messages import _


class MonthError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """The first moment after the month."""
        return datetime(self.year + (self.month == 12), self.month % 12 + 1, 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def year_before(self) -> Month:
        """The same month last year: the base of the change on last year and of the twelve-month window."""
        return Month(self.year - 1, self.month)

    @staticmethod
    def parse(text: str) -> Month:
        """'YYYY-MM' → Month, with a plain message for anything else."""
        parts = text.strip().split("-")
        if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2 or not (parts[0] + parts[1]).isdigit():
            raise MonthError(_("'{text}' is not a month; write it as YYYY-MM, e.g. 2024-03").format(text=text))
        year, month = int(parts[0]), int(parts[1])
        if not 1 <= month <= 12:
            raise MonthError(_("'{text}': month {month} does not exist (01–12)").format(text=text, month=month))
        if not 2000 <= year <= 2100:
            raise MonthError(_("'{text}': year {year} is outside 2000–2100").format(text=text, year=year))
        return Month(year, month)


def months_between(first: Month, last: Month) -> list[Month]:
    """first, …, last (empty when last is before first)."""
    out, month = [], first
    while month <= last:
        out.append(month)
        month = month.next()
    return out
