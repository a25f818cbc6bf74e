"""The venue side: recording card uses (at the desk or from offline records) and offers.

The same rules check a use typed at the desk and a row of an imported file; recording is
idempotent, so a double click, a resubmitted form or a re-imported file never records a
use twice (the unique ``idempotency_key`` is the guarantee).
"""

import csv
import datetime
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from simple_history.utils import bulk_create_with_history

from accounts.models import Site, UseCategory, User
from accounts.permissions import venue_sites
from cards.models import Card, CardUse, Holder, Offer
from cards.services import card_number_normalize

CANCEL_DAYS = 14
MAX_ASSISTANTS = 10
MAX_CLIENTS_UNDER_16 = 100
MAX_IMPORT_ROWS = 20_000
REASON_RECORDED = gettext_noop("Use recorded")
REASON_IMPORTED = gettext_noop("Use imported from an offline record")
REASON_CANCELLED = gettext_noop("Use cancelled")


@dataclass(frozen=True, kw_only=True)
class UseData:
    number: str
    used_on: datetime.date | None
    category: str
    child_tickets: int = 0
    assistant_tickets: int = 0
    clients_under_16: int = 0


@dataclass
class CardCheck:
    """What the desk shows after a scan: valid or not, why, and what the card allows."""

    number: str
    card: Card | None
    valid: bool
    reason: str = ""

    @property
    def is_organisation(self) -> bool:
        return self.card is not None and self.card.holder.kind == Holder.Kind.ORGANISATION

    @property
    def children(self) -> int:
        return (self.card.holder.children_count or 0) if self.card else 0


def _ensure_venue(actor: User, venue: Site) -> None:
    if not venue_sites(actor).filter(pk=venue.pk).exists():
        raise PermissionDenied


def _card_problem(card: Card | None, on: datetime.date) -> str:
    """Why a use on ``on`` is refused, or "" when the card was valid that day."""
    if card is None:
        return _("Unknown card: no card with this number is registered. Check the number.")
    if card.status == Card.Status.INACTIVE and (card.inactivated_on is None or card.inactivated_on <= on):
        return _("The card is inactive and cannot be used.")
    if on < card.issued_on:
        return _("The card was issued on %(date)s, after the date of use.") % {
            "date": card.issued_on.strftime("%d.%m.%Y")
        }
    if on > card.valid_until:
        return _("The card expired on %(date)s. The holder can renew it where it was issued.") % {
            "date": card.valid_until.strftime("%d.%m.%Y")
        }
    return ""


def card_check(*, number: str, on: datetime.date | None = None) -> CardCheck:
    number = card_number_normalize(number)
    card = Card.objects.select_related("holder").filter(number=number).first()
    problem = _card_problem(card, on or timezone.localdate())
    return CardCheck(number=number, card=card, valid=not problem, reason=problem)


def card_use_validate(*, data: UseData, card: Card | None, today: datetime.date | None = None) -> dict[str, list[str]]:
    """Every rule of DOMAIN.md's "Recording use at a venue"; errors keyed by field."""
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}

    def add(name, message):
        errors.setdefault(name, []).append(message)

    if data.used_on is None:
        add("used_on", _("Enter the date of use."))
    elif data.used_on > today:
        add("used_on", _("The date of use cannot be in the future."))
    if data.category not in UseCategory.values:
        add("category", _("Choose a category: culture, education, science or sports."))
    for name, value, high in [
        ("child_tickets", data.child_tickets, 99),
        ("assistant_tickets", data.assistant_tickets, MAX_ASSISTANTS),
        ("clients_under_16", data.clients_under_16, MAX_CLIENTS_UNDER_16),
    ]:
        if not 0 <= value <= high:
            add(name, _("Enter a number between 0 and %(max)s.") % {"max": high})
    if card is None or data.used_on is None or data.used_on > today:
        if card is None:
            add("number", _card_problem(None, today))
        return errors
    problem = _card_problem(card, data.used_on)
    if problem:
        add("number", problem)
        return errors
    holder = card.holder
    if holder.kind == Holder.Kind.ORGANISATION:
        if data.child_tickets:
            add("child_tickets", _("An organisation card has no child tickets: enter the clients under 16 instead."))
    else:
        if data.clients_under_16:
            add("clients_under_16", _("Clients under 16 are only for organisation cards."))
        if data.category == UseCategory.EDUCATION and data.child_tickets:
            add("child_tickets", _("No child tickets in the education category (adult-education courses)."))
        elif data.child_tickets > (holder.children_count or 0):
            count = holder.children_count or 0
            add(
                "child_tickets",
                ngettext(
                    "At most %(count)s child ticket: the card has %(count)s child registered.",
                    "At most %(count)s child tickets: the card has %(count)s children registered.",
                    count,
                )
                % {"count": count},
            )
    return errors


def card_use_record(
    *, venue: Site, actor: User, data: UseData, idempotency_key: str, source: str = CardUse.Source.DESK
) -> tuple[CardUse, bool]:
    """Record one use. Returns ``(use, created)``; a repeated key returns the first use unchanged."""
    _ensure_venue(actor, venue)
    if not re.fullmatch(r"[0-9a-f]{32,64}", idempotency_key or ""):
        raise ValidationError(_("The form has expired. Look the card up again."))
    existing = CardUse.objects.filter(idempotency_key=idempotency_key).select_related("card").first()
    if existing is not None:
        return existing, False
    card = Card.objects.select_related("holder").filter(number=card_number_normalize(data.number)).first()
    errors = card_use_validate(data=data, card=card)
    if errors:
        raise ValidationError(errors)
    use = CardUse(
        card=card,
        venue=venue,
        used_on=data.used_on,
        category=data.category,
        child_tickets=data.child_tickets,
        assistant_tickets=data.assistant_tickets,
        clients_under_16=data.clients_under_16,
        source=source,
        idempotency_key=idempotency_key,
        recorded_by=actor,
    )
    use._history_user = actor
    use._change_reason = REASON_RECORDED
    try:
        with transaction.atomic():
            use.save()
    except IntegrityError:
        # The same submission arrived twice at the same moment: the first one won.
        return CardUse.objects.get(idempotency_key=idempotency_key), False
    return use, True


def card_use_cancel(*, use: CardUse, actor: User, reason: str) -> CardUse:
    """Cancel a use recorded by mistake. It stays in the history and leaves the statistics."""
    _ensure_venue(actor, use.venue)
    if not reason.strip():
        raise ValidationError({"reason": _("Say briefly why the use is cancelled.")})
    with transaction.atomic():
        use = CardUse.objects.select_for_update(of=("self",)).select_related("venue").get(pk=use.pk)
        if use.cancelled_at is not None:
            raise ValidationError(_("This use is already cancelled."))
        if timezone.localdate(use.created_at) < timezone.localdate() - datetime.timedelta(days=CANCEL_DAYS):
            raise ValidationError(
                _("A use can be cancelled within %(days)s days of recording it.") % {"days": CANCEL_DAYS}
            )
        use.cancelled_at = timezone.now()
        use.cancel_reason = reason.strip()[:300]
        use._history_user = actor
        use._change_reason = REASON_CANCELLED
        use.save()
    return use


# --- offline records -----------------------------------------------------------------

IMPORT_COLUMNS = ["card_number", "date", "category", "child_tickets", "assistant_tickets", "clients_under_16"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CATEGORY_WORDS = {
    # Accept the category as written in any of the three languages.
    "culture": "culture", "kulttuuri": "culture", "kultur": "culture",
    "education": "education", "koulutus": "education", "utbildning": "education",
    "science": "science", "tiede": "science", "vetenskap": "science",
    "sports": "sports", "sport": "sports", "liikunta": "sports", "urheilu": "sports", "idrott": "sports",
}  # fmt: skip


@dataclass
class ImportRow:
    line: int
    values: dict[str, str]
    data: UseData | None = None
    errors: list[str] = field(default_factory=list)
    key: str = ""
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not self.duplicate


@dataclass
class ImportPreview:
    rows: list[ImportRow]

    @property
    def valid_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.ok]

    @property
    def invalid_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]

    @property
    def duplicate_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.duplicate]


def _parse_date(text: str) -> datetime.date | None:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.datetime.strptime(text, pattern).date()  # noqa: DTZ007
        except ValueError:
            continue
    return None


def _parse_count(text: str, row: ImportRow, label: str) -> int:
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        row.errors.append(_("%(column)s must be a whole number.") % {"column": label})
        return 0
    return int(text)


def _decode(content: bytes) -> str:
    if not content.strip():
        raise ValidationError(_("The file is empty."))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text. In Excel, save it as 'CSV UTF-8 (comma delimited)' and try again.")
        ) from None


def card_uses_import_preview(*, venue: Site, content: bytes, today: datetime.date | None = None) -> ImportPreview:
    """Check every row of an offline-record file with the desk's rules. Writes nothing.

    Whole-file problems (encoding, columns, formula cells, emptiness) raise ValidationError;
    row problems are reported per row.
    """
    today = today or timezone.localdate()
    text = _decode(content)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise ValidationError(_("The file is empty.")) from None
    except csv.Error:
        raise ValidationError(_("The file is not a CSV file.")) from None
    if header != IMPORT_COLUMNS:
        raise ValidationError(
            _("The columns must be, in this order: %(columns)s. Download the template and copy your rows into it.")
            % {"columns": ", ".join(IMPORT_COLUMNS)}
        )
    rows: list[ImportRow] = []
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(IMPORT_COLUMNS):
                raise ValidationError(
                    _("Row %(line)s has the wrong number of columns (%(count)s); every row needs %(expected)s.")
                    % {"line": line, "count": len(cells), "expected": len(IMPORT_COLUMNS)}
                )
            formula = next((cell for cell in cells if cell.startswith(_FORMULA_START)), None)
            if formula is not None:
                # Spreadsheet formulas have no place in a record of uses, and could run in
                # someone's spreadsheet later: refuse the whole file.
                raise ValidationError(
                    _("Row %(line)s contains a formula or a cell starting with =, +, - or @. Remove it and try again.")
                    % {"line": line}
                )
            rows.append(ImportRow(line=line, values=dict(zip(IMPORT_COLUMNS, cells, strict=True))))
            if len(rows) > MAX_IMPORT_ROWS:
                raise ValidationError(
                    _("The file has more than %(max)s rows. Split it into smaller files.") % {"max": MAX_IMPORT_ROWS}
                )
    except csv.Error:
        raise ValidationError(_("The file is not a valid CSV file.")) from None
    if not rows:
        raise ValidationError(_("The file has no rows of uses."))

    numbers = {card_number_normalize(row.values["card_number"]) for row in rows}
    cards = {card.number: card for card in Card.objects.select_related("holder").filter(number__in=numbers)}
    occurrences: Counter = Counter()
    for row in rows:
        values = row.values
        used_on = _parse_date(values["date"])
        if used_on is None:
            row.errors.append(_("The date must be like 2025-03-31 or 31.3.2025."))
        category = _CATEGORY_WORDS.get(values["category"].strip().lower(), values["category"].strip().lower())
        data = UseData(
            number=card_number_normalize(values["card_number"]),
            used_on=used_on,
            category=category,
            child_tickets=_parse_count(values["child_tickets"], row, "child_tickets"),
            assistant_tickets=_parse_count(values["assistant_tickets"], row, "assistant_tickets"),
            clients_under_16=_parse_count(values["clients_under_16"], row, "clients_under_16"),
        )
        row.data = data
        if used_on is not None:
            for messages in card_use_validate(data=data, card=cards.get(data.number), today=today).values():
                row.errors.extend(messages)
        # The same row twice in one file is two uses; the same file twice is not.
        signature = "|".join(
            [str(venue.pk), data.number, str(used_on), category, *(values[c].strip() for c in IMPORT_COLUMNS[3:])]
        )
        occurrences[signature] += 1
        row.key = hashlib.sha256(f"import|{signature}|{occurrences[signature]}".encode()).hexdigest()
    already = set(
        CardUse.objects.filter(idempotency_key__in=[row.key for row in rows]).values_list("idempotency_key", flat=True)
    )
    for row in rows:
        row.duplicate = row.key in already and not row.errors
    return ImportPreview(rows=rows)


def card_uses_import(*, venue: Site, actor: User, content: bytes) -> tuple[int, int, int]:
    """Import every valid, not yet imported row in one transaction.

    Returns (recorded, already imported, refused). Rows are checked again here: the file
    may have waited in the session while other uses were recorded.
    """
    _ensure_venue(actor, venue)
    preview = card_uses_import_preview(venue=venue, content=content)
    cards = {card.number: card for card in Card.objects.filter(number__in={r.data.number for r in preview.valid_rows})}
    uses = [
        CardUse(
            card=cards[row.data.number],
            venue=venue,
            used_on=row.data.used_on,
            category=row.data.category,
            child_tickets=row.data.child_tickets,
            assistant_tickets=row.data.assistant_tickets,
            clients_under_16=row.data.clients_under_16,
            source=CardUse.Source.IMPORT,
            idempotency_key=row.key,
            recorded_by=actor,
        )
        for row in preview.valid_rows
    ]
    try:
        with transaction.atomic():
            bulk_create_with_history(
                uses, CardUse, batch_size=2000, default_user=actor, default_change_reason=REASON_IMPORTED
            )
    except IntegrityError:
        # Someone imported the same rows at this very moment; nothing of ours was saved.
        raise ValidationError(_("These rows were just imported by someone else. Check the list of uses.")) from None
    return len(uses), len(preview.duplicate_rows), len(preview.invalid_rows)


def import_template_csv() -> str:
    today = timezone.localdate()
    example = [
        ["K1234567", today.isoformat(), "culture", "2", "0", "0"],
        ["Z0000012", today.isoformat(), "sports", "0", "1", "8"],
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(IMPORT_COLUMNS)
    writer.writerows(example)
    return out.getvalue()


# --- offers --------------------------------------------------------------------------

OFFER_FIELDS = [
    "category", "title_fi", "title_sv", "title_en", "description_fi", "description_sv", "description_en",
    "conditions_fi", "conditions_sv", "conditions_en", "location", "starts_on", "ends_on", "visible",
]  # fmt: skip


def offer_save(*, venue: Site, actor: User, data: dict, offer: Offer | None = None) -> Offer:
    _ensure_venue(actor, venue)
    if offer is not None and offer.venue_id != venue.pk:
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    if not (data.get("title_fi") or "").strip():
        errors["title_fi"] = [_("Enter the title in Finnish; the other languages are optional.")]
    if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
        errors["ends_on"] = [_("The offer cannot end before it starts.")]
    if data.get("category") not in UseCategory.values:
        errors["category"] = [_("Choose a category.")]
    if errors:
        raise ValidationError(errors)
    offer = offer or Offer(venue=venue)
    for name in OFFER_FIELDS:
        if name in data:
            setattr(offer, name, data[name])
    offer._history_user = actor
    with transaction.atomic():
        offer.save()
    return offer


def offer_set_visible(*, offer: Offer, actor: User, visible: bool) -> Offer:
    _ensure_venue(actor, offer.venue)
    offer.visible = visible
    offer._history_user = actor
    offer.save(update_fields=["visible", "updated_at"])
    return offer


def offer_delete(*, offer: Offer, actor: User) -> None:
    _ensure_venue(actor, offer.venue)
    offer._history_user = actor
    offer.delete()
