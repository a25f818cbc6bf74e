"""Every write to the card register goes through here.

Each service runs in one transaction, records who changed what and why in the
card's history, and sends email only after the transaction has committed
(an invitation for a card that was rolled back must never leave the building).
Refusals are ``ValidationError``s keyed by the form field they concern, so the
distributor sees the message next to what needs fixing.
"""

import calendar
import datetime
import re
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Municipality, Site, User
from accounts.permissions import distributor_sites
from accounts.services import user_erase, user_invite, user_sessions_end

from .models import ASSIGNED_NUMBER_REGEX, MAX_CHILDREN, PHYSICAL_NUMBER_REGEX, Card, CardNumberCounter, Holder

MINIMUM_AGE = 16

# History reasons the system writes are stored in the source language and translated
# when shown (cards.selectors), so each reader sees them in their own language.
REASON_REGISTERED = gettext_noop("Card registered")
REASON_OMAKAIKU = gettext_noop("OmaKaiku activated")
REASON_RENEWED = gettext_noop("Renewed")
REASON_INACTIVATED = gettext_noop("Inactivated")
REASON_REACTIVATED = gettext_noop("Reactivated by an administrator")
REASON_MOBILE = gettext_noop("Mobile card enabled")
REASON_SWITCHED = gettext_noop("Switched to mobile-only")
REASON_EMAIL_CHANGED = gettext_noop("OmaKaiku email changed")
REASON_OMAKAIKU_CLOSED = gettext_noop("OmaKaiku account closed")
REASON_MOBILE_OFF = gettext_noop("Mobile card disabled: OmaKaiku closed")
REASON_DORMANT = gettext_noop("No valid card for 24 months: OmaKaiku email erased")
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


def card_number_normalize(raw: str) -> str:
    """Card numbers are compared uppercased and without spaces or dashes, as printed numbers are
    often read aloud or typed in groups."""
    return re.sub(r"[\s-]+", "", raw or "").upper()


def add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def validity_period(start: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Twelve months from ``start``: the last valid day is the day before the same date a year on."""
    return start, add_months(start, settings.CARD_VALIDITY_MONTHS) - datetime.timedelta(days=1)


def _ensure_can_issue(actor: User, site: Site) -> None:
    if not distributor_sites(actor).filter(pk=site.pk).exists():
        raise PermissionDenied


def _ensure_can_manage(actor: User, card: Card) -> None:
    """Only the issuing site's staff change a card (renewal, too, happens where it was issued)."""
    _ensure_can_issue(actor, card.site)


def _ensure_editable(card: Card) -> None:
    if card.status == Card.Status.INACTIVE:
        raise ValidationError(
            _("This card is inactive and can no longer be changed. Register a new card for the holder instead.")
        )


def _lock(card: Card) -> Card:
    """Re-read the card under a row lock so two simultaneous changes cannot both pass the checks."""
    return Card.objects.select_for_update(of=("self",)).select_related("holder__account", "site").get(pk=card.pk)


def _audit(obj, *, actor: User, reason: str) -> None:
    """Who and why, for the history record the next save() writes (set explicitly, so
    history is right also outside a request: in tasks, commands and tests)."""
    obj._history_user = actor
    obj._change_reason = reason


# --- holders -------------------------------------------------------------------------


def holder_data_validate(*, data: HolderData, today: datetime.date | None = None) -> None:
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if not re.fullmatch(r"[0-9]{5}", data.postal_code or ""):
        add("postal_code", _("Enter a postal code of five digits, e.g. 00100."))
    if data.municipality is None:
        add("municipality", _("Choose the holder's home municipality."))
    if data.kind == Holder.Kind.CUSTOMER:
        if data.birth_year is None:
            add("birth_year", _("Enter the year of birth."))
        elif data.birth_year > today.year or data.birth_year < today.year - 120:
            add(
                "birth_year",
                _("Enter a year of birth between %(low)s and %(high)s.")
                % {"low": today.year - 120, "high": today.year - MINIMUM_AGE},
            )
        elif today.year - data.birth_year < MINIMUM_AGE:
            # The rule counts calendar years: whoever turns 16 this year is eligible.
            add(
                "birth_year",
                _(
                    "A card can be given to customers who are at least 16 or turn 16 this year (born %(year)s or earlier)."
                )
                % {"year": today.year - MINIMUM_AGE},
            )
        if data.children_count is None:
            add("children_count", _("Enter the number of children under 18 (0 if none)."))
        elif not 0 <= data.children_count <= MAX_CHILDREN:
            add("children_count", _("Enter a number between 0 and %(max)s.") % {"max": MAX_CHILDREN})
        if data.organisation_name or data.representative_role:
            add("kind", _("Organisation details are only for organisation cards."))
    elif data.kind == Holder.Kind.ORGANISATION:
        if not (data.organisation_name or "").strip():
            add("organisation_name", _("Enter the organisation's name."))
        if not (data.representative_role or "").strip():
            add("representative_role", _("Enter the representative's work role, e.g. social counsellor."))
    else:
        add("kind", _("Choose whether the card is for a customer or an organisation."))
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
        raise ValidationError({"email": _("Enter a valid email address, e.g. name@example.fi.")}) from None
    return email


def _holder_by_email(email: str) -> Holder | None:
    """The holder whose OmaKaiku login this address is, refusing staff logins."""
    user = User.objects.filter(email=email).first()
    if user is None:
        return None
    if user.kind != User.Kind.HOLDER:
        # An address belongs to one side only: Kaikukanta users have no OmaKaiku.
        raise ValidationError(
            {
                "email": _(
                    "This address is a Kaikukanta staff login and cannot be used for OmaKaiku. Use the holder's personal email."
                )
            }
        )
    return Holder.objects.select_related("account").filter(account=user).first()


def holder_omakaiku_activate(*, holder: Holder, email: str, language: str, actor: User) -> bool:
    """Give the holder an OmaKaiku account and send the invitation. Returns True if an invitation goes out.

    The account has no usable password: the holder sets one through the invitation link.
    """
    email = _email_normalize(email)
    if holder.account_id:
        if holder.account.email != email:
            raise ValidationError(
                {"email": _("This holder already has OmaKaiku with another email address. Use that address.")}
            )
        return False
    owner = _holder_by_email(email)
    if owner is not None and owner.pk != holder.pk:
        raise ValidationError({"email": _("This email address is already used by another Kaikukortti holder.")})
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": _("This email address is already in use.")})
    user = User.objects.create_user(email, kind=User.Kind.HOLDER, language=language)
    # allauth finds logins and reset requests through EmailAddress rows; the distributor
    # saw the address typed by its owner, and the invitation link proves it works.
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    holder.account = user
    _audit(holder, actor=actor, reason=REASON_OMAKAIKU)
    holder.save()
    omakaiku_invite(holder=holder, actor=actor)
    return True


def omakaiku_invite(*, holder: Holder, actor: User) -> None:
    """(Re)send the OmaKaiku invitation; every earlier link stops working."""
    user = holder.account
    if user is None:
        raise ValidationError(_("OmaKaiku has not been activated for this holder."))
    if user.activated_at is not None:
        raise ValidationError(
            _("The holder has already set a password. They can use 'Forgotten password' on the login page.")
        )
    card = holder.cards.filter(status=Card.Status.ACTIVE).select_related("site").first()
    user_invite(
        user=user,
        template=settings.HOLDER_INVITATION_TEMPLATE,
        context={"site_name": card.site.name if card else ""},
        url_name=settings.HOLDER_SET_PASSWORD_URL,
    )


def card_omakaiku_resend(*, card: Card, actor: User) -> None:
    _ensure_can_manage(actor, card)
    _ensure_editable(card)
    with transaction.atomic():
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


def _kind_for_number(number: str) -> str:
    if number == "X":
        return Card.Kind.X
    if number == "Z":
        return Card.Kind.Z
    if not number:
        raise ValidationError({"number": _("Enter the number printed on the card, or X or Z for a mobile-only card.")})
    if re.fullmatch(ASSIGNED_NUMBER_REGEX, number):
        raise ValidationError(
            {
                "number": _(
                    "Numbers of the form X1234 or Z1234 are assigned by the system. Type only X or Z for a mobile-only card."
                )
            }
        )
    if not re.fullmatch(PHYSICAL_NUMBER_REGEX, number):
        raise ValidationError({"number": _("A card number has 4–20 letters and digits, as printed on the card.")})
    return Card.Kind.PHYSICAL


def _active_card(holder: Holder, exclude: Card | None = None) -> Card | None:
    if holder.pk is None:
        return None
    cards = holder.cards.filter(status=Card.Status.ACTIVE)
    if exclude is not None:
        cards = cards.exclude(pk=exclude.pk)
    return cards.first()


def _check_card_rules(*, kind: str, holder: Holder, data: HolderData, email: str, mobile: bool) -> None:
    """The rules of DOMAIN.md's Cards section for a card about to be created."""
    errors: dict[str, list[str]] = {}
    if kind in (Card.Kind.X, Card.Kind.Z) and not email:
        errors["email"] = [_("A mobile-only card needs OmaKaiku: enter the holder's personal email address.")]
    if mobile and not email:
        errors["email"] = [_("A mobile card needs OmaKaiku: enter the holder's personal email address.")]
    if kind == Card.Kind.Z and data.kind != Holder.Kind.ORGANISATION:
        errors["number"] = [_("Z cards are for organisations only. For a customer's mobile-only card type X.")]
    if kind == Card.Kind.X and data.kind != Holder.Kind.CUSTOMER:
        errors["number"] = [_("X cards are for customers only. For an organisation's mobile-only card type Z.")]
    if errors:
        raise ValidationError(errors)
    active = _active_card(holder)
    if active is None:
        return
    if kind == Card.Kind.X and active.kind == Card.Kind.PHYSICAL:
        raise ValidationError(
            {
                "number": _(
                    "This customer has an active physical card (%(number)s). A mobile-only card requires giving it up: "
                    "inactivate that card first, or use Switch to mobile-only on its card page."
                )
                % {"number": active.number}
            }
        )
    raise ValidationError(
        {
            "number": _(
                "This holder already has an active card (%(number)s). Renew it, or inactivate it before registering a new one."
            )
            % {"number": active.number}
        }
    )


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
    email = _email_normalize(email) if email else ""
    if kind != Card.Kind.PHYSICAL:
        mobile = True

    with transaction.atomic():
        if holder is not None:
            holder = Holder.objects.select_for_update(of=("self",)).select_related("account").get(pk=holder.pk)
            if holder.kind != holder_data.kind:
                raise ValidationError({"kind": _("The holder type of an existing holder cannot be changed.")})
            if not email and holder.account_id:
                email = holder.account.email
        elif email:
            holder = _holder_by_email(email)
            if holder is not None and holder.kind != holder_data.kind:
                raise ValidationError({"email": _("This email address belongs to a holder of another type.")})
        if holder is None:
            holder = Holder()
        _check_card_rules(kind=kind, holder=holder, data=holder_data, email=email, mobile=mobile)

        if kind == Card.Kind.PHYSICAL and Card.objects.filter(number=number).exists():
            raise ValidationError({"number": _("Card number %(number)s is already registered.") % {"number": number}})

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
                raise ValidationError(
                    {"number": _("Card number %(number)s is already registered.") % {"number": card.number}}
                ) from None
            raise ValidationError(
                {"number": _("This holder already has an active card. Renew it, or inactivate it first.")}
            ) from None
        if email:
            holder_omakaiku_activate(holder=holder, email=email, language=language, actor=actor)
    return card


def card_update(*, card: Card, actor: User, holder_data: HolderData, number: str | None = None, reason: str) -> Card:
    """Correct the details of an active card (a typo, a new postal code, a child born)."""
    _ensure_can_manage(actor, card)
    holder_data_validate(data=holder_data)
    if not reason.strip():
        raise ValidationError({"reason": _("Say briefly why the details change, e.g. 'typo in postal code'.")})
    with transaction.atomic():
        card = _lock(card)
        _ensure_editable(card)
        holder = card.holder
        if holder_data.kind != holder.kind:
            raise ValidationError({"kind": _("The holder type cannot be changed. Register a new card instead.")})
        _holder_apply(holder, holder_data)
        _audit(holder, actor=actor, reason=reason)
        holder.save()
        if number is not None and card.kind == Card.Kind.PHYSICAL:
            number = card_number_normalize(number)
            if number != card.number:
                if _kind_for_number(number) != Card.Kind.PHYSICAL:
                    raise ValidationError({"number": _("A physical card's number cannot be changed to X or Z.")})
                if Card.objects.filter(number=number).exists():
                    raise ValidationError(
                        {"number": _("Card number %(number)s is already registered.") % {"number": number}}
                    )
                card.number = number
                _audit(card, actor=actor, reason=reason)
                try:
                    with transaction.atomic():
                        card.save()
                except IntegrityError:
                    raise ValidationError(
                        {"number": _("Card number %(number)s is already registered.") % {"number": card.number}}
                    ) from None
    return card


def card_renew(*, card: Card, actor: User) -> Card:
    """Renew for 12 months from today, never from the old expiry date (DOMAIN.md, decision)."""
    _ensure_can_manage(actor, card)
    with transaction.atomic():
        card = _lock(card)
        _ensure_editable(card)
        card.valid_from, card.valid_until = validity_period(timezone.localdate())
        _audit(card, actor=actor, reason=REASON_RENEWED)
        card.save()
    return card


def card_inactivate(*, card: Card, actor: User, reason: str, note: str = "") -> Card:
    _ensure_can_manage(actor, card)
    if reason not in Card.InactivationReason.values:
        raise ValidationError({"reason": _("Choose why the card is inactivated.")})
    if reason == Card.InactivationReason.OTHER and not note.strip():
        raise ValidationError({"note": _("Describe the reason briefly.")})
    with transaction.atomic():
        card = _lock(card)
        if card.status == Card.Status.INACTIVE:
            raise ValidationError(_("This card is already inactive."))
        card.status = Card.Status.INACTIVE
        card.inactivation_reason = reason
        card.inactivation_note = note.strip()
        card.inactivated_on = timezone.localdate()
        _audit(card, actor=actor, reason=REASON_INACTIVATED)
        card.save()
        if card.holder.account_id:
            # Whoever is logged in to OmaKaiku sees the card's new state only after logging in again.
            user_sessions_end(user=card.holder.account)
    return card


def card_reactivate(*, card: Card, actor: User, reason: str) -> Card:
    """Undo an inactivation. Only a Kaikukeskus admin may, and only while the holder has no other active card."""
    if not (actor.is_staff and actor.is_kaikukanta_user):
        raise PermissionDenied
    with transaction.atomic():
        card = _lock(card)
        if card.status == Card.Status.ACTIVE:
            raise ValidationError(_("This card is already active."))
        other = _active_card(card.holder, exclude=card)
        if other is not None:
            raise ValidationError(
                _("The holder has another active card (%(number)s); a holder can have only one.")
                % {"number": other.number}
            )
        card.status = Card.Status.ACTIVE
        card.inactivation_reason = card.inactivation_note = ""
        card.inactivated_on = None
        _audit(card, actor=actor, reason=reason or REASON_REACTIVATED)
        card.save()
    return card


def card_omakaiku_activate(*, card: Card, actor: User, email: str = "", mobile: bool, language: str = "fi") -> Card:
    """Activate OmaKaiku for the card's holder and/or enable the mobile card on a physical card."""
    _ensure_can_manage(actor, card)
    with transaction.atomic():
        card = _lock(card)
        _ensure_editable(card)
        holder = card.holder
        if not holder.account_id:
            if not email:
                raise ValidationError({"email": _("Enter the holder's personal email address for OmaKaiku.")})
            holder_omakaiku_activate(holder=holder, email=email, language=language, actor=actor)
        if mobile and not card.mobile_enabled:
            card.mobile_enabled = True
            _audit(card, actor=actor, reason=REASON_MOBILE)
            card.save()
    return card


def card_switch_to_mobile_only(*, card: Card, actor: User, email: str = "", language: str = "fi") -> Card:
    """Procedure 6 as one action: give up the physical card and create an X card with OmaKaiku.

    Both steps happen in one transaction, so the customer is never left with no card or two.
    """
    _ensure_can_manage(actor, card)
    with transaction.atomic():
        card = _lock(card)
        _ensure_editable(card)
        if card.kind != Card.Kind.PHYSICAL or card.holder.kind != Holder.Kind.CUSTOMER:
            raise ValidationError(_("Only a customer's physical card can be switched to a mobile-only X card."))
        holder = card.holder
        if not email and holder.account_id:
            email = holder.account.email
        if not email:
            raise ValidationError(
                {"email": _("A mobile-only card needs OmaKaiku: enter the holder's personal email address.")}
            )
        card_inactivate(
            card=card, actor=actor, reason=Card.InactivationReason.GIVEN_UP, note=_("Switched to mobile-only")
        )
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


def card_omakaiku_email_change(*, card: Card, actor: User, email: str, language: str = "fi") -> Card:
    """Move the holder's OmaKaiku login to a new address: a new invitation goes there, and the
    old address, its links and its sessions stop working at once."""
    _ensure_can_manage(actor, card)
    email = _email_normalize(email)
    with transaction.atomic():
        card = _lock(card)
        _ensure_editable(card)
        holder = card.holder
        user = holder.account
        if user is None:
            raise ValidationError({"email": _("OmaKaiku has not been activated for this holder.")})
        if user.email == email:
            raise ValidationError({"email": _("This is already the holder's address.")})
        if User.objects.filter(email=email).exists():
            _holder_by_email(email)  # explains a staff address
            raise ValidationError({"email": _("This email address is already used by another Kaikukortti holder.")})
        user.email = email
        user.language = language or user.language
        user.set_unusable_password()
        user.activated_at = None
        user._history_user = actor
        user._change_reason = REASON_EMAIL_CHANGED
        user.save()
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
        user_sessions_end(user=user)
        omakaiku_invite(holder=holder, actor=actor)
        _audit(holder, actor=actor, reason=REASON_EMAIL_CHANGED)
        holder.save()
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


def card_omakaiku_close(*, card: Card, actor: User) -> Card:
    """Close the holder's OmaKaiku account and erase their email. A physical card's mobile
    card goes with it; a mobile-only card cannot exist without OmaKaiku."""
    _ensure_can_manage(actor, card)
    with transaction.atomic():
        card = _lock(card)
        holder = card.holder
        if holder.account_id is None:
            raise ValidationError(_("OmaKaiku has not been activated for this holder."))
        mobile_only = holder.cards.filter(status=Card.Status.ACTIVE, kind__in=[Card.Kind.X, Card.Kind.Z]).first()
        if mobile_only is not None:
            raise ValidationError(
                _("Card %(number)s is mobile-only and needs OmaKaiku. Inactivate it first.")
                % {"number": mobile_only.number}
            )
        _omakaiku_close(holder=holder, actor=actor, reason=REASON_OMAKAIKU_CLOSED)
    return Card.objects.get(pk=card.pk)


DORMANT_MONTHS = 24


def holders_dormant_erase(*, today: datetime.date | None = None) -> int:
    """Erase the OmaKaiku email of holders who have had no valid card for 24 months.

    A card counts as valid until its last valid day, or until it was inactivated. Cards still
    marked active but long expired are inactivated on the way, since without OmaKaiku a
    mobile card cannot stand. Returns the number of holders erased.
    """
    today = today or timezone.localdate()
    cutoff = add_months(today, -DORMANT_MONTHS)
    recent = Card.objects.filter(
        Q(status=Card.Status.ACTIVE, valid_until__gte=cutoff) | Q(inactivated_on__gte=cutoff)
    ).values("holder_id")
    erased = 0
    for holder in Holder.objects.filter(account__isnull=False).exclude(pk__in=recent).select_related("account"):
        with transaction.atomic():
            for card in holder.cards.filter(status=Card.Status.ACTIVE):
                card.status = Card.Status.INACTIVE
                card.inactivation_reason = Card.InactivationReason.OTHER
                card.inactivation_note = REASON_DORMANT
                card.inactivated_on = today
                _audit(card, actor=None, reason=REASON_DORMANT)
                card.save()
            _omakaiku_close(holder=holder, actor=None, reason=REASON_DORMANT)
        erased += 1
    return erased
