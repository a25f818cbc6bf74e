"""Every write to the card register goes through here.

Each service runs in one transaction, records who changed what and why in the
card's history, and sends email only after the transaction has committed
(an invitation for a card that was rolled back must never leave the building).
Refusals are ``ValidationError``s keyed by the form field they concern, so the
distributor sees the message next to what needs fixing, and each carries a ``code``
that tests and callers rely on instead of the wording.

Who may do what is decided by ``cards.access``; what must hold afterwards is checked by
``cards.invariants`` before the transaction commits. Both are asked on every path: views,
the admin's actions, management commands and imports.
"""

import calendar
import datetime
import re
import unicodedata
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Municipality, Site, User
from accounts.security_log import security_event
from accounts.services import admin_log_address_forget, user_erase, user_invite, user_sessions_end

from . import invariants
from .access import (
    CardAction,
    card_permits,
    card_require,
    holder_permits_new_card,
    is_admin,
    site_may_issue,
    site_transfer_permitted,
    transfer_target_permitted,
)
from .models import (
    ASSIGNED_NUMBER_REGEX,
    MAX_CHILDREN,
    PHYSICAL_NUMBER_REGEX,
    Card,
    CardNumberCounter,
    Holder,
    ValidityPeriod,
)

MINIMUM_AGE = 16

# History reasons the system writes are stored in the source language and translated
# when shown (cards.selectors), so each reader sees them in their own language.
REASON_REGISTERED = gettext_noop("Card registered")
REASON_OMAKAIKU = gettext_noop("OmaKaiku activated")
REASON_RENEWED = gettext_noop("Renewed")
REASON_INACTIVATED = gettext_noop("Inactivated")
REASON_INACTIVATED_BY_ADMIN = gettext_noop("Inactivated by an administrator")
REASON_REACTIVATED = gettext_noop("Reactivated by an administrator")
REASON_MOBILE = gettext_noop("Mobile card enabled")
REASON_SWITCHED = gettext_noop("Switched to mobile-only")
REASON_EMAIL_CHANGED = gettext_noop("OmaKaiku email changed")
REASON_OMAKAIKU_CLOSED = gettext_noop("OmaKaiku account closed")
REASON_MOBILE_OFF = gettext_noop("Mobile card disabled: OmaKaiku closed")
REASON_DORMANT = gettext_noop("No valid card for 24 months: OmaKaiku email erased")
REASON_TRANSFERRED = gettext_noop("Moved to another site")
# The history table's reason column holds this many characters; typed reasons are checked
# against it here, so a long reason is a form error on every database, not a crash on one.
REASON_MAX_LENGTH = 100
NOTE_MAX_LENGTH = 500
ASSIGNED_NUMBER_DIGITS = 7


@dataclass(frozen=True, kw_only=True)
class HolderData:
    """What a distributor types about a holder; validated by ``holder_data_validate``."""

    kind: str
    postal_code: str
    municipality: Municipality | None
    birth_year: int | None = None
    children_count: int | None = None
    gender: str = ""
    life_situation: str = ""
    organisation_name: str = ""
    representative_role: str = ""

    @classmethod
    def from_holder(cls, holder: Holder) -> "HolderData":
        return cls(**{name: getattr(holder, name) for name in cls.__dataclass_fields__})


# --- helpers -------------------------------------------------------------------------


def _refuse(field: str | None, message: str, code: str) -> ValidationError:
    """A refusal with a code, keyed by the form field it concerns (None: the whole form)."""
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


# Invisible characters a number pasted from a mail, a chat or a spreadsheet brings along: a soft
# hyphen, zero-width spaces and joiners, direction marks, a word joiner, a byte order mark.
_CARD_NUMBER_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")


def card_number_tidy(raw: str) -> str:
    """A card number as typed or pasted, with what spreadsheets, word processors, phones and mail
    put in it read as what it stands for: any dash (an en or em dash, a non-breaking hyphen:
    Unicode's dashes) and a minus sign as a dash, any space (a no-break space, Finnish
    digit grouping's narrow one) as a space, and the invisible characters above dropped (the
    cashier sees a number that looks right). Used wherever a number is typed (the desk, the card
    forms, the admin's search) or imported; a direction override (U+202E) is left, to be refused.
    """
    if raw.isascii():
        return raw
    tidy = []
    for char in raw:
        if char in _CARD_NUMBER_INVISIBLE:
            continue
        category = unicodedata.category(char)
        tidy.append("-" if category == "Pd" or char == "\u2212" else " " if category == "Zs" else char)
    return "".join(tidy)


def card_number_refusal(typed: str) -> ValidationError | None:
    """Why a card number as typed (after ``card_number_tidy``) cannot be looked up, or None: the
    one rule of the desk's and the card forms' number field and of an import's rows.

    Only ASCII letters and digits, spaces and dashes: anything else is refused, not cleaned or
    guessed at (``ß`` upper-cases to ``SS`` and would find another card, and a stray control
    character means the scan went wrong); and something to look up, not only dashes."""
    if not re.fullmatch(r"[A-Za-z0-9 -]*", typed):
        return ValidationError(
            _("A card number has only the letters A–Z, the digits 0–9, spaces and dashes."), code="invalid_characters"
        )
    if not re.search(r"[A-Za-z0-9]", typed):
        return ValidationError(_("Enter the card number: its letters and digits."), code="no_number")
    return None


def card_number_normalize(raw: str) -> str:
    """Card numbers are compared uppercased and without spaces or dashes, as printed numbers are
    often read aloud or typed in groups.

    Only ASCII is uppercased: ``"ß".upper()`` is ``"SS"``, and a number typed with letters that
    are not on any card must be refused, not turned into another card's number.
    """
    number = re.sub(r"[\s-]+", "", card_number_tidy(raw or ""))
    return number.upper() if number.isascii() else number


def add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def validity_period(start: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Twelve months from ``start``: the last valid day is the day before the same date a year on.

    A card issued on 29 February has no such date a year on: its last valid day is 28 February,
    a full year, not the 27th (which a card issued on 28 February gets).
    """
    next_start = add_months(start, settings.CARD_VALIDITY_MONTHS)
    if next_start.day != start.day:  # no such day that month: add_months gave the month's last
        return start, next_start
    return start, next_start - datetime.timedelta(days=1)


def _ensure_can_issue(actor: User, site: Site) -> None:
    if not site_may_issue(actor, site):
        raise PermissionDenied


def _site_locked_open(site: Site) -> bool:
    """Lock the site a new card is made at, and say whether it is open now.

    A site that closes has its cards moved to another one; a card made in the same moment would
    be left at the closed site, where nobody can renew it. Under this lock, closing the site
    waits for the new card (which its move then takes along), or the card sees it closed. The
    lock is PostgreSQL's FOR NO KEY UPDATE: it stops the site's update, not the foreign-key
    checks of other cards and memberships made at the site meanwhile.
    """
    return bool(Site.objects.select_for_update(no_key=True).filter(pk=site.pk, is_active=True).values_list("pk"))


def _site_lock_open(site: Site) -> None:
    """Lock the site a card is registered at (``_site_locked_open``), refusing if it has closed."""
    if not _site_locked_open(site):
        raise _refuse(None, _("This site has closed: cards can no longer be registered there."), "site_closed")


def _ensure_editable(card: Card) -> None:
    if card.status == Card.Status.INACTIVE:
        raise _refuse(
            None,
            _("This card is inactive and can no longer be changed. Register a new card for the holder instead."),
            "card_inactive",
        )


def _locked(query: QuerySet, pk: int):
    """Lock row ``pk`` of the query's table, then read it with the query's joins.

    The row is locked alone: PostgreSQL re-checks a row it had to wait for against the rows
    joined to it before the wait, so a lock taken with joins finds no row at all (a 500) when the
    change it waited for moved the joined key: a card moved to another site, a holder given or
    closed OmaKaiku. Read after the lock, the joins are the ones that change committed.
    """
    query.model.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True).get()
    return query.get(pk=pk)


def _lock(card: Card) -> Card:
    """Re-read the card under a row lock so two simultaneous changes cannot both pass the checks."""
    return _locked(Card.objects.select_related("holder__account", "site"), card.pk)


def _lock_for(actor: User | None, card: Card, *actions: CardAction) -> Card:
    """Lock the card, then ask the access policy about it as it is now (not as the caller saw it)."""
    card = _lock(card)
    if actor is not None and not any(card_permits(actor, card, action) for action in actions):
        raise PermissionDenied
    return card


def _audit(obj, *, actor: User | None, reason: str) -> None:
    """Who and why, for the history record the next save() writes (set explicitly, so
    history is right also outside a request: in tasks, commands and tests)."""
    obj._history_user = actor
    obj._change_reason = reason


def _reason_check(reason: str, *, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise _refuse(
            field,
            _("Keep the reason to %(max)s characters at most (now %(count)s).")
            % {"max": REASON_MAX_LENGTH, "count": len(reason)},
            "reason_too_long",
        )
    return reason


def _period_add(card: Card, *, cause: str, start: datetime.date, end: datetime.date, actor: User | None) -> None:
    """Append a validity period and make it the card's current validity (the caller saves the card)."""
    ValidityPeriod.objects.create(
        card=card, valid_from=start, valid_until=end, cause=cause, site_id=card.site_id, created_by=actor
    )
    card.valid_from, card.valid_until = start, end


def _period_end(card: Card, *, on: datetime.date) -> None:
    """An inactivation ends the periods that still run on ``on``; their dates stay as they were."""
    card.periods.filter(valid_from__lte=on, valid_until__gte=on, ended_on__isnull=True).update(ended_on=on)


def _check(holder: Holder) -> None:
    invariants.holder_invariants_check(holder=holder)


# --- holders -------------------------------------------------------------------------


def holder_data_validate(*, data: HolderData, today: datetime.date | None = None) -> None:
    today = today or timezone.localdate()
    errors: dict[str, list[ValidationError]] = {}

    def add(field, message, code):
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if not re.fullmatch(r"[0-9]{5}", data.postal_code or ""):
        add("postal_code", _("Enter a postal code of five digits, e.g. 00100."), "postal_code_format")
    if data.municipality is None:
        add("municipality", _("Choose the holder's home municipality."), "municipality_required")
    if data.kind == Holder.Kind.CUSTOMER:
        if data.birth_year is None:
            add("birth_year", _("Enter the year of birth."), "birth_year_required")
        elif data.birth_year > today.year or data.birth_year < today.year - 120:
            add(
                "birth_year",
                _("Enter a year of birth between %(low)s and %(high)s.")
                % {"low": today.year - 120, "high": today.year - MINIMUM_AGE},
                "birth_year_range",
            )
        elif today.year - data.birth_year < MINIMUM_AGE:
            # The rule counts calendar years: whoever turns 16 this year is eligible.
            add(
                "birth_year",
                _(
                    "A card can be given to customers who are at least 16 or turn 16 this year (born %(year)s or earlier)."
                )
                % {"year": today.year - MINIMUM_AGE},
                "too_young",
            )
        if data.children_count is None:
            add("children_count", _("Enter the number of children under 18 (0 if none)."), "children_required")
        elif not 0 <= data.children_count <= MAX_CHILDREN:
            add(
                "children_count",
                _("Enter a number between 0 and %(max)s.") % {"max": MAX_CHILDREN},
                "children_range",
            )
        if data.organisation_name or data.representative_role:
            add("kind", _("Organisation details are only for organisation cards."), "organisation_fields_for_customer")
    elif data.kind == Holder.Kind.ORGANISATION:
        if not (data.organisation_name or "").strip():
            add("organisation_name", _("Enter the organisation's name."), "organisation_name_required")
        if not (data.representative_role or "").strip():
            add(
                "representative_role",
                _("Enter the representative's work role, e.g. social counsellor."),
                "representative_role_required",
            )
    else:
        add("kind", _("Choose whether the card is for a customer or an organisation."), "holder_kind_required")
    for name, limit in [("organisation_name", 200), ("representative_role", 200)]:
        if len(getattr(data, name) or "") > limit:
            add(name, _("Keep this to %(max)s characters at most.") % {"max": limit}, "too_long")
    if errors:
        raise ValidationError(errors)


def _holder_apply(holder: Holder, data: HolderData) -> None:
    for name in HolderData.__dataclass_fields__:
        setattr(holder, name, getattr(data, name))
    if holder.kind == Holder.Kind.ORGANISATION:
        holder.birth_year = holder.children_count = None
        holder.gender = holder.life_situation = ""
    else:
        holder.organisation_name = holder.representative_role = ""


def _email_normalize(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise _refuse("email", _("Enter a valid email address, e.g. name@example.fi."), "email_invalid") from None
    if len(email) > 254:
        raise _refuse("email", _("Enter a valid email address, e.g. name@example.fi."), "email_invalid")
    return email


def _holder_by_email(email: str) -> Holder | None:
    """The holder whose OmaKaiku login this address is, refusing staff logins."""
    user = User.objects.filter(email=email).first()
    if user is None:
        return None
    if user.kind != User.Kind.HOLDER:
        # An address belongs to one side only: Kaikukanta users have no OmaKaiku.
        raise _refuse(
            "email",
            _(
                "This address is a Kaikukanta staff login and cannot be used for OmaKaiku. Use the holder's personal email."
            ),
            "email_is_staff_login",
        )
    return Holder.objects.select_related("account").filter(account=user).first()


def _user_create_holder(*, email: str, language: str) -> User:
    """A holder login without a password; two distributors typing the same new address at the
    same moment get one account and one form error, never a crash."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, kind=User.Kind.HOLDER, language=language)
            # allauth finds logins and reset requests through EmailAddress rows; the distributor
            # saw the address typed by its owner, and the invitation link proves it works.
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    except IntegrityError:
        raise _refuse(
            "email", _("This email address is already in use. Ask the holder for another address."), "email_in_use"
        ) from None
    return user


def holder_omakaiku_activate(
    *, holder: Holder, email: str, language: str, actor: User | None, mobile: bool = False
) -> bool:
    """Give the holder an OmaKaiku account and send the invitation. Returns True if an invitation goes out.
    ``mobile``: the holder's card gets its mobile card in the same step, after this (the mail says
    how to open it).

    The account has no usable password: the holder sets one through the invitation link.
    Callers have checked that the actor manages the holder.
    """
    email = _email_normalize(email)
    if holder.account_id:
        if holder.account.email != email:
            raise _refuse(
                "email",
                _("This holder already has OmaKaiku with another email address. Use that address."),
                "omakaiku_other_email",
            )
        if holder.account.awaits_password:
            # Invited before but never logged in: the earlier link may have expired, and a new
            # card is when the holder needs OmaKaiku. (Every earlier link stops working.)
            omakaiku_invite(holder=holder, actor=actor, mobile=mobile)
            return True
        return False
    owner = _holder_by_email(email)
    if owner is not None and owner.pk != holder.pk:
        raise _refuse(
            "email", _("This email address is already in use. Ask the holder for another address."), "email_in_use"
        )
    if User.objects.filter(email=email).exists():
        raise _refuse("email", _("This email address is already in use."), "email_in_use")
    holder.account = _user_create_holder(email=email, language=language)
    _audit(holder, actor=actor, reason=REASON_OMAKAIKU)
    holder.save()
    omakaiku_invite(holder=holder, actor=actor, mobile=mobile)
    return True


def omakaiku_invite(*, holder: Holder, actor: User | None, address_changed: bool = False, mobile: bool = False) -> None:
    """(Re)send the OmaKaiku invitation; every earlier link stops working. ``address_changed``:
    the holder used OmaKaiku before, and the mail says their address was changed to this one.
    ``mobile``: the card's mobile card is being enabled in the same step (not saved yet)."""
    user = holder.account
    if user is None:
        raise _refuse(None, _("OmaKaiku has not been activated for this holder."), "omakaiku_not_active")
    if user.activated_at is not None:
        raise _refuse(
            None,
            _("The holder has already set a password. They can use 'Forgotten password' on the login page."),
            "omakaiku_already_activated",
        )
    card = holder.cards.filter(status=Card.Status.ACTIVE).select_related("site__organisation").first()
    # Logged before the mail is queued (accounts.services.staff_invite says why).
    security_event("invitation.holder_sent", user=actor, invitee_id=user.pk, holder_id=holder.pk)
    user_invite(
        user=user,
        template=settings.HOLDER_INVITATION_TEMPLATE,
        # The site with its organisation, as every page names it: a unit's name alone
        # ("Aikuissosiaalityö") does not say who writes.
        context={
            "site_name": str(card.site) if card else "",
            "mobile": bool(card and (mobile or card.mobile_enabled or card.is_mobile_only)),
            "mobile_only": bool(card and card.is_mobile_only),
            "address_changed": address_changed,
        },
        url_name=settings.HOLDER_SET_PASSWORD_URL,
    )


def card_omakaiku_resend(*, card: Card, actor: User) -> None:
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.HOLDER)
        _ensure_editable(card)
        omakaiku_invite(holder=card.holder, actor=actor)


# --- cards ---------------------------------------------------------------------------


def _assign_number(prefix: str) -> str:
    # An UPDATE ... SET last_value = last_value + 1 is atomic in the database and locks the
    # row until commit, so two distributors never get the same number, and a number is
    # never handed out again even if its card is later inactivated.
    CardNumberCounter.objects.get_or_create(prefix=prefix)
    CardNumberCounter.objects.filter(prefix=prefix).update(last_value=F("last_value") + 1)
    value = CardNumberCounter.objects.get(prefix=prefix).last_value
    return f"{prefix}{value:0{ASSIGNED_NUMBER_DIGITS}d}"


def _printed_number_check(number: str) -> None:
    """Where only a printed number will do (a correction, a replacement): a number the system
    assigns is refused with that advice, not the registration's ("type only X or Z"), which the
    next try would see refused in its turn."""
    if re.fullmatch(ASSIGNED_NUMBER_REGEX, number):
        raise _refuse(
            "number",
            _("Numbers of the form X1234 or Z1234 are assigned by the system. Type the number printed on the card."),
            "number_reserved",
        )


def _kind_for_number(number: str) -> str:
    if number == "X":
        return Card.Kind.X
    if number == "Z":
        return Card.Kind.Z
    if not number:
        raise _refuse(
            "number", _("Enter the number printed on the card, or X or Z for a mobile-only card."), "number_required"
        )
    if re.fullmatch(ASSIGNED_NUMBER_REGEX, number):
        raise _refuse(
            "number",
            _(
                "Numbers of the form X1234 or Z1234 are assigned by the system. Type only X or Z for a mobile-only card."
            ),
            "number_reserved",
        )
    if not re.fullmatch(PHYSICAL_NUMBER_REGEX, number):
        raise _refuse(
            "number", _("A card number has 4–20 letters and digits, as printed on the card."), "number_format"
        )
    return Card.Kind.PHYSICAL


def _active_card(holder: Holder, exclude: Card | None = None) -> Card | None:
    if holder.pk is None:
        return None
    cards = holder.cards.filter(status=Card.Status.ACTIVE).select_related("site")
    if exclude is not None:
        cards = cards.exclude(pk=exclude.pk)
    return cards.first()


def _active_card_refusal(*, actor: User, active: Card, kind: str, field: str = "number") -> ValidationError:
    """Why a new card cannot be registered while the holder has ``active``.

    The actor's own card is named; another site's is not: its number, site and details are
    that site's business. The message says what the distributor can do instead. A refusal about
    the person goes next to ``field``, the one that identified them (the email typed).
    """
    if card_permits(actor, active, CardAction.VIEW):
        if kind == Card.Kind.X and active.kind == Card.Kind.PHYSICAL:
            # About the X typed in the number field: that is the field to change.
            return _refuse(
                "number",
                _(
                    "This customer has an active physical card (%(number)s). A mobile-only card requires giving it up: "
                    "inactivate that card first, or use Switch to mobile-only on its card page."
                )
                % {"number": active.number},
                "physical_card_active",
            )
        return _refuse(
            field,
            _(
                "This holder already has an active card (%(number)s). Renew it, or inactivate it before registering a new one."
            )
            % {"number": active.number},
            "active_card_exists",
        )
    if not active.site.is_active:
        return _refuse(
            field,
            _(
                "This person has an active card from a distributor that has closed. Ask your regional coordinator "
                "to move the card to your site; then you can renew or change it."
            ),
            "active_card_at_closed_site",
        )
    return _refuse(
        field,
        _(
            "This person has an active card from another distributor: it must be given up there first. "
            "Ask the person to contact the distributor that gave them the card."
        ),
        "active_card_elsewhere",
    )


def _check_card_rules(*, actor: User, kind: str, holder: Holder, data: HolderData, email: str, mobile: bool) -> None:
    """The card rules (docs/rules.md, "Cards") for a card about to be created."""
    errors: dict[str, list[ValidationError]] = {}
    if kind in (Card.Kind.X, Card.Kind.Z) and not email:
        errors["email"] = [
            ValidationError(
                _("A mobile-only card needs OmaKaiku: enter the holder's personal email address."),
                code="mobile_needs_omakaiku",
            )
        ]
    elif mobile and not email:
        errors["email"] = [
            ValidationError(
                _("A mobile card needs OmaKaiku: enter the holder's personal email address."),
                code="mobile_needs_omakaiku",
            )
        ]
    if kind == Card.Kind.Z and data.kind != Holder.Kind.ORGANISATION:
        errors["number"] = [
            ValidationError(
                _("Z cards are for organisations only. For a customer's mobile-only card type X."),
                code="z_for_customer",
            )
        ]
    if kind == Card.Kind.X and data.kind != Holder.Kind.CUSTOMER:
        errors["number"] = [
            ValidationError(
                _("X cards are for customers only. For an organisation's mobile-only card type Z."),
                code="x_for_organisation",
            )
        ]
    if errors:
        raise ValidationError(errors)
    active = _active_card(holder)
    if active is not None:
        raise _active_card_refusal(actor=actor, active=active, kind=kind)


def card_register(
    *,
    site: Site,
    actor: User,
    number: str,
    holder_data: HolderData,
    holder: Holder | None = None,
    email: str = "",
    mobile: bool = False,
    language: str = "fi",
    reason: str = "",
) -> Card:
    """Register a new card: a printed number, or ``X``/``Z`` for a mobile-only card.

    ``holder`` is given when the distributor starts from the holder's earlier card; otherwise
    a holder is found through their OmaKaiku email, or a new holder record is created.
    """
    _ensure_can_issue(actor, site)
    number = card_number_normalize(number)
    kind = _kind_for_number(number)
    holder_data_validate(data=holder_data)
    email = typed_email = _email_normalize(email) if email else ""
    if kind != Card.Kind.PHYSICAL:
        mobile = True

    with transaction.atomic():
        _site_lock_open(site)
        if holder is not None:
            if not holder_permits_new_card(actor, holder):
                raise PermissionDenied
            holder = _locked(Holder.objects.select_related("account"), holder.pk)
            if holder.kind != holder_data.kind:
                raise _refuse(
                    "kind", _("The holder type of an existing holder cannot be changed."), "holder_kind_fixed"
                )
            if not email and holder.account_id:
                # Kept for the rules below (a mobile card needs OmaKaiku); no new invitation.
                email = holder.account.email
                typed_email = ""
        elif email:
            holder = _holder_by_email(email)
            if holder is not None:
                holder = _locked(Holder.objects.select_related("account"), holder.pk)
                active = _active_card(holder)
                if active is not None:
                    raise _active_card_refusal(actor=actor, active=active, kind=kind, field="email")
                if holder.kind != holder_data.kind:
                    # Said without the holder type: the address is somebody else's business.
                    raise _refuse(
                        "email",
                        _("This email address is already used by another OmaKaiku account. Ask for another address."),
                        "email_in_use",
                    )
        if holder is None:
            holder = Holder()
        _check_card_rules(actor=actor, kind=kind, holder=holder, data=holder_data, email=email, mobile=mobile)

        if kind == Card.Kind.PHYSICAL and Card.objects.filter(number=number).exists():
            raise _refuse(
                "number", _("Card number %(number)s is already registered.") % {"number": number}, "number_taken"
            )

        _holder_apply(holder, holder_data)
        _audit(holder, actor=actor, reason=reason or REASON_REGISTERED)
        holder.save()

        today = timezone.localdate()
        valid_from, valid_until = validity_period(today)
        card = Card(
            number=_assign_number(kind.upper()) if kind != Card.Kind.PHYSICAL else number,
            kind=kind,
            holder=holder,
            site=site,
            issued_on=today,
            valid_from=valid_from,
            valid_until=valid_until,
            mobile_enabled=mobile,
        )
        _audit(card, actor=actor, reason=reason or REASON_REGISTERED)
        try:
            # The savepoint lets us turn a lost race into a form error instead of a 500.
            with transaction.atomic():
                card.save()
        except IntegrityError:
            if Card.objects.filter(number=card.number).exists():
                raise _refuse(
                    "number",
                    _("Card number %(number)s is already registered.") % {"number": card.number},
                    "number_taken",
                ) from None
            raise _refuse(
                "number",
                _("This holder already has an active card. Renew it, or inactivate it first."),
                "active_card_exists",
            ) from None
        _period_add(card, cause=ValidityPeriod.Cause.REGISTERED, start=valid_from, end=valid_until, actor=actor)
        if typed_email:
            holder_omakaiku_activate(holder=holder, email=email, language=language, actor=actor)
        _check(holder)
    return card


def card_update(*, card: Card, actor: User, holder_data: HolderData, number: str | None = None, reason: str) -> bool:
    """Correct the details of an active card (a typo, a new postal code, a child born).

    Returns whether anything changed: the same details saved again write no history line."""
    holder_data_validate(data=holder_data)
    reason = _reason_check(reason)
    if not reason:
        raise _refuse("reason", _("Say briefly why the details change, e.g. 'typo in postal code'."), "reason_required")
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.VIEW)
        _ensure_editable(card)
        card_require(actor, card, CardAction.HOLDER)
        holder = card.holder
        if holder_data.kind != holder.kind:
            raise _refuse(
                "kind", _("The holder type cannot be changed. Register a new card instead."), "holder_kind_fixed"
            )
        before = _field_values(holder)
        _holder_apply(holder, holder_data)
        changed = _field_values(holder) != before
        if changed:
            _audit(holder, actor=actor, reason=reason)
            holder.save()
        if number is not None and card.kind == Card.Kind.PHYSICAL:
            number = card_number_normalize(number)
            if number != card.number:
                _printed_number_check(number)
                if _kind_for_number(number) != Card.Kind.PHYSICAL:
                    raise _refuse(
                        "number",
                        _(
                            "A physical card's number cannot be changed to X or Z. A mobile-only card requires giving "
                            "this card up: inactivate it and register a new card with X (a customer) or Z (an "
                            "organisation). For a customer, Switch to mobile-only on the card's page does both."
                        ),
                        "number_reserved",
                    )
                if Card.objects.filter(number=number).exists():
                    raise _refuse(
                        "number",
                        _("Card number %(number)s is already registered.") % {"number": number},
                        "number_taken",
                    )
                card.number = number
                changed = True
                _audit(card, actor=actor, reason=reason)
                try:
                    with transaction.atomic():
                        card.save()
                except IntegrityError:
                    raise _refuse(
                        "number",
                        _("Card number %(number)s is already registered.") % {"number": card.number},
                        "number_taken",
                    ) from None
        _check(holder)
    return changed


def _field_values(instance: models.Model) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def card_renewal_period(*, card: Card, on: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """The validity period a renewal on ``on`` adds: 12 months from that day, never from the old
    expiry date. None for a card that already runs 12 months from that day (registered or renewed
    then). A card replaced or reactivated that day also starts then, but only runs to the old
    card's last day: it is renewed."""
    period = validity_period(on)
    if card.valid_from == on and card.valid_until >= period[1]:
        return None
    return period


def card_change_check(*, card: Card) -> None:
    """Raise the refusal any change of ``card`` (edit, renewal, OmaKaiku, switch) would meet, so
    that its page can say it before anyone fills it in (each service checks again under its lock)."""
    _ensure_editable(card)


def card_renew_check(*, card: Card) -> None:
    """Raise the refusal a renewal of ``card`` would meet (``card_renew`` checks again under its lock)."""
    card_change_check(card=card)


def card_omakaiku_check(*, card: Card) -> None:
    """Raise the refusal ``card_omakaiku_activate`` would meet before anything is typed: an
    inactive card, or a holder with OmaKaiku whose card has the mobile card already."""
    card_change_check(card=card)
    if card.holder.account_id and card.mobile_enabled:
        raise _omakaiku_nothing_to_do()


def _omakaiku_nothing_to_do() -> ValidationError:
    return _refuse(
        None,
        _("The holder has OmaKaiku and the card's mobile card is enabled: there is nothing to change."),
        "omakaiku_nothing_to_do",
    )


def card_replace_check(*, card: Card) -> None:
    """Raise the refusal a replacement of ``card`` would meet before a new number is typed: an
    inactive card, a mobile-only card (nothing printed to replace) or an expired one (renewed
    first). ``card_replace`` checks again under its lock, with the site's being open."""
    card_change_check(card=card)
    if card.kind != Card.Kind.PHYSICAL:
        raise _refuse(None, _("A mobile-only card has no printed card to replace."), "replace_not_physical")
    if card.is_expired(timezone.localdate()):
        raise _refuse(None, _("This card has expired. Renew it first, then replace it."), "card_expired")


def card_inactivate_check(*, card: Card) -> None:
    """Raise the refusal an inactivation of ``card`` would meet (``card_inactivate`` checks again
    under its lock)."""
    if card.status == Card.Status.INACTIVE:
        raise _refuse(None, _("This card is already inactive."), "card_inactive")


def card_renew(*, card: Card, actor: User) -> Card:
    """Renew for 12 months from today, never from the old expiry date: a new validity period."""
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.VIEW)
        card_renew_check(card=card)
        period = card_renewal_period(card=card, on=timezone.localdate())
        if period is None:
            # It runs 12 months from today already (registered or renewed today), as asked.
            return card
        start, end = period
        _period_add(card, cause=ValidityPeriod.Cause.RENEWED, start=start, end=end, actor=actor)
        _audit(card, actor=actor, reason=REASON_RENEWED)
        card.save()
        _check(card.holder)
    return card


def _inactivate(card: Card, *, actor: User | None, reason: str, note: str, history_reason: str) -> None:
    today = timezone.localdate()
    card.status = Card.Status.INACTIVE
    card.inactivation_reason = reason
    card.inactivation_note = note
    card.inactivated_on = today
    _period_end(card, on=today)
    _audit(card, actor=actor, reason=history_reason)
    card.save()
    if card.holder.account_id:
        # Whoever is logged in to OmaKaiku sees the card's new state only after logging in again.
        user_sessions_end(user=card.holder.account)


def cards_renew(*, cards: list[Card], actor: User) -> list[Card]:
    """Renew every card or none (the expiry work list's "Renew selected"), in one transaction.

    A refusal names the card it stopped at; nothing of the selection is renewed then."""
    renewed = []
    with transaction.atomic():
        for card in cards:
            try:
                renewed.append(card_renew(card=card, actor=actor))
            except ValidationError as error:
                raise ValidationError(
                    _("Nothing was renewed. Card %(number)s could not be renewed: %(reason)s"),
                    code="renew_refused",
                    params={"number": card.number, "reason": " ".join(error.messages)},
                ) from error
            except PermissionDenied:
                # Moved to another site since the list was shown.
                raise ValidationError(
                    _("Nothing was renewed. Card %(number)s could not be renewed: %(reason)s"),
                    code="renew_not_permitted",
                    params={"number": card.number, "reason": _("Your site can no longer change this card.")},
                ) from None
    return renewed


def card_inactivate(
    *, card: Card, actor: User, reason: str, note: str = "", history_reason: str = REASON_INACTIVATED
) -> Card:
    """Inactivate with a reason: by the card's site, or by a Kaikukeskus admin (admin action)."""
    if reason not in Card.InactivationReason.values or reason == Card.InactivationReason.DORMANT:
        raise _refuse("reason", _("Choose why the card is inactivated."), "inactivation_reason_required")
    note = (note or "").strip()
    if reason == Card.InactivationReason.OTHER and not note:
        raise _refuse("note", _("Describe the reason briefly."), "inactivation_note_required")
    if len(note) > NOTE_MAX_LENGTH:
        raise _refuse(
            "note", _("Keep the note to %(max)s characters at most.") % {"max": NOTE_MAX_LENGTH}, "note_too_long"
        )
    history_reason = _reason_check(history_reason)
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.VIEW, CardAction.ADMIN)
        card_inactivate_check(card=card)
        _inactivate(card, actor=actor, reason=reason, note=note, history_reason=history_reason)
        _check(card.holder)
    return card


def card_reactivate(*, card: Card, actor: User, reason: str = "") -> Card:
    """Undo an inactivation. Only a Kaikukeskus admin may, and only while the holder has no other
    active card, the card's site is open and, for a mobile card, the holder still has OmaKaiku.

    The card gets a new validity period from today to its old last valid day; a card whose
    validity ran out meanwhile comes back expired, to be renewed by its site.
    """
    if not is_admin(actor):
        raise PermissionDenied
    reason = _reason_check(reason) or REASON_REACTIVATED
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.ADMIN)
        if card.status == Card.Status.ACTIVE:
            raise _refuse(None, _("This card is already active."), "card_active")
        other = _active_card(card.holder, exclude=card)
        if other is not None:
            raise _refuse(
                None,
                _("The holder has another active card (%(number)s); a holder can have only one.")
                % {"number": other.number},
                "active_card_exists",
            )
        if (card.is_mobile_only or card.mobile_enabled) and card.holder.account_id is None:
            raise _refuse(
                None,
                _(
                    "This is a mobile card and the holder no longer has OmaKaiku. Register a new card for the holder instead."
                ),
                "mobile_needs_omakaiku",
            )
        if not card.site.is_active:
            raise _refuse(
                None,
                _(
                    "The card's site has closed, and an inactive card is not moved. Register a new card for the holder at an open site instead."
                ),
                "site_closed",
            )
        today = timezone.localdate()
        card.status = Card.Status.ACTIVE
        card.inactivation_reason = card.inactivation_note = ""
        card.inactivated_on = None
        if card.valid_until >= today:
            _period_add(card, cause=ValidityPeriod.Cause.REACTIVATED, start=today, end=card.valid_until, actor=actor)
        _audit(card, actor=actor, reason=reason)
        try:
            # Another card may have become active for the holder a moment ago.
            with transaction.atomic():
                card.save()
        except IntegrityError:
            raise _refuse(
                None, _("The holder has another active card; a holder can have only one."), "active_card_exists"
            ) from None
        _check(card.holder)
    return card


def card_omakaiku_activate(*, card: Card, actor: User, email: str = "", mobile: bool, language: str = "fi") -> Card:
    """Activate OmaKaiku for the card's holder and/or enable the mobile card on a physical card."""
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.VIEW)
        _ensure_editable(card)
        card_require(actor, card, CardAction.HOLDER)
        holder = card.holder
        if not holder.account_id:
            if not email:
                raise _refuse("email", _("Enter the holder's personal email address for OmaKaiku."), "email_required")
            holder_omakaiku_activate(
                holder=holder, email=email, language=language, actor=actor, mobile=mobile and not card.is_mobile_only
            )
        elif card.mobile_enabled:
            raise _omakaiku_nothing_to_do()
        elif not mobile:
            # Saved with the box unticked would change nothing and say nothing.
            raise _refuse("mobile", _("Tick the box to enable the mobile card."), "mobile_not_chosen")
        if mobile and not card.mobile_enabled:
            card.mobile_enabled = True
            _audit(card, actor=actor, reason=REASON_MOBILE)
            card.save()
        _check(holder)
    return card


def card_switch_check(*, card: Card) -> None:
    """Raise the refusal a switch of ``card`` to mobile-only would meet before anything is typed
    (``card_switch_to_mobile_only`` checks again under its lock): only a customer's physical card
    has a physical card to give up for an X card."""
    card_change_check(card=card)
    if card.kind != Card.Kind.PHYSICAL:
        raise _refuse(None, _("This card is a mobile-only card already."), "switch_not_physical_customer")
    if card.holder.kind != Holder.Kind.CUSTOMER:
        raise _refuse(
            None,
            _(
                "Only a customer's card can be switched to a mobile-only X card. For an organisation, "
                "inactivate this card and register a Z card for the organisation."
            ),
            "switch_not_physical_customer",
        )


def card_switch_to_mobile_only(*, card: Card, actor: User, email: str = "", language: str = "fi") -> Card:
    """Procedure 6 as one action: give up the physical card and create an X card with OmaKaiku.

    Both steps happen in one transaction, so the customer is never left with no card or two.
    """
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.VIEW)
        _ensure_editable(card)
        card_require(actor, card, CardAction.HOLDER)
        card_switch_check(card=card)
        holder = card.holder
        if not email and holder.account_id:
            email = holder.account.email
        if not email:
            raise _refuse(
                "email",
                _("A mobile-only card needs OmaKaiku: enter the holder's personal email address."),
                "mobile_needs_omakaiku",
            )
        # The reason stays a code and the history a source string, so every reader sees them
        # in their own language.
        _inactivate(card, actor=actor, reason=Card.InactivationReason.GIVEN_UP, note="", history_reason=REASON_SWITCHED)
        return card_register(
            site=card.site,
            actor=actor,
            number="X",
            holder=holder,
            holder_data=HolderData.from_holder(holder),
            email=email,
            language=language,
            reason=REASON_SWITCHED,
        )


def _user_history_scrub(user: User) -> None:
    """Earlier addresses of a login are personal data that is no longer needed: history keeps
    that the address changed, not what it was."""
    User.history.filter(id=user.pk).exclude(email=user.email).update(email="")


def card_omakaiku_email_change(*, card: Card, actor: User, email: str, language: str = "") -> Card:
    """Move the holder's OmaKaiku login to a new address: a new invitation goes there, and the
    old address, its links and its sessions stop working at once."""
    email = _email_normalize(email)
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.VIEW)
        _ensure_editable(card)
        card_require(actor, card, CardAction.HOLDER)
        holder = card.holder
        user = holder.account
        if user is None:
            raise _refuse("email", _("OmaKaiku has not been activated for this holder."), "omakaiku_not_active")
        if user.email == email:
            raise _refuse("email", _("This is already the holder's address."), "email_unchanged")
        if User.objects.filter(email=email).exists():
            _holder_by_email(email)  # explains a staff address
            raise _refuse(
                "email", _("This email address is already in use. Ask the holder for another address."), "email_in_use"
            )
        old_address = user.email
        user.email = email
        user.language = language or user.language
        user.set_unusable_password()
        user.activated_at = None
        user._history_user = actor
        user._change_reason = REASON_EMAIL_CHANGED
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise _refuse(
                "email", _("This email address is already in use. Ask the holder for another address."), "email_in_use"
            ) from None
        _user_history_scrub(user)
        admin_log_address_forget(user_pk=user.pk, addresses=[old_address])
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        user_sessions_end(user=user)
        omakaiku_invite(holder=holder, actor=actor, address_changed=True)
        _audit(holder, actor=actor, reason=REASON_EMAIL_CHANGED)
        holder.save()
        _check(holder)
    return card


def _omakaiku_close(*, holder: Holder, actor: User | None, reason: str) -> None:
    user = holder.account
    for card in holder.cards.filter(mobile_enabled=True, kind=Card.Kind.PHYSICAL):
        card.mobile_enabled = False
        _audit(card, actor=actor, reason=REASON_MOBILE_OFF)
        card.save()
    holder.account = None
    _audit(holder, actor=actor, reason=reason)
    holder.save()
    user_erase(user=user)


def holder_omakaiku_close_check(*, holder: Holder) -> None:
    """Raise the refusal that closing the holder's OmaKaiku would meet, so that the page can say
    it before anyone confirms (the holder's active card is theirs to see: the caller manages them)."""
    if holder.account_id is None:
        raise _refuse(None, _("OmaKaiku has not been activated for this holder."), "omakaiku_not_active")
    mobile_only = holder.cards.filter(status=Card.Status.ACTIVE, kind__in=[Card.Kind.X, Card.Kind.Z]).first()
    if mobile_only is not None:
        raise _refuse(
            None,
            _("Card %(number)s is mobile-only and needs OmaKaiku. Inactivate it first.")
            % {"number": mobile_only.number},
            "mobile_only_needs_omakaiku",
        )


def card_omakaiku_close(*, card: Card, actor: User) -> Card:
    """Close the holder's OmaKaiku account and erase their email. A physical card's mobile
    card goes with it; a mobile-only card cannot exist without OmaKaiku.

    Only the managing site may: a site holding an old card of the holder must not switch off
    another site's mobile card.
    """
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.VIEW)
        _ensure_editable(card)
        card_require(actor, card, CardAction.HOLDER)
        holder = card.holder
        holder_omakaiku_close_check(holder=holder)
        _omakaiku_close(holder=holder, actor=actor, reason=REASON_OMAKAIKU_CLOSED)
        _check(holder)
    return Card.objects.get(pk=card.pk)


# A replacement's history reasons, stored as source strings like the others (translated when
# shown); the new number is not in them, as a stored reason with a number in it could not be
# translated. Both cards are the same site's, so each page lists the other under the holder's cards.
REASON_REPLACED = gettext_noop("Replaced by a new card")
REASON_REPLACEMENT = gettext_noop("Replacement for a lost or broken card")
REPLACE_REASONS = (Card.InactivationReason.LOST, Card.InactivationReason.BROKEN)


def card_replace(*, card: Card, actor: User, number: str, reason: str) -> Card:
    """A lost or broken physical card replaced in one step: the card is inactivated and the new
    printed number registered for the same holder at the same site, together or not at all.

    The holder's details, OmaKaiku and mobile card stay as they are (no new invitation). The new
    card continues the old one's validity, from today to the same last valid day, as a
    ``replaced`` period: a lost card neither lengthens nor shortens the holder's year, and
    statistics count it neither as a new card nor as a renewal.
    """
    if reason not in REPLACE_REASONS:
        raise _refuse("reason", _("Choose whether the card was lost or broken."), "replace_reason_required")
    number = card_number_normalize(number)
    _printed_number_check(number)
    if _kind_for_number(number) != Card.Kind.PHYSICAL:
        raise _refuse(
            "number",
            _("Type the number printed on the new card. A mobile-only card is made with Switch to mobile-only."),
            "replace_needs_printed_number",
        )
    with transaction.atomic():
        # The card's own site only: the new card is printed and handed over there (the admin
        # has no replace action; a support call is passed to the site).
        card = _lock_for(actor, card, CardAction.VIEW)
        _ensure_editable(card)
        card_require(actor, card, CardAction.CHANGE)
        card_replace_check(card=card)
        today = timezone.localdate()
        # Read again under a lock of the site (as a registration does): a replacement made while
        # the site closes would leave the new card behind at the closed site.
        site_open = _site_locked_open(card.site)
        if not site_open:
            raise _refuse(
                None,
                _("The card's site has closed. Move the card to another site first, then replace it."),
                "site_closed",
            )
        if number == card.number:
            raise _refuse(
                "number",
                _("This is the number of the card being replaced. Type the number printed on the new card."),
                "number_same",
            )
        taken = _refuse(
            "number", _("Card number %(number)s is already registered.") % {"number": number}, "number_taken"
        )
        if Card.objects.filter(number=number).exists():
            raise taken
        holder = card.holder
        _inactivate(card, actor=actor, reason=reason, note="", history_reason=REASON_REPLACED)
        new = Card(
            number=number,
            kind=Card.Kind.PHYSICAL,
            holder=holder,
            site=card.site,
            issued_on=today,
            valid_from=today,
            valid_until=card.valid_until,
            mobile_enabled=card.mobile_enabled,
        )
        _audit(new, actor=actor, reason=REASON_REPLACEMENT)
        try:
            # Another distributor may have registered the same number a moment ago: a form error,
            # and the outer transaction takes the inactivation back with it.
            with transaction.atomic():
                new.save()
        except IntegrityError:
            if Card.objects.filter(number=number).exists():
                raise taken from None
            raise _refuse(
                None, _("The holder has another active card; a holder can have only one."), "active_card_exists"
            ) from None
        _period_add(new, cause=ValidityPeriod.Cause.REPLACED, start=today, end=card.valid_until, actor=actor)
        _check(holder)
    return new


# --- sites that close ------------------------------------------------------------------


def card_transfer(*, card: Card, to_site: Site, actor: User, reason: str = "") -> Card:
    """Move an active card to another distributor site, which manages the holder from now on.

    For a site that closes (a coordinator of its region, or an admin), or a holder who moved
    (an admin). The new site sees the card and holder from the move on; the history says who
    moved it and why.
    """
    reason = _reason_check(reason) or REASON_TRANSFERRED
    if not transfer_target_permitted(actor, to_site):
        raise _refuse("to_site", _("Choose an active distributor site of your region."), "transfer_target")
    with transaction.atomic():
        card = _lock_for(actor, card, CardAction.TRANSFER)
        if card.status != Card.Status.ACTIVE:
            raise _refuse(None, _("Only active cards are moved; an inactive card stays where it was."), "card_inactive")
        if card.site_id == to_site.pk:
            raise _refuse("to_site", _("The card is already at this site."), "transfer_same_site")
        card.site = to_site
        _audit(card, actor=actor, reason=reason)
        card.save()
        _check(card.holder)
    return card


def site_cards_transfer(*, from_site: Site, to_site: Site, actor: User, reason: str = "") -> int:
    """Move every active card of ``from_site`` to ``to_site`` in one transaction. Returns how many."""
    reason = _reason_check(reason) or REASON_TRANSFERRED
    if from_site.pk == to_site.pk:
        raise _refuse("to_site", _("Choose another site than the one that closes."), "transfer_same_site")
    moved = 0
    with transaction.atomic():
        if not site_transfer_permitted(
            actor,
            Site.objects.select_for_update(no_key=True, of=("self",))
            .select_related("municipality")
            .get(pk=from_site.pk),
        ):
            # An open site's staff still manage its holders (access.site_transfer_permitted).
            raise PermissionDenied
        # Locked as they are chosen: a second submit that waited for the first finds the cards
        # moved (none left, said plainly) rather than each one another site's (refused, a 403).
        cards = Card.objects.select_for_update(of=("self",)).filter(site=from_site, status=Card.Status.ACTIVE)
        for card in cards.order_by("pk"):
            card_transfer(card=card, to_site=to_site, actor=actor, reason=reason)
            moved += 1
    if not moved:
        # Moved already (a second tab, a second coordinator): saying "0 cards moved" to a
        # site would read as if that site had just taken over the holders.
        raise _refuse(None, _("The site has no active cards left to move."), "transfer_nothing_to_move")
    return moved


DORMANT_MONTHS = 24


def holders_dormant_erase(*, today: datetime.date | None = None) -> int:
    """Erase the OmaKaiku email of holders who have had no valid card for 24 months.

    A card counts as valid until its last valid day, or until it was inactivated. Cards still
    marked active but long expired are inactivated on the way, since without OmaKaiku a
    mobile card cannot stand. Returns the number of holders erased.
    """
    today = today or timezone.localdate()
    cutoff = add_months(today, -DORMANT_MONTHS)
    # NOT EXISTS, not NOT IN: PostgreSQL answers NOT IN over a subquery too large for its memory
    # by reading the whole subquery again for every holder (a million cards: hours, not seconds).
    # Valid within the 24 months: its last valid day is inside them, and it was not inactivated
    # before they began (an expired card inactivated later was no longer valid then). The day of
    # an inactivation is no valid day (a use on it is refused): the day before it was the last.
    valid_lately = Q(valid_until__gte=cutoff) & (Q(status=Card.Status.ACTIVE) | Q(inactivated_on__gt=cutoff))
    recent = Card.objects.filter(holder=OuterRef("pk")).filter(valid_lately)
    dormant = Holder.objects.filter(account__isnull=False).exclude(Exists(recent)).values_list("pk", flat=True)
    erased = 0
    for holder_id in list(dormant):
        with transaction.atomic():
            # Again under the locks (the cards first, as the card services take them, then the
            # holder): a card renewed, or OmaKaiku closed, since the selection keeps the holder;
            # a renewal that comes after this waits, and then finds the card inactive.
            active = list(Card.objects.select_for_update().filter(holder_id=holder_id, status=Card.Status.ACTIVE))
            holder = _locked(Holder.objects.select_related("account"), holder_id)
            if holder.account_id is None or Card.objects.filter(holder_id=holder_id).filter(valid_lately).exists():
                continue
            for card in active:
                card.holder = holder
                _inactivate(
                    card, actor=None, reason=Card.InactivationReason.DORMANT, note="", history_reason=REASON_DORMANT
                )
            _omakaiku_close(holder=holder, actor=None, reason=REASON_DORMANT)
            _check(holder)
        erased += 1
    return erased
