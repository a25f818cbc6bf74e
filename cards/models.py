import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts.models import Municipality, Site, UseCategory
from kaikukanta.history import HistoricalRecords

# Assigned mobile-only numbers are the letter followed by digits; a printed number may
# never look like one, so the two ranges cannot collide (docs/rules.md, "Card numbers").
ASSIGNED_NUMBER_REGEX = r"^[XZ][0-9]+$"
PHYSICAL_NUMBER_REGEX = r"^[A-Z0-9]{4,20}$"
POSTAL_CODE_REGEX = r"^[0-9]{5}$"
MAX_CHILDREN = 20


class Holder(models.Model):
    """The person or organisation a card belongs to; exactly what docs/rules.md allows.

    There is deliberately no name, identity code, birth date or address field.
    """

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        ORGANISATION = "organisation", _("Organisation")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class LifeSituation(models.TextChoices):
        UNEMPLOYED = "unemployed", _("Unemployed")
        LOW_INCOME = "low_income", _("Low income")
        STUDENT = "student", _("Student")
        PENSIONER = "pensioner", _("Pensioner")
        SICK_LEAVE = "sick_leave", _("On sick leave or rehabilitation")
        FAMILY_LEAVE = "family_leave", _("On family leave")
        ASYLUM_SEEKER = "asylum_seeker", _("Asylum seeker or refugee")
        OTHER = "other", _("Other")

    kind = models.CharField(_("holder type"), max_length=12, choices=Kind.choices, default=Kind.CUSTOMER)
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    postal_code = models.CharField(
        _("postal code"),
        max_length=5,
        validators=[RegexValidator(POSTAL_CODE_REGEX, _("Enter a postal code of five digits, e.g. 00100."))],
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="holders", verbose_name=_("home municipality")
    )
    children_count = models.PositiveSmallIntegerField(
        _("children under 18"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_CHILDREN)],
        help_text=_("Own or same-household children and grandchildren under 18."),
    )
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    life_situation = models.CharField(_("life situation"), max_length=20, choices=LifeSituation.choices, blank=True)
    organisation_name = models.CharField(_("organisation name"), max_length=200, blank=True)
    representative_role = models.CharField(_("representative's work role"), max_length=200, blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="holder",
        verbose_name=_("OmaKaiku account"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("holder")
        verbose_name_plural = _("holders")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind="customer", birth_year__isnull=False, children_count__isnull=False, organisation_name=""
                )
                | Q(kind="organisation", birth_year__isnull=True, children_count__isnull=True)
                & ~Q(organisation_name=""),
                name="holder_fields_match_kind",
            ),
            models.CheckConstraint(condition=Q(postal_code__regex=POSTAL_CODE_REGEX), name="holder_postal_code_format"),
            models.CheckConstraint(
                condition=Q(children_count__isnull=True) | Q(children_count__lte=MAX_CHILDREN),
                name="holder_children_count_range",
            ),
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True) | Q(birth_year__gte=1900), name="holder_birth_year_range"
            ),
        ]
        indexes = [
            # The admin's search by organisation name reads only the organisations' entries (about
            # one holder in twenty), not every customer's row.
            models.Index(
                fields=["organisation_name"], condition=Q(kind="organisation"), name="holder_organisation_name"
            ),
        ]

    def __str__(self):
        if self.kind == self.Kind.ORGANISATION:
            return self.organisation_name
        return _("Customer born %(year)s, %(municipality)s") % {
            "year": self.birth_year,
            "municipality": str(self.municipality),  # its Swedish name on Swedish pages
        }

    @property
    def is_customer(self) -> bool:
        return self.kind == self.Kind.CUSTOMER


class Card(models.Model):
    class Kind(models.TextChoices):
        PHYSICAL = "physical", _("Physical card")
        X = "x", _("X: customer, mobile only")
        Z = "z", _("Z: organisation, mobile only")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    class InactivationReason(models.TextChoices):
        LOST = "lost", _("Lost")
        BROKEN = "broken", _("Broken")
        GIVEN_UP = "given_up", _("Given up")
        NOT_ELIGIBLE = "not_eligible", _("No longer eligible")
        OTHER = "other", _("Other")
        # Set only by the system (the dormant-account job), never offered on the form.
        DORMANT = "dormant", _("No valid card for 24 months")

    number = models.CharField(_("card number"), max_length=20, unique=True)
    kind = models.CharField(_("card type"), max_length=10, choices=Kind.choices)
    holder = models.ForeignKey(Holder, on_delete=models.PROTECT, related_name="cards", verbose_name=_("holder"))
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="issued_cards", verbose_name=_("issuing site")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    issued_on = models.DateField(_("issued"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    mobile_enabled = models.BooleanField(_("mobile card"), default=False)
    inactivation_reason = models.CharField(
        _("reason for inactivation"), max_length=20, choices=InactivationReason.choices, blank=True
    )
    inactivation_note = models.CharField(_("note"), max_length=500, blank=True)
    inactivated_on = models.DateField(_("inactivated"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["site", "status", "valid_until"], name="card_site_status_valid"),
            # The distributor's card list: newest first within the site.
            models.Index(fields=["site", "-created_at", "-id"], name="card_site_newest"),
        ]
        constraints = [
            # The guarantee behind "a holder has at most one active card", also when two
            # distributors save at the same moment.
            models.UniqueConstraint(fields=["holder"], condition=Q(status="active"), name="card_one_active_per_holder"),
            models.CheckConstraint(
                condition=Q(kind="physical", number__regex=PHYSICAL_NUMBER_REGEX)
                & ~Q(number__regex=ASSIGNED_NUMBER_REGEX)
                | Q(kind="x", number__regex=r"^X[0-9]+$", mobile_enabled=True)
                | Q(kind="z", number__regex=r"^Z[0-9]+$", mobile_enabled=True),
                name="card_number_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="active", inactivation_reason="", inactivated_on__isnull=True)
                | Q(status="inactive", inactivated_on__isnull=False) & ~Q(inactivation_reason=""),
                name="card_inactivation_recorded",
            ),
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("valid_from")), name="card_validity_order"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_mobile_only(self) -> bool:
        return self.kind in (self.Kind.X, self.Kind.Z)

    def is_expired(self, on: datetime.date | None = None) -> bool:
        return self.valid_until < (on or timezone.localdate())

    def is_valid(self, on: datetime.date | None = None) -> bool:
        return self.status == self.Status.ACTIVE and not self.is_expired(on)

    def was_valid_on(self, day: datetime.date) -> bool:
        """Whether ``day`` falls in one of the card's validity periods (prefetch ``periods`` for lists)."""
        # An active card's own dates are its newest period, which has not ended unless the card
        # has expired (a card reactivated after its last valid day; both are checked by
        # cards/invariants.py): most days asked about, today above all, need no query.
        if self.status == self.Status.ACTIVE and self.valid_from <= day <= self.valid_until and not self.is_expired():
            return True
        return any(period.covers(day) for period in self.periods.all())

    def was_inactive_on(self, day: datetime.date) -> bool:
        """Whether an inactivation had cut off the validity ``day`` would have had (a card
        reactivated since is active now, but was not on that day)."""
        return any(period.cut_off(day) for period in self.periods.all())

    # What people read for each state (the badge: cards/templatetags/card_tags.py).
    STATE_LABELS = {"active": _("Valid"), "expired": _("Expired"), "inactive": _("Inactive")}

    @property
    def kind_label(self) -> str:
        """``get_kind_display()`` for list rows: Django's builds a dict of all choices on every call.

        Every stored kind is a choice (the ``card_number_matches_kind`` constraint).
        """
        return self.Kind(self.kind).label

    @property
    def state(self) -> str:
        """Active, expired or inactive, the way staff and holders speak of a card."""
        if self.status == self.Status.INACTIVE:
            return "inactive"
        return "expired" if self.is_expired() else "active"


class ValidityPeriod(models.Model):
    """One stretch of validity of a card: appended on registration, renewal, reactivation and
    replacement (the new card continues the lost one's validity).

    Periods are never removed and their dates never change, so the register can always say
    whether a card was valid on a given day (a use recorded late, "cards valid on a day" in
    statistics). The card's own ``valid_from``/``valid_until`` repeat its newest period for
    fast lists. An inactivation sets ``ended_on`` on the periods still running (the day of the
    inactivation is no valid day: ``covers``); a later reactivation starts a new period.
    """

    class Cause(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        RENEWED = "renewed", _("Renewed")
        REACTIVATED = "reactivated", _("Reactivated")
        # A lost or broken card's replacement: the same holder's validity continues on a new
        # number, so statistics count it neither as a new card nor as a renewal.
        REPLACED = "replaced", _("Replacement card")

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="periods", verbose_name=_("card"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    # The date an inactivation ended this period early (set once, by the inactivation).
    ended_on = models.DateField(_("ended early on"), null=True, blank=True)
    cause = models.CharField(_("cause"), max_length=12, choices=Cause.choices)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("responsible site"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("validity period")
        verbose_name_plural = _("validity periods")
        ordering = ["card", "valid_from", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("valid_from")), name="period_validity_order"),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("valid_from")),
                name="period_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["valid_from", "valid_until"], name="period_dates")]

    def __str__(self):
        # As days are written everywhere, the admin included (its card is the page it is on).
        return f"{date_format(self.valid_from, 'j.n.Y')}–{date_format(self.valid_until, 'j.n.Y')}"

    def covers(self, day: datetime.date) -> bool:
        """Whether the card was valid on ``day`` through this period."""
        if not self.valid_from <= day <= self.valid_until:
            return False
        return self.ended_on is None or day < self.ended_on

    def cut_off(self, day: datetime.date) -> bool:
        """Whether ``day`` fell in this period after an inactivation ended it early."""
        return self.ended_on is not None and self.ended_on <= day <= self.valid_until


class CardNumberCounter(models.Model):
    """Hands out X and Z numbers: incremented in the database, so never raced or reused."""

    prefix = models.CharField(_("prefix"), max_length=1, primary_key=True)
    last_value = models.PositiveBigIntegerField(_("last number given"), default=0)

    class Meta:
        verbose_name = _("card number counter")
        verbose_name_plural = _("card number counters")

    def __str__(self):
        return f"{self.prefix}{self.last_value:07d}"


class CardUse(models.Model):
    """One ticket, course place or season pass taken with a card at a venue."""

    Category = UseCategory

    class Source(models.TextChoices):
        DESK = "desk", _("Recorded at the desk")
        IMPORT = "import", _("Imported from an offline record")

    # No single-column indexes for these two: the (card, date) and (venue, ...) indexes below begin
    # with them and serve the same look-ups, and every index costs each recorded or imported use.
    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, related_name="uses", verbose_name=_("card"), db_index=False
    )
    venue = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="card_uses", verbose_name=_("venue"), db_index=False
    )
    used_on = models.DateField(_("date of use"))
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    child_tickets = models.PositiveSmallIntegerField(_("child tickets"), default=0)
    assistant_tickets = models.PositiveSmallIntegerField(_("assistant or interpreter tickets"), default=0)
    clients_under_16 = models.PositiveSmallIntegerField(_("clients under 16"), default=0)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.DESK)
    # Makes recording idempotent: a resubmitted desk form or a re-imported file carries
    # the same key, and the unique constraint (in Meta) turns the repeat into a no-op. NULL, not
    # "", where there is no key: the constraint allows any number of NULLs.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    # The history is read by use (its id) and by date; indexes on its other columns would only slow
    # every recorded and imported use.
    history = HistoricalRecords(no_db_index=["card", "venue", "recorded_by", "idempotency_key"])

    class Meta:
        verbose_name = _("card use")
        verbose_name_plural = _("card uses")
        ordering = ["-used_on", "-created_at"]
        indexes = [
            models.Index(fields=["card", "-used_on"], name="carduse_card_date"),
            models.Index(fields=["venue", "-used_on"], name="carduse_venue_date"),
            # The desk's "recorded here lately" and the venue's use list, newest first: read in
            # index order, however many uses the venue has.
            models.Index(fields=["venue", "-created_at", "-id"], name="carduse_venue_newest"),
            # Statistics read the uses of a period; on PostgreSQL this index answers them on its
            # own (an index-only scan), without reading the table.
            # (All key columns, not INCLUDE: SQLite, the development default, has no INCLUDE.)
            models.Index(
                fields=[
                    "used_on",
                    "category",
                    "card",
                    "venue",
                    "child_tickets",
                    "assistant_tickets",
                    "clients_under_16",
                ],
                condition=Q(cancelled_at__isnull=True),
                name="carduse_stats",
            ),
        ]
        constraints = [
            # A constraint rather than ``unique=True``: on PostgreSQL that would add a second,
            # pattern-matching index that no query uses and every recorded use must update.
            models.UniqueConstraint(fields=["idempotency_key"], name="carduse_idempotency_key_unique"),
            models.CheckConstraint(
                condition=Q(category__in=["culture", "education", "science", "sports"]), name="carduse_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True, cancel_reason="")
                | Q(cancelled_at__isnull=False) & ~Q(cancel_reason=""),
                name="carduse_cancellation_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(child_tickets__lte=MAX_CHILDREN)
                & Q(clients_under_16__lte=100)
                & Q(assistant_tickets__lte=10),
                name="carduse_ticket_counts_range",
            ),
        ]

    def __str__(self):
        return f"{self.card} {date_format(self.used_on, 'j.n.Y')}"

    @property
    def category_label(self) -> str:
        """``get_category_display()`` for list rows, without building a dict of choices per call.

        Every stored category is a choice (the ``carduse_category_valid`` constraint).
        """
        return self.Category(self.category).label


class Offer(models.Model):
    """What a venue offers Kaikukortti holders; shown in OmaKaiku when visible and current.

    Texts come in Finnish, Swedish and English; Finnish is required and the fallback.
    """

    venue = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="offers", verbose_name=_("venue"))
    category = models.CharField(_("category"), max_length=10, choices=UseCategory.choices)
    title_fi = models.CharField(_("title (Finnish)"), max_length=200)
    title_sv = models.CharField(_("title (Swedish)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_fi = models.TextField(_("description (Finnish)"), blank=True)
    description_sv = models.TextField(_("description (Swedish)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    conditions_fi = models.CharField(_("conditions (Finnish)"), max_length=500, blank=True)
    conditions_sv = models.CharField(_("conditions (Swedish)"), max_length=500, blank=True)
    conditions_en = models.CharField(_("conditions (English)"), max_length=500, blank=True)
    location = models.CharField(_("where"), max_length=200, blank=True)
    address = models.CharField(_("street address"), max_length=200, blank=True)
    web_link = models.URLField(_("web page"), max_length=300, blank=True)
    accessibility_fi = models.CharField(_("accessibility (Finnish)"), max_length=500, blank=True)
    accessibility_sv = models.CharField(_("accessibility (Swedish)"), max_length=500, blank=True)
    accessibility_en = models.CharField(_("accessibility (English)"), max_length=500, blank=True)
    booking_fi = models.CharField(_("how to book (Finnish)"), max_length=500, blank=True)
    booking_sv = models.CharField(_("how to book (Swedish)"), max_length=500, blank=True)
    booking_en = models.CharField(_("how to book (English)"), max_length=500, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    visible = models.BooleanField(_("visible to Kaikukortti holders in OmaKaiku"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The new-offer form's one-time key (venues.services.offer_save): the same form sent twice
    # (a double click, a slow network) is one offer. Not part of the offer's history.
    creation_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    history = HistoricalRecords(excluded_fields=["creation_key"])

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["starts_on", "pk"]
        indexes = [models.Index(fields=["visible", "ends_on"], name="offer_visible_ends")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="offer_period_order"),
            models.CheckConstraint(condition=~Q(title_fi=""), name="offer_has_finnish_title"),
            models.UniqueConstraint(fields=["creation_key"], name="offer_creation_key_unique"),
        ]

    def __str__(self):
        return self.title_fi

    def _localised(self, field: str, language: str) -> str:
        return getattr(self, f"{field}_{language}", "") or getattr(self, f"{field}_fi")

    def title_in(self, language: str) -> str:
        return self._localised("title", language)

    def description_in(self, language: str) -> str:
        return self._localised("description", language)

    def conditions_in(self, language: str) -> str:
        return self._localised("conditions", language)

    def accessibility_in(self, language: str) -> str:
        return self._localised("accessibility", language)

    def booking_in(self, language: str) -> str:
        return self._localised("booking", language)
