"""Writes for organisations, sites and staff accounts (see cards/services.py for the pattern)."""

import re
from collections.abc import Iterable

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import (
    SITE_CLOSED_NO_NEW_STAFF,
    InvitationDelivery,
    Municipality,
    Organisation,
    Region,
    Site,
    SiteMembership,
    User,
    name_tidy,
    name_validate,
)
from .permissions import coordinated_region_ids
from .security_log import security_event
from .tasks import send_invitation_email

STAFF_INVITATION_TEMPLATE = "account/email/staff_invitation"


def _ensure_coordinates(actor: User, region: Region) -> None:
    if not (actor.is_kaikukanta_user and (actor.is_superuser or region.pk in coordinated_region_ids(actor))):
        raise PermissionDenied


def site_create(
    *,
    actor: User,
    organisation_name: str,
    name: str,
    kind: str,
    municipality: Municipality,
    contact_phone: str = "",
    contact_email: str = "",
) -> Site:
    """A coordinator adds a distributor or venue site in a municipality of their own region."""
    _ensure_coordinates(actor, municipality.region)
    organisation_name, name = name_tidy(organisation_name), name_tidy(name)
    if not organisation_name:
        raise ValidationError(
            {"organisation_name": ValidationError(_("Enter the organisation's name."), code="organisation_required")}
        )
    try:
        name_validate(organisation_name)
    except ValidationError as error:
        raise ValidationError({"organisation_name": error}) from None
    if kind not in Site.Kind.values:
        raise ValidationError(
            {
                "kind": ValidationError(
                    _("Choose whether the site distributes cards or is a venue."), code="kind_invalid"
                )
            }
        )
    with transaction.atomic():
        organisation = _organisation_get_or_create(actor=actor, name=organisation_name)
        site = Site(
            organisation=organisation,
            name=name or organisation_name,
            kind=kind,
            municipality=municipality,
            contact_phone=contact_phone.strip(),
            contact_email=contact_email.strip().lower(),
        )
        site._history_user = actor
        site.clean_fields(exclude=["organisation", "municipality"])  # e.g. the phone, as the admin checks it
        try:
            with transaction.atomic():
                site.save()
        except IntegrityError:
            raise ValidationError(
                {"name": ValidationError(_("This organisation already has a site with this name."), code="site_exists")}
            ) from None
    return site


def _organisation_get_or_create(*, actor: User, name: str) -> Organisation:
    """The organisation of that name (any letter case), created if new.

    Two coordinators may add the first site of the same new organisation at the same moment:
    the unique index lets one insert win, and the other then finds the winner's row (on
    PostgreSQL the losing insert waits for the winner's commit, so the row is visible then).
    """
    organisation = Organisation.objects.filter(name__iexact=name).first()
    if organisation is not None:
        return organisation
    organisation = Organisation(name=name)
    organisation._history_user = actor
    try:
        with transaction.atomic():
            organisation.save()
    except IntegrityError:
        organisation = Organisation.objects.filter(name__iexact=name).first()
        if organisation is None:
            raise ValidationError(
                {
                    "organisation_name": ValidationError(
                        _("Another coordinator is adding this organisation right now. Try again in a moment."),
                        code="organisation_busy",
                    )
                }
            ) from None
    return organisation


STAFF_ADDRESS_REFUSED = gettext_lazy(
    "This address cannot be added to a site's staff. Ask for the person's work email address; if this is it, "
    "ask Kaikukeskus."
)


def staff_invite(*, actor: User, site: Site, email: str, language: str = "fi") -> User:
    """Add a staff person to a site. A new login, or one that has never set a password, gets a
    set-your-password email (``user.awaits_password`` tells the caller which happened); a person
    who already logs in simply works for one more site. Nobody is added to a closed site."""
    _ensure_coordinates(actor, site.municipality.region)
    if not site.is_active:
        raise ValidationError(SITE_CLOSED_NO_NEW_STAFF, code="site_closed")
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": ValidationError(_("Enter a valid email address, e.g. name@example.fi."), code="email_invalid")}
        ) from None
    with transaction.atomic():
        # Again under the site's lock: an administrator closing the site at this moment either
        # waits for this membership (and sees it among the staff) or makes this refusal.
        if not Site.objects.select_for_update().values_list("is_active", flat=True).get(pk=site.pk):
            raise ValidationError(SITE_CLOSED_NO_NEW_STAFF, code="site_closed")
        user = User.objects.select_for_update().filter(email=email).first()
        created = user is None
        if created:
            try:
                with transaction.atomic():
                    user = User.objects.create_user(email, kind=User.Kind.STAFF, language=language)
                    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
            except IntegrityError:
                # Made a moment ago by another request (an invitation to another site, or a
                # holder's OmaKaiku): the checks below judge the login as it is now.
                created = False
                user = User.objects.select_for_update().get(email=email)
        refusal = None
        if not created and user.kind != User.Kind.STAFF:
            refusal = "email_holder"  # one side only (models.HOLDER_NOT_STAFF)
        elif not created and user.is_staff:
            refusal = "email_admin"  # models.ADMIN_NOT_SITE_STAFF
        elif not created and not user.is_active:
            refusal = "login_switched_off"  # added, the person still could not log in
        if refusal:
            # One answer for the three: a cardholder's address told apart from the others would
            # tell a coordinator who holds a Kaikukortti (a client of social services). The log
            # keeps which it was, without the address.
            security_event("invitation.staff_refused", user=actor, site_id=site.pk, reason=refusal)
            raise ValidationError({"email": ValidationError(STAFF_ADDRESS_REFUSED, code=refusal)})
        if not created and SiteMembership.objects.filter(user=user, site=site).exists():
            raise ValidationError(
                {"email": ValidationError(_("This person already works for this site."), code="already_member")}
            )
        membership = SiteMembership(user=user, site=site)
        membership._history_user = actor
        membership.save()
        if user.awaits_password and user.language != language:
            # Nobody has logged in with it yet: the newest invitation's language is the person's.
            user.language = language
            user.save(update_fields=["language"])
        if user.awaits_password:
            # Logged first: after the commit the line is written before the mail is queued, and a
            # queue that fails then (the database lost) cannot keep a saved invitation out of the log.
            security_event("invitation.staff_sent", user=actor, invitee_id=user.pk, site_id=site.pk)
            user_invite(user=user, template=STAFF_INVITATION_TEMPLATE, context={"site_name": str(site)})
    return user


def staff_invitation_resend(*, actor: User, user: User) -> None:
    """A coordinator sends a staff member's invitation again (after a failed delivery, say).

    Only for a person working at a site of the coordinator's region who has not yet set a
    password; once they have, "Forgotten password" on the login page is the way. The invitation
    names an open site: one for a closed site only would be a login with no page to open.
    """
    if not (actor.is_kaikukanta_user and user.is_kaikukanta_user):
        raise PermissionDenied
    region_ids = None if actor.is_superuser else set(coordinated_region_ids(actor))
    sites = [
        site
        for site in Site.objects.filter(memberships__user=user)
        .select_related("municipality", "organisation")
        .order_by("name", "pk")
        if region_ids is None or site.municipality.region_id in region_ids
    ]
    if not sites:
        raise PermissionDenied
    sites = [site for site in sites if site.is_active]
    if not sites:
        raise ValidationError(_("This person's site has closed; no invitation can be sent for it."), code="site_closed")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.awaits_password:
            raise ValidationError(
                _("This person has already set a password. They can use 'Forgotten password' on the login page."),
                code="already_activated",
            )
        security_event("invitation.staff_sent", user=actor, invitee_id=user.pk, site_id=sites[0].pk, resend=True)
        user_invite(user=user, template=STAFF_INVITATION_TEMPLATE, context={"site_name": str(sites[0])})


def user_invite(*, user: User, template: str, context: dict, url_name: str = "account_reset_password_from_key") -> None:
    """Stamp a new invitation (older links stop working) and mail it once the transaction commits.

    ``url_name`` is the page where the password is set: allauth's for staff, OmaKaiku's for holders.
    """
    user.invited_at = timezone.now()
    user.save(update_fields=["invited_at"])
    InvitationDelivery.objects.update_or_create(
        user=user,
        defaults={"state": InvitationDelivery.State.QUEUED, "changed_at": user.invited_at, "attempts": 0, "error": ""},
    )
    invited_at = user.invited_at.isoformat()
    transaction.on_commit(
        lambda: send_invitation_email.enqueue(
            user_id=user.pk, template=template, context=context, url_name=url_name, invited_at=invited_at
        )
    )


def user_login_address_follow(*, user: User) -> None:
    """A staff login's address was changed (the national admin's user page): allauth's address
    rows follow. allauth finds logins and password-reset requests through them, so the old
    address would still log in, and could be given to another person's login as well."""
    verified = EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists()
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)


MAIL_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


def user_mail_language_set(*, user: User, language: str) -> None:
    """The language of a person's emails (``User.language``): invitations, password resets and
    reminders. Set by the person (OmaKaiku's settings, Kaikukanta's "Your account"), first chosen
    by whoever invited them."""
    if language not in MAIL_LANGUAGES:
        raise ValidationError({"language": ValidationError(_("Choose a language."), code="language_invalid")})
    if user.language != language:
        user.language = language
        user._history_user = user
        user.save(update_fields=["language"])


def user_sessions_end(*, user: User) -> None:
    """Log the user out everywhere (see ``User._get_session_auth_hash``)."""
    user.session_epoch += 1
    user.save(update_fields=["session_epoch"])


def user_erase(*, user: User) -> None:
    """Delete a login and every copy of its address, history included (the address is personal data)."""
    pk = user.pk
    # Every address the login ever had: the admin's log may have named it by any of them.
    addresses = {user.email, *User.history.filter(id=pk).values_list("email", flat=True)}
    EmailAddress.objects.filter(user=user).delete()
    user.delete()
    # Deleting wrote one more history row with the address; remove them all.
    User.history.filter(id=pk).delete()
    # The admin's log names a login by its address: the login's own lines ("recent actions").
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(pk)).update(
        object_repr=f"#{pk}"
    )
    admin_log_address_forget(user_pk=pk, addresses=addresses)


def admin_log_address_forget(*, user_pk: int, addresses: Iterable[str]) -> None:
    """Replace a login's addresses in the admin's log with its id: the lines of what named it
    (a membership is "address @ site", a change "Added site membership 'address @ site'"), in
    their names and messages. The address is personal data; the log keeps who did what."""
    for address in filter(None, set(addresses)):
        for entry in LogEntry.objects.filter(Q(object_repr__icontains=address) | Q(change_message__icontains=address)):
            entry.object_repr = _address_replaced(entry.object_repr, address, f"#{user_pk}")
            entry.change_message = _address_replaced(entry.change_message, address, f"#{user_pk}")
            entry.save(update_fields=["object_repr", "change_message"])


# An address stands alone in a text: not next to a character it could go on with (a@b.fi must
# not match inside aa@b.fi, nor inside a@b.fi.se). A quote before it is taken as a quote.
_ADDRESS_BEFORE = r"(?<![\w.!#$%&*+/=?^{|}~-])"
_ADDRESS_AFTER = r"(?![\w-]|\.[\w-])"


def _address_replaced(text: str, address: str, replacement: str) -> str:
    pattern = _ADDRESS_BEFORE + re.escape(address) + _ADDRESS_AFTER
    return re.sub(pattern, replacement, text, flags=re.IGNORECASE)


def membership_remove(*, actor: User, membership: SiteMembership) -> None:
    _ensure_coordinates(actor, membership.site.municipality.region)
    with transaction.atomic():
        membership._history_user = actor
        membership.delete()
        user = User.objects.select_for_update().get(pk=membership.user_id)
        if user.invitation_ended:
            # Invited for nothing now: a password set from the mail would open a login that no
            # site lists, which only a national admin could find. A new invitation sends a new link.
            user.invited_at = None
            user.save(update_fields=["invited_at"])
            InvitationDelivery.objects.filter(user=user).delete()
