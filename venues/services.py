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
import secrets
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from simple_history.utils import bulk_create_with_history

from accounts.compiled import CompiledQuery
from accounts.models import Site, UseCategory, User
from accounts.text import has_removed_characters
from cards import access
from cards.models import MAX_CHILDREN, Card, CardUse, Holder, Offer, ValidityPeriod
from cards.selectors import holder_as_seen
from cards.services import card_number_normalize, card_number_refusal, card_number_tidy

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
    # Why not (``card_expired`` …), for what the desk offers instead; empty when valid.
    code: str = ""

    @property
    def shows_holder(self) -> bool:
        """Whether the desk may show the holder's children or organisation: only for a card that
        can be used today. The holder's details are today's, which for an old card may be what
        another site recorded later; a card that cannot be used is checked for its status and
        dates only (docs/rules.md, "Recording use at a venue")."""
        return self.valid and self.card is not None

    @property
    def is_organisation(self) -> bool:
        return self.card is not None and self.card.holder.kind == Holder.Kind.ORGANISATION

    @property
    def children(self) -> int:
        return (self.card.holder.children_count or 0) if self.card else 0


def _ensure_venue(actor: User, venue: Site) -> None:
    if not access.venue_may_act(actor, venue):
        raise PermissionDenied


def _card_problem(card: Card | None, on: datetime.date) -> tuple[str, str]:
    """Why a use on ``on`` is refused, as (message, code), or ("", "") when the card was valid
    that day: the day falls in one of the card's validity periods and before any inactivation.

    A renewal adds a period from its own day, so a use dated while the card had expired stays
    refused after the renewal. The refusal names no holder detail.
    """
    if card is None:
        return _("Unknown card: no card with this number is registered. Check the number."), "card_unknown"
    if card.status == Card.Status.INACTIVE and (card.inactivated_on is None or card.inactivated_on <= on):
        return _("The card is inactive and cannot be used."), "card_inactive"
    if card.was_valid_on(on):
        return "", ""
    if on < card.issued_on:
        return _("The card was issued on %(date)s, after the date of use.") % {
            "date": date_format(card.issued_on, "j.n.Y")
        }, "card_not_yet_issued"
    if on > card.valid_until:
        return _("The card expired on %(date)s. The holder can renew it where it was issued.") % {
            "date": date_format(card.valid_until, "j.n.Y")
        }, "card_expired"
    if card.was_inactive_on(on):
        # Inactivated on or before that day, reactivated by an admin later.
        return _("The card was inactive on %(date)s: it was reactivated later.") % {
            "date": date_format(on, "j.n.Y")
        }, "card_inactive_that_day"
    return _("The card was not valid on %(date)s: it had expired and was renewed later.") % {
        "date": date_format(on, "j.n.Y")
    }, "card_not_valid_that_day"


# Its periods are read only for a day outside the card's current validity (Card.was_valid_on).
# The number is unique: no order needed. Compiled once: every desk look-up runs it.
_card_by_number_query = CompiledQuery(
    lambda number: Card.objects.select_related("holder").filter(number=number).order_by()[:1], number=str
)


def _card_by_number(number: str) -> Card | None:
    return _card_by_number_query.first(number=number)


def card_check(*, number: str, on: datetime.date | None = None) -> CardCheck:
    number = card_number_normalize(number)
    card = _card_by_number(number)
    problem, code = _card_problem(card, on or timezone.localdate())
    return CardCheck(number=number, card=card, valid=not problem, reason=problem, code=code)


_CATEGORIES = frozenset(UseCategory.values)
# Card problems that another date of use would cure: they concern the date, not the card.
# The others (unknown, inactive, expired) concern the card as a whole, under its number.
_DATE_PROBLEMS = frozenset({"card_not_yet_issued", "card_not_valid_that_day", "card_inactive_that_day"})


def _children_while_in_use(card) -> int:
    """The children registered on a card (a Card, or an import's _ImportCard) for a use on a day
    it was valid. An active card's holder is managed by its site: today's count. A card inactive
    now (a paper record from before) counts as its site last registered them: a later site's
    count is not this card's, and the refusal would tell it to the venue (docs/rules.md). That
    reads the card's and the holder's history (three queries), so it is asked only for a use with
    child tickets, and kept on the card for the file's other rows."""
    if card.status == Card.Status.ACTIVE:
        return card.holder.children_count or 0
    if getattr(card, "children_then", None) is None:  # a Card has no such field: kept on the instance
        full = card if isinstance(card, Card) else Card.objects.select_related("holder").get(pk=card.pk)
        card.children_then = holder_as_seen(card=full).children_count or 0
    return card.children_then


def _use_errors(*, data: UseData, card: Card | None, today: datetime.date) -> dict[str, list[ValidationError]]:
    """Every rule for recording a use (docs/rules.md, "Recording use at a venue"), keyed by field."""
    errors: dict[str, list[ValidationError]] = {}

    def add(name, message, code):
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    if data.used_on is None:
        add("used_on", _("Enter the date of use."), "used_on_required")
    elif data.used_on > today:
        add("used_on", _("The date of use cannot be in the future."), "used_on_future")
    if data.category not in _CATEGORIES:
        add("category", _("Choose a category: culture, education, science or sports."), "category_required")
    for name, value, high in [
        ("child_tickets", data.child_tickets, MAX_CHILDREN),
        ("assistant_tickets", data.assistant_tickets, MAX_ASSISTANTS),
        ("clients_under_16", data.clients_under_16, MAX_CLIENTS_UNDER_16),
    ]:
        if not 0 <= value <= high:
            add(name, _("Enter a number between 0 and %(max)s.") % {"max": high}, "count_range")
    if card is None or data.used_on is None or data.used_on > today:
        if card is None:
            add("number", *_card_problem(None, today))
        return errors
    problem, code = _card_problem(card, data.used_on)
    if problem:
        add("used_on" if code in _DATE_PROBLEMS else "number", problem, code)
        return errors
    holder = card.holder
    if holder.kind == Holder.Kind.ORGANISATION:
        if data.child_tickets:
            add(
                "child_tickets",
                _("An organisation card has no child tickets: enter the clients under 16 instead."),
                "child_tickets_organisation",
            )
    else:
        if data.clients_under_16:
            add("clients_under_16", _("Clients under 16 are only for organisation cards."), "clients_for_customer")
        if data.category == UseCategory.EDUCATION and data.child_tickets:
            add(
                "child_tickets",
                _("No child tickets in the education category (adult-education courses)."),
                "child_tickets_education",
            )
        elif data.child_tickets and data.child_tickets > (count := _children_while_in_use(card)):
            add(
                "child_tickets",
                ngettext(
                    "At most %(count)s child ticket: the card has %(count)s child registered.",
                    "At most %(count)s child tickets: the card has %(count)s children registered.",
                    count,
                )
                % {"count": count},
                "child_tickets_exceed",
            )
    return errors


def card_use_validate(
    *, data: UseData, card: Card | None, today: datetime.date | None = None, columns_named: bool = False
) -> dict[str, list[str]]:
    """The rules for a use, as messages keyed by field (for the import's row-by-row report).
    ``columns_named``: a count out of range is prefixed with its field, for a report with no
    field beside it ("between 0 and 10" alone does not say which cell)."""
    errors = _use_errors(data=data, card=card, today=today or timezone.localdate())
    return {
        name: [
            f"{name}: {message}" if columns_named and error.code == "count_range" else message
            for error in errs
            for message in error.messages
        ]
        for name, errs in errors.items()
    }


def desk_use_key(*, venue_pk: int, token: str) -> str:
    """The key a use recorded at the desk is stored under: its form's token, tied to the venue."""
    return hashlib.sha256(f"desk|{venue_pk}|{token}".encode()).hexdigest()


def card_use_record(
    *, venue: Site, actor: User, data: UseData, idempotency_key: str, source: str = CardUse.Source.DESK
) -> tuple[CardUse, bool]:
    """Record one use. Returns ``(use, created)``; a repeated key returns the first use unchanged.

    ``idempotency_key`` is the form's token. The key stored is made from it and the venue, so a
    token sent by another venue's staff can neither find this venue's use (whether a card was
    used elsewhere) nor take the key of a row a venue will import later.
    """
    _ensure_venue(actor, venue)
    expired = ValidationError(_("The form has expired. Look the card up again."), code="token_invalid")
    if not re.fullmatch(r"[0-9a-f]{32,64}", idempotency_key or ""):
        raise expired
    idempotency_key = desk_use_key(venue_pk=venue.pk, token=idempotency_key)
    existing = CardUse.objects.filter(idempotency_key=idempotency_key).select_related("card").first()
    if existing is not None:
        return existing, False  # the same form sent again (the key is this venue's: desk_use_key)
    card = _card_by_number(card_number_normalize(data.number))
    errors = _use_errors(data=data, card=card, today=timezone.localdate())
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


def use_cancel_deadline(*, use: CardUse) -> datetime.date:
    """The last day a use can be cancelled: 14 days after the day it was recorded. The one rule
    both the cancel link and the cancellation itself follow."""
    return timezone.localdate(use.created_at) + datetime.timedelta(days=CANCEL_DAYS)


def use_cancellable(*, use: CardUse, today: datetime.date | None = None) -> bool:
    return use.cancelled_at is None and (today or timezone.localdate()) <= use_cancel_deadline(use=use)


def card_use_cancel_check(*, use: CardUse) -> None:
    """Raise the refusal a cancellation of ``use`` would meet, so that the page can say it before
    a reason is typed (``card_use_cancel`` checks again under its lock)."""
    if use.cancelled_at is not None:
        raise ValidationError(_("This use is already cancelled."), code="use_cancelled")
    if not use_cancellable(use=use):
        raise ValidationError(
            _("A use can be cancelled within %(days)s days of recording it.") % {"days": CANCEL_DAYS},
            code="cancel_window_over",
        )


def card_use_cancel(*, use: CardUse, actor: User, reason: str) -> CardUse:
    """Cancel a use recorded by mistake. It stays in the history and leaves the statistics."""
    _ensure_venue(actor, use.venue)
    if not reason.strip():
        raise ValidationError(
            {"reason": ValidationError(_("Say briefly why the use is cancelled."), code="reason_required")}
        )
    with transaction.atomic():
        use = CardUse.objects.select_for_update(of=("self",)).select_related("venue").get(pk=use.pk)
        card_use_cancel_check(use=use)
        use.cancelled_at = timezone.now()
        use.cancel_reason = reason.strip()[:300]
        use._history_user = actor
        use._change_reason = REASON_CANCELLED
        use.save()
    return use


# --- offline records -----------------------------------------------------------------

IMPORT_COLUMNS = ["card_number", "date", "category", "child_tickets", "assistant_tickets", "clients_under_16"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Kaikukortti uses are recorded from 2015 on; an earlier date is a typing slip.
FIRST_DAY_OF_USE = datetime.date(2015, 1, 1)
MAX_COUNT_DIGITS = 3
# A checked file waits this long for the confirming click, then it is forgotten.
IMPORT_PREVIEW_SECONDS = 60 * 60
# One waiting file per person (a new check replaces it): uploads cannot fill the shared cache.
_PREVIEW_CACHE_KEY = "venues:import-preview:{user}"
_TAKING_CACHE_KEY = "venues:import-taking:{user}:{token}"
# What may be looked up as a card number once normalised (the longest number is 20).
_CARD_NUMBER = re.compile(r"[A-Z0-9]{1,20}")
_CATEGORY_WORDS = {
    # Accept the category as written in any of the three languages.
    "culture": "culture", "kulttuuri": "culture", "kultur": "culture",
    "education": "education", "koulutus": "education", "utbildning": "education",
    "science": "science", "tiede": "science", "vetenskap": "science",
    "sports": "sports", "sport": "sports", "liikunta": "sports", "urheilu": "sports", "idrott": "sports",
}  # fmt: skip


@dataclass(slots=True)
class ImportRow:
    line: int
    values: dict[str, str]
    data: UseData | None = None
    errors: list[str] = field(default_factory=list)
    key: str = ""
    # The key as rows were keyed until 2026-11 (the count cells as typed: "" and "0" differed):
    # a row imported then is still recognised by it.
    typed_key: str = ""
    duplicate: bool = False
    card_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and not self.duplicate

    @property
    def category_label(self) -> str:
        """The row's category as the register names it, in the reader's language (a row without
        errors only: the file may say "kultur" or "Tiede")."""
        return CardUse.Category(self.data.category).label


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


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT = re.compile(r"[0-9]+")
_FORMULA_CHARS = frozenset(_FORMULA_START)
# In a file without invisible characters, a row's cells joined by NUL (in no cell, and no
# whitespace) are checked in one search each: a blank row, and a cell that starts like a
# formula as _is_formula() says (\s is what str.lstrip() strips; *+ takes all of it).
_ROW_BLANK = re.compile(r"[\s\x00]*")
# A signed number ("-1", "+2,5") starts as a formula does but is only a number: it runs
# nothing in a spreadsheet, and the count's own check says what is wrong with it.
# A lone dash is how many spreadsheets write "none" (a count of 0); it runs nothing either.
_SIGNED_NUMBER = r"(?:[+\-][0-9]+(?:[.,][0-9]+)?|-)\s*"
_SIGNED_NUMBER_CELL = re.compile(_SIGNED_NUMBER)
_ROW_FORMULA = re.compile(r"(?:\A|\x00)(?:[\t\r]|\s*+(?:[=@]|(?!" + _SIGNED_NUMBER + r"(?:\x00|\Z))[+\-]))")


# A date column saved by LibreOffice or Excel as a date and time: midnight of that day.
_MIDNIGHT = re.compile(r"(?P<date>\S+)[ T]00:00(?::00)?")


def _parse_date(text: str) -> datetime.date | None:
    text = text.strip()
    if (midnight := _MIDNIGHT.fullmatch(text)) is not None:
        text = midnight["date"]
    if _ISO_DATE.fullmatch(text):
        # The template's own format, parsed without strptime (a file has thousands of rows).
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.datetime.strptime(text, pattern).date()  # noqa: DTZ007
        except ValueError:
            continue
    return None


# A date written in one of the accepted forms, whether or not the day exists.
_DATE_SHAPE = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}\.(?:[0-9]{2}|[0-9]{4})|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
# A spreadsheet's serial day number (46327 is 1.11.2026 in Excel and LibreOffice): what a date
# column formatted as a number is saved as. The user saw a date, so the format message would puzzle.
_DAY_NUMBER = re.compile(r"[1-9][0-9]{4}")


def _date_cell(text: str) -> tuple[datetime.date | None, str]:
    """A date cell as (date, "") or (None, the row's error)."""
    used_on = _parse_date(text)
    if used_on is None:
        if _DATE_SHAPE.fullmatch(text.strip()):
            # 31.2.2026: written right, but no such day (the format's message would not help).
            return None, _("There is no such day as %(date)s.") % {"date": text.strip()}
        if _DAY_NUMBER.fullmatch(text.strip()):
            return None, _(
                "%(value)s is a spreadsheet's day number, not a date: format the date column as a date "
                "(31.3.2025) and save the file again."
            ) % {"value": text.strip()}
        return None, _("The date must be like 2025-03-31 or 31.3.2025.")
    if used_on < FIRST_DAY_OF_USE:
        return None, _("The date cannot be before %(date)s.") % {"date": date_format(FIRST_DAY_OF_USE, "j.n.Y")}
    return used_on, ""


def _count_cell(text: str, label: str) -> tuple[int, str]:
    """A count cell as (count, "") or (0, the row's error); an empty cell or a dash is 0."""
    text = text.strip()
    if not text or text == "-":
        return 0, ""
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses, and a count
    # of thousands of digits is no count.
    if text.startswith("+") and _COUNT.fullmatch(text[1:]):
        text = text[1:]  # "+2" is two, as a spreadsheet reads it (and no formula: _SIGNED_NUMBER)
    if not _COUNT.fullmatch(text):
        if text.startswith("-") and _COUNT.fullmatch(text[1:]):
            return 0, _("%(column)s must be 0 or more.") % {"column": label}
        return 0, _("%(column)s must be a whole number.") % {"column": label}
    if len(text) > MAX_COUNT_DIGITS:
        return 0, _("%(column)s must be a whole number of at most %(digits)s digits.") % {
            "column": label,
            "digits": MAX_COUNT_DIGITS,
        }
    return int(text), ""


# How a PDF, a spreadsheet (xlsx and ods are zip files, old xls an OLE file) or a Word file
# begins: chosen by mistake for the CSV, such a file would get a message about its columns or
# its characters, and the person would look for a typo in a file that has none.
_DOCUMENT_SIGNATURES = (b"%PDF-", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"{\\rtf")


def _decode(content: bytes) -> str:
    if not content.strip():
        raise ValidationError(_("The file is empty."), code="empty")
    if content.startswith(_DOCUMENT_SIGNATURES):
        raise ValidationError(
            _(
                "The file is a spreadsheet, PDF or other document, not a CSV file. "
                "In Excel, save it as 'CSV UTF-8 (comma delimited)' and try again."
            ),
            code="not_csv",
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text. In Excel, save it as 'CSV UTF-8 (comma delimited)' and try again."),
            code="not_utf8",
        ) from None
    if re.search("\r(?!\n)", text):
        # Old Mac files end lines with a lone CR; read as one long line they would
        # give misleading errors, so they are refused as a whole.
        raise ValidationError(
            _("The file has old Mac line endings. Save it again as 'CSV UTF-8 (comma delimited)' and try again."),
            code="old_mac_line_endings",
        )
    return text


def _is_formula(cell: str) -> bool:
    # Spreadsheets ignore leading spaces and tabs before a formula, so the check does too.
    # (Stripping only when the cell starts with a space: most cells start with a letter or digit.)
    first = cell[:1]
    if first in ("\t", "\r"):
        return True
    if not (first in _FORMULA_CHARS or first.isspace()):
        return False
    stripped = cell.lstrip()
    return stripped.startswith(_FORMULA_START) and not _SIGNED_NUMBER_CELL.fullmatch(stripped)


def _control_character_error(line: int) -> ValidationError:
    return ValidationError(
        _(
            "Row %(line)s contains an invisible control character (such as a NUL byte). "
            "Save the file again as 'CSV UTF-8 (comma delimited)' and try again."
        )
        % {"line": line},
        code="control_character",
    )


def _import_dialect(text: str) -> type[csv.Dialect]:
    """The file's separator, read from its header row: a comma, or the semicolon of Excel in a
    Finnish or Swedish locale, or a tab. The sniffer guesses from a sample and gave up on a small
    file with a blank line in it, which then read as wrong columns. A header it cannot tell
    (quoted, say) is left to the sniffer, over the file's non-blank lines."""
    header = text.split("\n", 1)[0].strip()
    for delimiter in ",;\t":
        if [cell.strip().lower() for cell in header.split(delimiter)] == IMPORT_COLUMNS:
            return type("ImportDialect", (csv.excel,), {"delimiter": delimiter})
    sample = "\n".join(line for line in text[:8192].splitlines() if line.strip())
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _trailing_empty_dropped(cells: list[str], *, keep: int = 0) -> list[str]:
    """``cells`` without the empty (or blank) cells at their end, keeping at least ``keep``."""
    end = len(cells)
    while end > keep and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def _import_rows_read(content: bytes) -> list[ImportRow]:
    """The file's rows, unchecked. Whole-file problems (encoding, columns, formula cells,
    invisible characters, size, emptiness) raise ValidationError, naming the first bad row."""
    text = _decode(content)
    reader = csv.reader(io.StringIO(text), _import_dialect(text))
    try:
        header = _trailing_empty_dropped([cell.strip().lower() for cell in next(reader)])
    except StopIteration:
        raise ValidationError(_("The file is empty."), code="empty") from None
    except csv.Error:
        raise ValidationError(_("The file is not a CSV file."), code="not_csv") from None
    if any(map(has_removed_characters, header)):
        # Said as for any row: "wrong columns" would send the person looking for a typo.
        raise _control_character_error(1)
    if header != IMPORT_COLUMNS:
        raise ValidationError(
            _("The columns must be, in this order: %(columns)s. Download the template and copy your rows into it.")
            % {"columns": ", ".join(IMPORT_COLUMNS)},
            code="wrong_columns",
        )
    # Every cell is part of the text: when the text holds no invisible character, no cell does,
    # and a row is checked in two searches, not cell by cell (a file has tens of thousands of cells).
    clean = not has_removed_characters(text)
    columns = len(IMPORT_COLUMNS)
    rows: list[ImportRow] = []
    line = 1  # the header's; each record's number as the other messages count them
    try:
        for line, cells in enumerate(reader, start=2):
            if clean:
                joined = "\x00".join(cells)
                if _ROW_BLANK.fullmatch(joined):
                    continue
            elif not any(cell.strip() for cell in cells):
                continue
            if len(cells) > columns:
                # A spreadsheet writes empty cells after the last column once a cell there was touched.
                cells = _trailing_empty_dropped(cells, keep=columns)
            if len(cells) != columns:
                raise ValidationError(
                    _("Row %(line)s has the wrong number of columns (%(count)s); every row needs %(expected)s.")
                    % {"line": line, "count": len(cells), "expected": columns},
                    code="wrong_column_count",
                )
            if _ROW_FORMULA.search(joined) if clean else any(map(_is_formula, cells)):
                # Spreadsheet formulas have no place in a record of uses, and could run in
                # someone's spreadsheet later: refuse the whole file.
                raise ValidationError(
                    _("Row %(line)s contains a formula or a cell starting with =, +, - or @. Remove it and try again.")
                    % {"line": line},
                    code="formula",
                )
            if not clean and any(map(has_removed_characters, cells)):
                # A NUL byte or another invisible character: PostgreSQL refuses NUL in text,
                # and the others would make a card number look right and match nothing.
                raise _control_character_error(line)
            rows.append(ImportRow(line, dict(zip(IMPORT_COLUMNS, cells, strict=True))))
            if len(rows) > MAX_IMPORT_ROWS:
                raise ValidationError(
                    _("The file has more than %(max)s rows. Split it into smaller files.")
                    % {"max": number_format(MAX_IMPORT_ROWS, force_grouping=True)},
                    code="too_many_rows",
                )
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            # Python's csv module stops at a cell of over 128 KB, in the record after the last one
            # read: name it as the other messages do (records, not lines: a cell may hold a line break).
            raise ValidationError(
                _("Row %(line)s has a cell of over %(limit)s characters. Check that row, save the file and try again.")
                % {"line": line + 1, "limit": number_format(csv.field_size_limit(), force_grouping=True)},
                code="cell_too_long",
            ) from None
        raise ValidationError(_("The file is not a valid CSV file."), code="not_csv") from None
    if not rows:
        raise ValidationError(_("The file has no rows of uses."), code="no_rows")
    return rows


def _import_rows_parse(rows: list[ImportRow], *, venue: Site) -> list[ImportRow]:
    """Give each row its data, its cell errors and its one-time key. Reads no database.
    Returns the rows to judge by the rules of a use: those with a date and a card number
    typed with the allowed characters.

    A file repeats itself (the same dates, counts, categories and often cards on many rows),
    so each distinct cell is parsed once and each distinct use is one ``UseData``.
    """
    numbers: dict[str, tuple[str, str]] = {}
    dates: dict[str, tuple[datetime.date | None, str]] = {}
    categories: dict[str, str] = {}
    counts: dict[tuple[str, str, str], tuple[tuple[int, int, int], list[str], str]] = {}
    uses: dict[tuple, UseData] = {}
    occurrences: dict[str, int] = {}
    typed_occurrences: dict[str, int] = {}
    venue_pk = str(venue.pk)
    to_judge: list[ImportRow] = []
    for row in rows:
        values = row.values
        raw = values["card_number"]
        if (number := numbers.get(raw)) is None:
            tidied = card_number_tidy(raw).strip()
            # As at the desk ("ß" would upper-case to "SS" and could find another card).
            refusal = card_number_refusal(tidied)
            number = numbers[raw] = (card_number_normalize(tidied), refusal.messages[0] if refusal else "")
        raw = values["date"]
        if (date := dates.get(raw)) is None:
            date = dates[raw] = _date_cell(raw)
        raw = values["category"]
        if (category := categories.get(raw)) is None:
            word = raw.strip().lower()
            category = categories[raw] = _CATEGORY_WORDS.get(word, word)
        cells = (values["child_tickets"], values["assistant_tickets"], values["clients_under_16"])
        if (tickets := counts.get(cells)) is None:
            parsed = [_count_cell(cell, label) for cell, label in zip(cells, IMPORT_COLUMNS[3:], strict=True)]
            tickets = counts[cells] = (
                tuple(count for count, _error in parsed),
                [error for _count, error in parsed if error],
                "|".join(cell.strip() for cell in cells),
            )
        (normalized, number_error), (used_on, date_error) = number, date
        if date_error or number_error or tickets[1]:
            # In the order the columns are read: the date, the card number, the counts.
            row.errors.extend(error for error in (date_error, number_error) if error)
            row.errors.extend(tickets[1])
        use = (normalized, used_on, category, tickets[0])
        if (data := uses.get(use)) is None:
            child, assistant, under_16 = tickets[0]
            data = uses[use] = UseData(
                number=normalized,
                used_on=used_on,
                category=category,
                child_tickets=child,
                assistant_tickets=assistant,
                clients_under_16=under_16,
            )
        row.data = data
        if used_on is not None and not number_error:
            to_judge.append(row)
        # The same row twice in one file is two uses; the same file twice is not, however its
        # counts are written ("", "0" and "00" are one count). (These texts must not change:
        # they are how a row imported before is recognised.) A row whose counts could not be
        # read takes no number among the rows of its use: it is refused, and when it is fixed or
        # removed the rows around it must keep their keys. The key of rows imported until
        # 2026-11 ("import|", the counts as typed, every row counted) is kept as ``typed_key``.
        use_text = f"{venue_pk}|{normalized}|{used_on}|{category}"
        if not tickets[1]:
            signature = f"{use_text}|{'|'.join(map(str, tickets[0]))}"
            occurrence = occurrences[signature] = occurrences.get(signature, 0) + 1
            row.key = hashlib.sha256(f"import2|{signature}|{occurrence}".encode()).hexdigest()
        typed = f"{use_text}|{tickets[2]}"
        occurrence = typed_occurrences[typed] = typed_occurrences.get(typed, 0) + 1
        row.typed_key = hashlib.sha256(f"import|{typed}|{occurrence}".encode()).hexdigest()
    return to_judge


def _among(values: list[str] | list[int]) -> list[str] | list[int] | RawSQL:
    """The right side of an ``__in`` filter over thousands of card numbers, keys (non-empty,
    without commas) or ids. On PostgreSQL they travel as one text parameter split by the server:
    thousands of parameters, or an array adapted value by value, cost more than the look-up."""
    if connection.vendor != "postgresql":
        return values
    if values and isinstance(values[0], int):
        return RawSQL("SELECT unnest(string_to_array(%s, ',')::bigint[])", [",".join(map(str, values))])
    joined = ",".join(values)
    if "" in values or joined.count(",") != max(len(values) - 1, 0):
        raise ValueError("An empty value, or one with a comma, cannot be looked up this way.")
    return RawSQL("SELECT unnest(string_to_array(%s, ','))", [joined])


class _ImportPeriod(NamedTuple):
    valid_from: datetime.date
    valid_until: datetime.date
    ended_on: datetime.date | None

    covers = ValidityPeriod.covers  # the model's own rules, on plain values
    cut_off = ValidityPeriod.cut_off


@dataclass(frozen=True, slots=True)
class _ImportHolder:
    kind: str
    children_count: int | None


@dataclass(slots=True)
class _ImportCard:
    """What the rules of a use (``_use_errors``, ``_card_problem``) read of a card, loaded for
    a whole file in one query rather than as a Card, a Holder and their periods per card.
    A rule that starts reading another field fails here loudly (AttributeError), not silently."""

    pk: int
    status: str
    inactivated_on: datetime.date | None
    issued_on: datetime.date
    valid_until: datetime.date
    holder: _ImportHolder
    periods: list[_ImportPeriod]
    children_then: int | None = None  # _children_while_in_use's, for an inactive card

    def was_valid_on(self, day: datetime.date) -> bool:
        # As Card.was_valid_on: the day falls in one of the card's validity periods.
        return any(period.covers(day) for period in self.periods)

    def was_inactive_on(self, day: datetime.date) -> bool:
        return any(period.cut_off(day) for period in self.periods)  # as Card.was_inactive_on


def _import_cards(numbers: set[str]) -> dict[str, _ImportCard]:
    """The registered cards among ``numbers``, by number, as they are in the database now."""
    cards: dict[str, _ImportCard] = {}
    found = (
        Card.objects.filter(number__in=_among(sorted(numbers)))
        .order_by()
        .values_list(
            "number",
            "pk",
            "status",
            "inactivated_on",
            "issued_on",
            "valid_until",
            "holder__kind",
            "holder__children_count",
            "periods__valid_from",
            "periods__valid_until",
            "periods__ended_on",
        )
    )
    for number, pk, status, inactivated_on, issued_on, valid_until, kind, children, start, end, ended in found:
        card = cards.get(number)
        if card is None:
            holder = _ImportHolder(kind=kind, children_count=children)
            card = cards[number] = _ImportCard(pk, status, inactivated_on, issued_on, valid_until, holder, [])
        if start is not None:  # a card without periods (none should exist) was valid on no day
            card.periods.append(_ImportPeriod(start, end, ended))
    return cards


def _import_rows_check(rows: list[ImportRow], to_judge: list[ImportRow], *, today: datetime.date) -> None:
    """Check the parsed rows against the database as it is now: the cards, their validity on
    each row's date and the desk's rules (``card_use_validate``) for the rows ``to_judge``,
    and which rows were imported before."""
    # Only what can be a card number is looked up; the rest is refused row by row below.
    numbers = {row.data.number for row in rows}
    cards = _import_cards({number for number in numbers if _CARD_NUMBER.fullmatch(number)})
    for row in rows:
        card = cards.get(row.data.number)
        row.card_id = card.pk if card else None
    verdicts: dict[UseData, list[str]] = {}
    for row in to_judge:
        data = row.data
        if (messages := verdicts.get(data)) is None:
            # The same use on many rows (one card, one day, the same tickets) is judged once.
            found = card_use_validate(data=data, card=cards.get(data.number), today=today, columns_named=True)
            messages = verdicts[data] = [message for errors in found.values() for message in errors]
        if messages:
            row.errors.extend(messages)
    keys = sorted({key for row in rows if not row.errors for key in (row.key, row.typed_key) if key})
    already = (
        set(CardUse.objects.filter(idempotency_key__in=_among(keys)).values_list("idempotency_key", flat=True))
        if keys
        else set()
    )
    for row in rows:
        row.duplicate = not row.errors and (row.key in already or row.typed_key in already)


def card_uses_import_preview(*, venue: Site, content: bytes, today: datetime.date | None = None) -> ImportPreview:
    """Check every row of an offline-record file with the desk's rules. Writes nothing.

    Whole-file problems (encoding, columns, formula cells, emptiness) raise ValidationError;
    row problems are reported per row.
    """
    today = today or timezone.localdate()
    rows = _import_rows_read(content)
    to_judge = _import_rows_parse(rows, venue=venue)
    _import_rows_check(rows, to_judge, today=today)
    return ImportPreview(rows=rows)


def import_rows_recorded_that_day(*, venue: Site, rows: list[ImportRow]) -> list[ImportRow]:
    """The rows to import whose card already has a use here on the row's day (recorded at the
    desk, or in an earlier file with other tickets): the usual trace of a visit recorded twice,
    on paper while the network was down and at the desk. They are still imported (a holder may
    come twice a day, as at the desk), but the preview lists them first."""
    dated = [row for row in rows if row.card_id is not None and row.data.used_on is not None]
    if not dated:
        return []
    recorded = set(
        CardUse.objects.filter(
            # The file's cards, each read through its own (card, date) index entries: a busy
            # venue has tens of thousands of uses a month, which its date range alone would read.
            card_id__in=_among(sorted({row.card_id for row in dated})),
            venue=venue,
            cancelled_at__isnull=True,
            used_on__range=(min(row.data.used_on for row in dated), max(row.data.used_on for row in dated)),
        )
        .order_by()
        .values_list("card_id", "used_on")
    )
    return [row for row in dated if (row.card_id, row.data.used_on) in recorded]


def card_uses_import(*, venue: Site, actor: User, content: bytes) -> tuple[int, int, int]:
    """Import every valid, not yet imported row in one transaction.

    Returns (recorded, already imported, refused). Rows are checked again here: the file
    may have waited for its confirmation while other uses were recorded, or a card was
    inactivated meanwhile.
    """
    _ensure_venue(actor, venue)
    preview = card_uses_import_preview(venue=venue, content=content)
    uses = [
        (
            row.card_id,
            row.data.used_on,
            row.data.category,
            row.data.child_tickets,
            row.data.assistant_tickets,
            row.data.clients_under_16,
            row.key,
        )
        for row in preview.valid_rows
    ]
    common = {"venue_id": venue.pk, "source": CardUse.Source.IMPORT.value, "recorded_by_id": actor.pk}
    try:
        with transaction.atomic():
            _uses_insert(uses, common=common, actor=actor)
    except IntegrityError:
        # Someone imported the same rows at this very moment; nothing of ours was saved.
        raise ValidationError(
            _("These rows were just imported by someone else. Check the list of uses."), code="import_race"
        ) from None
    return len(uses), len(preview.duplicate_rows), len(preview.invalid_rows)


# What differs from one imported use to the next (``_uses_insert``'s tuples, in this order).
_USE_VARYING = (
    "card_id", "used_on", "category", "child_tickets", "assistant_tickets", "clients_under_16", "idempotency_key",
)  # fmt: skip
# COPY's text format: a backslash, a tab or a line break in a value is written escaped.
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_str(value: str) -> str:
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


def _copy_datetime(value: datetime.datetime) -> str:
    if timezone.is_naive(value):
        raise TypeError("A naive datetime has no place in a timestamptz column.")
    return value.isoformat()


# By exact type (a subclass, such as a choices enum, goes through _copy_text's checks).
_COPY_TEXT = {
    type(None): lambda value: "\\N",
    bool: lambda value: "t" if value else "f",
    int: str,
    str: _copy_str,
    datetime.date: datetime.date.isoformat,
    datetime.datetime: _copy_datetime,
}


def _copy_text(value: object) -> str:
    """``value`` as a field of COPY's text format; another type than these fails loudly."""
    if (convert := _COPY_TEXT.get(type(value))) is not None:
        return convert(value)
    for kind in (bool, int, str):  # a subclass, such as a choices enum: as its plain value
        if isinstance(value, kind):
            return _COPY_TEXT[kind](kind(value))
    raise TypeError(f"No COPY text for {type(value).__name__}.")


def _uses_insert(uses: list[tuple], *, common: dict, actor: User) -> None:
    """Write imported uses and their history rows, as ``bulk_create_with_history`` would.
    Each use is a tuple of the ``_USE_VARYING`` values; ``common`` holds the values (by
    attribute name) that all of them share.

    An offline file can hold thousands of rows; on PostgreSQL they go in with COPY, ids reserved
    from the table's sequence first so that each history row names its use. Each row's line is
    one string format of its varying values into a line where the shared ones are already
    written. Elsewhere (SQLite in development) Django's bulk insert does the same.
    """
    if not uses:
        return
    if connection.vendor != "postgresql":
        bulk_create_with_history(
            [CardUse(**common, **dict(zip(_USE_VARYING, use, strict=True))) for use in uses],
            CardUse,
            batch_size=2000,
            default_user=actor,
            default_change_reason=REASON_IMPORTED,
        )
        return
    now = timezone.now()
    history = CardUse.history.model
    quote = connection.ops.quote_name
    shared = {"created_at": now, "cancelled_at": None, "cancel_reason": ""} | common
    extra = {"history_date": now, "history_change_reason": REASON_IMPORTED, "history_type": "+"}
    extra["history_user_id"] = actor.pk
    varying = {name: index for index, name in enumerate(("id", *_USE_VARYING))}
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # The sequence is named first: as a constant it is looked up once, not for every id.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [CardUse._meta.db_table])
        (sequence,) = cursor.fetchone()
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(uses)])
        # Each use's varying values as text once, for both tables.
        convert = _COPY_TEXT.get
        texts = [
            (str(pk), *[(convert(type(value)) or _copy_text)(value) for value in use])
            for (pk,), use in zip(cursor.fetchall(), uses, strict=True)
        ]
        for model, fields, constants in (
            (CardUse, CardUse._meta.concrete_fields, shared),
            (history, [f for f in history._meta.concrete_fields if f.attname != "history_id"], shared | extra),
        ):
            # Every column named: a field added to the model without a value here fails loudly.
            line = (
                "\t".join(
                    f"{{{varying[field.attname]}}}"
                    if field.attname in varying
                    else _copy_text(constants[field.attname]).replace("{", "{{").replace("}", "}}")
                    for field in fields
                )
                + "\n"
            )
            columns = ", ".join(quote(field.column) for field in fields)
            data = "".join([line.format(*values) for values in texts]).encode()
            with cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                copy.write(data)


def import_preview_store(*, user: User, venue: Site, content: bytes) -> str:
    """Keep a checked file for its confirmation; returns the token that names it.

    The file waits in the cache (the shared database cache in production), not in the
    session: it is written once, not on every request, and it expires by itself when the
    confirmation never comes. A person has one file waiting: checking another replaces it, so
    uploads cannot fill the cache. The token is tied to the person and the venue.
    """
    token = secrets.token_urlsafe(32)
    key = _PREVIEW_CACHE_KEY.format(user=user.pk)
    earlier = cache.get(key) or {}
    # The last few tokens it replaced, so that their pages can say why (another tab).
    replaced = [earlier["token"], *earlier.get("replaced", [])][:5] if earlier.get("token") else []
    cache.set(
        key,
        {"token": token, "venue": venue.pk, "content": content, "replaced": replaced},
        timeout=IMPORT_PREVIEW_SECONDS,
    )
    return token


def _taking_key(*, user: User, token: str) -> str:
    """The cache key that claims a checked file's confirmation (``import_preview_take``)."""
    return _TAKING_CACHE_KEY.format(user=user.pk, token=hashlib.sha256((token or "").encode()).hexdigest())


def _taken_message() -> str:
    return _("This file has been imported already: its uses are in the list. Nothing was recorded twice.")


def import_preview_take(*, user: User, token: str) -> tuple[int, bytes]:
    """The venue id and content of a checked file, removed from the cache: a token works once.

    A token of a file the person has checked another file after is refused saying so; an
    unknown, expired or someone else's token with one message.
    """
    key = _PREVIEW_CACHE_KEY.format(user=user.pk)
    stored = cache.get(key)
    if stored and token and token in stored.get("replaced", []):
        # Another file checked since (another tab): only the last one waits.
        raise ValidationError(
            _("You have checked another file since, and only the last file checked waits. Choose this file again."),
            code="preview_replaced",
        )
    if stored and token and stored.get("taken") and secrets.compare_digest(stored["taken"].encode(), token.encode()):
        # Sent again with the back button, or a second click: its uses were recorded the first time.
        raise ValidationError(_taken_message(), code="preview_taken")
    taking = _taking_key(user=user, token=token)
    if token and cache.get(taking):
        # Being imported by the same confirmation sent a moment ago (its file is gone already).
        raise ValidationError(_taken_message(), code="preview_taken")
    if (
        not stored
        or not stored.get("token")
        or not secrets.compare_digest(stored["token"].encode(), (token or "").encode())
    ):
        raise ValidationError(
            _("The checked file is no longer available (it is kept for one hour). Choose the file again."),
            code="preview_expired",
        )
    # Claimed once: two confirmations sent at the same moment (a double click during a long
    # import, two tabs) both found the file above. The second waits for the first's claim (the
    # database cache's unique key) or finds it, and is told the file was imported.
    if not cache.add(taking, True, timeout=IMPORT_PREVIEW_SECONDS):
        raise ValidationError(_taken_message(), code="preview_taken")
    cache.delete(key)
    return stored["venue"], stored["content"]


def import_preview_release(*, user: User, token: str) -> None:
    """An import that failed: its confirmation no longer counts as taken (nothing was recorded)."""
    cache.delete(_taking_key(user=user, token=token))


def import_preview_done(*, user: User, token: str) -> None:
    """Remember for an hour that the file of ``token`` was imported, so that its page sent again
    (the back button, a second click) says so. Only after the import: one that failed leaves
    nothing that would say it was done."""
    key = _PREVIEW_CACHE_KEY.format(user=user.pk)
    if not cache.get(key):  # a file checked since (another tab) keeps its place
        cache.set(key, {"taken": token}, timeout=IMPORT_PREVIEW_SECONDS)


def import_template_csv() -> str:
    """The header row only. Example rows (the import page explains each column) would be card
    numbers of the register's own form, dated today: a template sent back with them left in
    would record a use on somebody's real card."""
    out = io.StringIO()
    csv.writer(out).writerow(IMPORT_COLUMNS)
    return out.getvalue()


# --- offers --------------------------------------------------------------------------

OFFER_FIELDS = [
    "category", "title_fi", "title_sv", "title_en", "description_fi", "description_sv", "description_en",
    "conditions_fi", "conditions_sv", "conditions_en", "location", "address", "web_link",
    "accessibility_fi", "accessibility_sv", "accessibility_en", "booking_fi", "booking_sv", "booking_en",
    "starts_on", "ends_on", "visible",
]  # fmt: skip


def offer_validate(*, venue: Site | None, data: dict) -> None:
    """The rules of an offer, wherever it is written (the venue's editor, the Django admin).

    Raises ValidationError with the messages per field.
    """
    errors: dict[str, list[str]] = {}
    if venue is not None and venue.kind != Site.Kind.VENUE:
        # Holders see the offer under the venue's name: a distributor has nothing to offer.
        errors["venue"] = [_("An offer belongs to a venue site.")]
    if not (data.get("title_fi") or "").strip():
        errors["title_fi"] = [_("Enter the title in Finnish; the other languages are optional.")]
    if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
        errors["ends_on"] = [_("The offer cannot end before it starts.")]
    if data.get("category") not in UseCategory.values:
        errors["category"] = [_("Choose a category.")]
    link = (data.get("web_link") or "").strip()
    if link and not re.match(r"https?://[^\s/]+\.[^\s]+$", link, re.IGNORECASE):  # "HTTPS://" too
        # Holders follow the link from OmaKaiku: a web address only, never javascript: or a file.
        errors["web_link"] = [_("Enter a web address that starts with https:// (or http://).")]
    elif link and "@" in urlsplit(link).netloc:
        # https://www.tampere-talo.fi@evil.example/ reads as the venue's site and opens another.
        errors["web_link"] = [
            _("Remove the part before @ in the site's name: the link would open another site than the one it shows.")
        ]
    if errors:
        raise ValidationError(errors)


class OfferChanged(ValidationError):
    """The offer was saved or hidden by someone else (another tab, a colleague) after the form
    was opened. ``fields`` are those changed since that the save would undo."""

    def __init__(self, *, fields: list[str], updated_at: datetime.datetime):
        super().__init__(_("This offer was changed after you opened it."), code="offer_changed")
        self.fields = fields
        self.updated_at = updated_at


class OfferGone(ValidationError):
    def __init__(self):
        super().__init__(_("This offer was deleted after you opened it."), code="offer_deleted")


def offer_creation_key(*, venue_pk: int, token: str) -> str:
    """The key a new offer is stored under: its form's token, tied to the venue."""
    return hashlib.sha256(f"offer|{venue_pk}|{token}".encode()).hexdigest()


def offer_save(
    *,
    venue: Site,
    actor: User,
    data: dict,
    offer: Offer | None = None,
    token: str = "",
    seen_updated_at: datetime.datetime | None = None,
) -> Offer:
    """Create an offer, or change ``offer``.

    ``token`` (a new offer's form token) makes the same form sent twice one offer: the second
    gets the first. ``seen_updated_at`` (when the edit form was opened) refuses to write over a
    change made since (``OfferChanged``), or over an offer deleted since (``OfferGone``): the edit
    form carries every field, so an old tab would otherwise bring back an offer hidden meanwhile.
    """
    _ensure_venue(actor, venue)
    if offer is not None and offer.venue_id != venue.pk:
        raise PermissionDenied
    offer_validate(venue=venue, data=data)
    key = offer_creation_key(venue_pk=venue.pk, token=token) if re.fullmatch(r"[0-9a-f]{32,64}", token) else None
    if offer is None and key is not None:
        existing = Offer.objects.filter(creation_key=key).first()
        if existing is not None:
            return existing  # the same form sent again (the key is this venue's)
    try:
        with transaction.atomic():
            if offer is not None and seen_updated_at is not None:
                current = Offer.objects.select_for_update().filter(pk=offer.pk).first()
                if current is None:
                    raise OfferGone()
                if current.updated_at != seen_updated_at:
                    # What was changed since, read from the offer's history. The form sends
                    # every field, so any real change made since is undone by it and named;
                    # only a change that left the values as they were ("Show" on an offer
                    # already shown) lets the save through.
                    opened = current.history.filter(updated_at=seen_updated_at).first()
                    undone = [
                        name
                        for name in OFFER_FIELDS
                        if name in data
                        and getattr(current, name) != data[name]
                        and (opened is None or getattr(opened, name) != getattr(current, name))
                    ]
                    if undone:
                        raise OfferChanged(fields=undone, updated_at=current.updated_at)
            offer = offer or Offer(venue=venue, creation_key=key)
            for name in OFFER_FIELDS:
                if name in data:
                    setattr(offer, name, data[name])
            offer._history_user = actor
            offer.save()
    except IntegrityError:
        if key is None or offer.pk is not None:
            raise
        # The same form arrived twice at the same moment: the first one won.
        return Offer.objects.get(creation_key=key)
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
