"""The period, region and category every statistics page and download is computed for.

``StatsFilter`` is what selectors read; ``StatsFilterForm`` builds one from the query string,
so a page's address is all it takes to share it (no session state).
"""

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import BoundedDateField, Form
from accounts.models import Region, UseCategory

# Kaikukortti started in 2015; nothing in the register is older than this bound.
EARLIEST = datetime.date(2010, 1, 1)


@dataclass(frozen=True)
class StatsFilter:
    start: datetime.date
    end: datetime.date  # inclusive
    region_id: int | None = None
    category: str | None = None

    def params(self) -> dict[str, str]:
        params = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.region_id is not None:
            params["region"] = str(self.region_id)
        if self.category:
            params["category"] = self.category
        return params

    @classmethod
    def from_params(cls, params: dict[str, str]) -> "StatsFilter":
        """The filter back from ``params()`` (a queued task carries it as plain values)."""
        return cls(
            start=datetime.date.fromisoformat(params["start"]),
            end=datetime.date.fromisoformat(params["end"]),
            region_id=int(params["region"]) if params.get("region") else None,
            category=params.get("category") or None,
        )

    def querystring(self) -> str:
        """The filter as a query string (without "?"), for links and shareable addresses."""
        return urlencode(self.params())

    def file_part(self, *, period: bool = True) -> str:
        """The filter in a file name: ``2025-01-01_2025-12-31_region-3_culture`` (ASCII only);
        ``all-years_region-3_culture`` for a table the period does not apply to."""
        parts = [self.start.isoformat(), self.end.isoformat()] if period else ["all-years"]
        if self.region_id is not None:
            parts.append(f"region-{self.region_id}")
        if self.category:
            parts.append(self.category)
        return "_".join(parts)


class Preset:
    THIS_YEAR = "this-year"
    LAST_YEAR = "last-year"
    LAST_12_MONTHS = "last-12-months"

    @staticmethod
    def choices():
        return [
            (Preset.THIS_YEAR, _("This year")),
            (Preset.LAST_YEAR, _("Last year")),
            (Preset.LAST_12_MONTHS, _("Last 12 months")),
        ]


def preset_period(preset: str, *, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    today = today or timezone.localdate()
    if preset == Preset.LAST_YEAR:
        return datetime.date(today.year - 1, 1, 1), datetime.date(today.year - 1, 12, 31)
    if preset == Preset.LAST_12_MONTHS:
        # The twelve whole months before this one plus this month so far would be thirteen;
        # "last 12 months" is the 365 days (366 over a leap day) ending today.
        try:
            start = today.replace(year=today.year - 1)
        except ValueError:  # 29 February
            start = today.replace(year=today.year - 1, day=28)
        return start + datetime.timedelta(days=1), today
    return datetime.date(today.year, 1, 1), today


FUTURE_REFUSED = _("There are no figures for days after today: enter a date on or before %(date)s.")


class StatsFilterForm(Form):
    """The filter bar: a period (typed, or a preset), a region and a use category.

    A preset wins over typed dates, so ``?preset=this-year`` stays "this year" when the link is
    opened next year. Without a period the figures are for this year so far.
    """

    preset = forms.ChoiceField(label=_("Period"), required=False)
    # No period reaches past today: future days have no uses yet, and their zeros (and the cards
    # valid at a future month's end, which are only those not yet expired) would read as figures.
    # Refused rather than cut at today, so the page never shows another period than was typed.
    start = BoundedDateField(
        label=_("From"),
        required=False,
        earliest=EARLIEST,
        latest=timezone.localdate,
        error_messages={"too_late": FUTURE_REFUSED},
    )
    end = BoundedDateField(
        label=_("To"),
        required=False,
        earliest=EARLIEST,
        latest=timezone.localdate,
        error_messages={"too_late": FUTURE_REFUSED},
    )
    region = forms.TypedChoiceField(label=_("Region"), required=False, coerce=int, empty_value=None)
    category = forms.ChoiceField(label=_("Category"), required=False)

    def __init__(self, data=None, *, with_region: bool = True, **kwargs):
        # An empty query string is a valid "this year, everything" filter, not an unbound form.
        super().__init__(data if data is not None else {}, **kwargs)
        self.fields["preset"].choices = [("", ""), *Preset.choices()]
        self.fields["category"].choices = [("", _("All categories")), *UseCategory.choices]
        if with_region:
            self.fields["region"].choices = [
                ("", _("All regions")),
                *((str(pk), name) for pk, name in Region.names()),
            ]
        else:
            # A region, site or venue dashboard is one region's figures already.
            del self.fields["region"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("preset"):
            # The preset wins over the typed dates, as it does over valid ones: a date left in the
            # address from before (a future one, say) is no reason to refuse it.
            for name in ("start", "end"):
                self._errors.pop(name, None)
            cleaned["start"], cleaned["end"] = preset_period(cleaned["preset"])
        elif "start" not in self.errors and "end" not in self.errors:
            start, end = cleaned.get("start"), cleaned.get("end")
            # A period open at one end: up to today, or from the start of the end date's year.
            end = end or timezone.localdate()
            start = start or datetime.date(end.year, 1, 1)
            if start > end:
                self.add_error(
                    "end",
                    ValidationError(_("The end date must be on or after the start date."), code="end_before_start"),
                )
            cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def shown(self) -> "StatsFilterForm":
        """The valid form as it should be shown again: the period it stands for written out in
        the date fields (a preset's dates, today's date for an open end)."""
        data = self.data.copy()
        data["start"] = self.cleaned_data["start"].isoformat()
        data["end"] = self.cleaned_data["end"].isoformat()
        self.data = data
        return self

    def stats_filter(self) -> StatsFilter:
        """The filter of a valid form."""
        data = self.cleaned_data
        return StatsFilter(
            start=data["start"],
            end=data["end"],
            region_id=data.get("region"),
            category=data.get("category") or None,
        )
