"""Summaries of the register that the statistics read instead of a million uses (stats/summary.py).

Nothing here is a source of truth: every row is computed from ``cards.CardUse``, ``cards.Card``
and ``cards.Holder`` by ``stats.summary.summary_build`` and can be thrown away and built again.
No foreign key constraints: a summary must never stop a card, a site or a use from being
changed, and rows that refer to something gone are simply rebuilt away.
"""

from django.db import models


def _reference(to: str, **kwargs) -> models.ForeignKey:
    return models.ForeignKey(to, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", **kwargs)


class _UseSums(models.Model):
    """Uses summed per card's site, venue, category and holder's home municipality."""

    used_on = models.DateField()
    card_site = _reference("accounts.Site")
    venue = _reference("accounts.Site")
    category = models.CharField(max_length=10)
    home_municipality = _reference("accounts.Municipality")
    uses = models.PositiveIntegerField()
    child_tickets = models.PositiveIntegerField()
    assistant_tickets = models.PositiveIntegerField()
    clients_under_16 = models.PositiveIntegerField()

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.used_on} {self.category}: {self.uses}"


class UseDay(_UseSums):
    """The uses of one day, summed per card's site, venue, category and holder's home municipality."""

    class Meta:
        indexes = [
            models.Index(fields=["used_on"], name="useday_day"),
            models.Index(fields=["card_site", "used_on"], name="useday_site_day"),
            models.Index(fields=["venue", "used_on"], name="useday_venue_day"),
        ]


class UseMonth(_UseSums):
    """``UseDay`` rolled up by month: ``used_on`` is the month's first day.

    A year of days is some 70,000 rows at a million uses a year, its months some 3,000: a period
    of whole months reads these, and only its partial months read days. Same columns as
    ``UseDay``, so the same filters and groupings apply to both."""

    class Meta:
        indexes = [
            models.Index(fields=["used_on"], name="usemonth_month"),
            models.Index(fields=["card_site", "used_on"], name="usemonth_site_month"),
            models.Index(fields=["venue", "used_on"], name="usemonth_venue_month"),
        ]


class RegistrationDay(models.Model):
    """The validity periods that started on one day, per card's site and cause (registered,
    renewed, reactivated, replaced): cards registered, new and renewed cards."""

    valid_from = models.DateField()
    card_site = _reference("accounts.Site")
    cause = models.CharField(max_length=12)
    periods = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["valid_from"], name="registrationday_day"),
            models.Index(fields=["card_site", "valid_from"], name="registrationday_site_day"),
        ]

    def __str__(self):
        return f"{self.valid_from} {self.cause}: {self.periods}"


class _DayBits(models.Model):
    """Days of one year as bits: ``m1`` … ``m12`` hold the days of each month (bit ``d - 1`` set:
    day ``d``), so "on at least one day between two dates" is a bitwise test on the row."""

    year = models.PositiveSmallIntegerField()
    m1 = models.PositiveIntegerField(default=0)
    m2 = models.PositiveIntegerField(default=0)
    m3 = models.PositiveIntegerField(default=0)
    m4 = models.PositiveIntegerField(default=0)
    m5 = models.PositiveIntegerField(default=0)
    m6 = models.PositiveIntegerField(default=0)
    m7 = models.PositiveIntegerField(default=0)
    m8 = models.PositiveIntegerField(default=0)
    m9 = models.PositiveIntegerField(default=0)
    m10 = models.PositiveIntegerField(default=0)
    m11 = models.PositiveIntegerField(default=0)
    m12 = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class CardActivity(_DayBits):
    """The days of one year on which one card was used: distinct cards without counting distinct.

    One row per card and year for any venue and category (``venue`` null, ``category`` ""), and
    one more per venue, per category and per venue and category the card was used at. ``m1`` …
    ``m12`` hold the days of each month as bits (bit ``d - 1`` set: used on day ``d``), so "used
    at least once between two dates" is a bitwise test on the row, and the number of cards used
    in a period is a count of rows, not a count of distinct cards over every use.
    """

    card = _reference("cards.Card")
    card_site = _reference("accounts.Site")
    venue = _reference("accounts.Site", null=True)
    category = models.CharField(max_length=10, blank=True)

    class Meta:
        verbose_name_plural = "card activities"
        indexes = [
            # Rows of one kind (any venue or one, any category or one) are read together.
            models.Index(fields=["category", "venue", "year"], name="cardactivity_kind"),
            models.Index(fields=["card_site", "year"], name="cardactivity_site_year"),
            models.Index(fields=["venue", "year"], name="cardactivity_venue_year"),
        ]

    def __str__(self):
        return f"{self.card_id} {self.year}"


class CardValidity(_DayBits):
    """The days of one year on which one card was valid (inside a validity period, before an
    inactivation ended it), with its site, kind and holder. One row per card and year it was
    valid in.

    "Cards valid at each month end", "card kinds among the cards valid on a day" and "holders
    with a card valid in the period" become bitwise tests on about one row per card, instead
    of distinct counts over validity periods joined to cards. The holder's own fields (age,
    gender…) are read from the holder; whether the holder has activated OmaKaiku is read live
    through ``account`` (the holder's account when built)."""

    card = _reference("cards.Card")
    card_site = _reference("accounts.Site")
    # "physical", "physical_mobile", "x" or "z": see ``stats.selectors.stats_card_kinds``.
    kind = models.CharField(max_length=16)
    holder = _reference("cards.Holder")
    account = _reference("accounts.User", null=True)

    class Meta:
        verbose_name_plural = "card validities"
        indexes = [
            models.Index(fields=["year", "card_site"], name="cardvalidity_year_site"),
            models.Index(fields=["card"], name="cardvalidity_card"),
        ]

    def __str__(self):
        return f"{self.card_id} {self.year}"


class SummaryCard(models.Model):
    """Where each card was counted: its site and holder's home municipality when the summaries
    were built. A card moved since then is read from the register again."""

    card = models.OneToOneField(
        "cards.Card", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", primary_key=True
    )
    site = _reference("accounts.Site")
    home_municipality = _reference("accounts.Municipality")

    def __str__(self):
        return str(self.card_id)


class SummaryState(models.Model):
    """When the summaries were built (one row): what they hold is the register as of ``built_at``."""

    built_at = models.DateTimeField()
    # Uses loaded without a history row (bulk loads), and validity periods (which have no
    # history: they are only ever added, or ended), are found by their id.
    last_use_id = models.BigIntegerField(default=0)
    last_period_id = models.BigIntegerField(default=0)
    # The newest use history row the build saw, and the ids below it that it did not see
    # (their transactions had not committed yet): together they tell exactly which changes to
    # uses came after the build.
    last_history_id = models.BigIntegerField(default=0)
    unseen_history_ids = models.JSONField(default=list)
    # False: only the days and cards changed since the build before were summarised again.
    full = models.BooleanField(default=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # Rows written by the build (all of them, or the changed ones).
    use_days = models.PositiveIntegerField(default=0)
    card_activities = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.built_at.isoformat()
