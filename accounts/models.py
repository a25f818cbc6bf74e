import re
import unicodedata

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kaikukanta.history import HistoricalRecords

from .text import text_clean


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Emails are stored lowercased; logging in with any casing must find the user.
        return self.get(email=username.strip().lower())

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email.strip().lower(), **extra_fields)
        if password:
            user.set_password(password)
        else:
            # Invited people choose their own password through the invitation link.
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True, kind=User.Kind.STAFF)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. Staff log in to Kaikukanta, holders to OmaKaiku, never both.

    No names are stored: staff are known by their work email, holders by the
    personal email they gave for OmaKaiku (docs/rules.md, "What is stored").
    """

    class Kind(models.TextChoices):
        STAFF = "staff", _("Kaikukanta staff")
        HOLDER = "holder", _("OmaKaiku holder")

    email = models.EmailField(_("email address"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("Django admin access"),
        default=False,
        help_text=_(
            "Kaikukeskus admins only: every right in the Django admin, and every site's and region's cards "
            "and figures in Kaikukanta."
        ),
    )
    language = models.CharField(
        _("language for emails"),
        max_length=5,
        choices=settings.LANGUAGES,
        default="fi",
    )
    date_joined = models.DateTimeField(_("created"), default=timezone.now)
    invited_at = models.DateTimeField(
        _("invited"),
        null=True,
        blank=True,
        help_text=_("When the newest invitation was sent. Older invitation links stop working."),
    )
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    # Part of the session hash: raising it ends every session of the user at once,
    # without keeping a list of their sessions (or their IP addresses).
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
            models.CheckConstraint(condition=models.Q(kind__in=["staff", "holder"]), name="user_kind_valid"),
            # The Django admin is for Kaikukeskus staff; a holder can never be given it.
            models.CheckConstraint(
                condition=~(models.Q(kind="holder") & (models.Q(is_staff=True) | models.Q(is_superuser=True))),
                name="user_holder_not_admin",
            ),
            # One kind of administrator: the access policy gives a Kaikukeskus admin (is_staff)
            # every page and action, so Django's own permissions must say the same. Admin access
            # with only some permissions would hand out national powers nobody chose.
            models.CheckConstraint(
                condition=models.Q(is_superuser=models.F("is_staff")), name="user_admin_is_superuser"
            ),
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.email.strip().lower()
        if self.kind == User.Kind.HOLDER and (self.is_staff or self.is_superuser):
            # The user_holder_not_admin constraint, said as a form error wherever it is checked.
            raise ValidationError(_("A cardholder's login can never have administrator rights."), code="holder_admin")

    def save(self, *args, **kwargs):
        self.is_superuser = self.is_staff  # the user_admin_is_superuser constraint
        if kwargs.get("update_fields") is not None and "is_staff" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "is_superuser"}
        # A login stamps last_login only, a field the history leaves out: writing a history row
        # for it would fill the history with empty changes and make every login look like a
        # change to the register (the statistics cache watches this history).
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) <= {"last_login"}:
            self.skip_history_when_saving = True
            try:
                return super().save(*args, **kwargs)
            finally:
                del self.skip_history_when_saving
        return super().save(*args, **kwargs)

    def _get_session_auth_hash(self, secret=None):
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.session_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()

    @property
    def is_holder(self) -> bool:
        return self.kind == self.Kind.HOLDER

    @property
    def is_kaikukanta_user(self) -> bool:
        return self.kind == self.Kind.STAFF

    @property
    def awaits_password(self) -> bool:
        """Invited but not yet in: no password set through the invitation link (or otherwise)."""
        return self.activated_at is None and not self.has_usable_password()

    @property
    def invitation_ended(self) -> bool:
        """Invited as staff, then removed from every site (and region) before setting a password.

        Decided here, from the roles as they are, so that the rule holds however the last role
        went: the coordinator's page, the admin's delete (one, many, or with its site) or an
        inline. Its invitation or reset link must not open a login that no site lists."""
        return (
            self.kind == self.Kind.STAFF
            and not self.is_staff
            and self.awaits_password
            and not (self.memberships.exists() or self.coordinated_regions.exists())
        )

    @property
    def invitation(self) -> "InvitationDelivery | None":
        """The delivery state of the newest invitation email, if one was ever sent."""
        try:
            return self.invitation_delivery
        except InvitationDelivery.DoesNotExist:
            return None

    @property
    def invitation_state(self) -> str:
        """``queued``, ``sent`` or ``failed`` for the newest invitation; empty if there was none."""
        delivery = self.invitation
        return delivery.state if delivery else ""


class InvitationDelivery(models.Model):
    """Whether the newest invitation email of a login reached the mail server.

    Kept apart from ``User`` on purpose: a delivery attempt is not a change to the account,
    and a history row per attempt would bury the real changes. The error is the exception's
    class name only, never its text (an SMTP error repeats the address it refused).
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="invitation_delivery", verbose_name=_("user")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.CharField(_("error"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("invitation delivery")
        verbose_name_plural = _("invitation deliveries")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["queued", "sent", "failed"]), name="invitation_state_valid"
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.state}"

    @property
    def address_refused(self) -> bool:
        """Whether the mail server refused the address itself: a recipient refused for good (a
        5xx reply; ``accounts.tasks.mail_error_name``). Any other failure (the server down or
        unreachable, a recipient refused only for now) says nothing about the address: staff told
        to check it would change a right one."""
        name, _space, code = self.error.partition(" ")
        return name == "SMTPRecipientsRefused" and code.startswith("5")


def name_tidy(name: str) -> str:
    """A name as typed, without invisible characters (a zero-width space inside "Tampere"
    would make a second Tampere), with runs of spaces made one and none at either end: "Nokian
    kaupunki " and "Nokian kaupunki" are one organisation, and the any-case constraints below
    see them so."""
    return " ".join(text_clean(name or "").split())


# A web or email address, with or without its scheme: mail programs make a link of
# "kaikukanta-login.example.com/reset", "bit.ly/x" or 203.0.113.7 as readily as of "https://…".
_NAME_ADDRESS = re.compile(
    r"://|\S@\S|\bwww\.|\b\d{1,3}(?:\.\d{1,3}){3}\b"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:fi|ax|se|nu|no|dk|ee|eu|de|uk|com|net|org|info|biz|io|co|me|tv|ly|gg"
    r"|app|dev|page|link|online|site|shop|xyz|ru)\b",
    re.IGNORECASE,
)
# A run of letters: "π-klubi" is two words, "Tаmpere" with a Cyrillic "а" one.
_LETTERS = re.compile(r"[^\W\d_]+")


def name_validate(value: str) -> None:
    """A region's, municipality's, organisation's or site's name: no web or email address (the
    names go into the invitations, letters and reminders sent to staff and cardholders, where an
    address would read as the programme's own), and no word mixing scripts (a Cyrillic "а" in
    "Tаmpere", a fullwidth "Ｔ" look like another site's name in every list). Read as a mail
    program would show it: a fullwidth "．" is a dot."""
    shown = unicodedata.normalize("NFKC", value or "")
    if _NAME_ADDRESS.search(shown):
        raise ValidationError(
            _("A name cannot contain a web or email address: names are shown in emails to staff and cardholders."),
            code="name_address",
        )
    for word in _LETTERS.findall(value or ""):
        # Each letter's script is the first word of its Unicode name: LATIN, CYRILLIC, FULLWIDTH …
        # Only letters: "Tanssi³" or "H₂O" hold a number, which belongs to no alphabet.
        scripts = {
            unicodedata.name(char, "?").split(" ", 1)[0] for char in word if unicodedata.category(char)[0] == "L"
        }
        if len(scripts) > 1:
            raise ValidationError(
                _("The word %(word)s mixes letters of different alphabets (Latin and Cyrillic, say). Type it again."),
                code="name_mixed_alphabets",
                params={"word": word},
            )


class NamedMixin:
    def clean(self):
        super().clean()
        self.name = name_tidy(self.name)


class SwedishNameMixin(NamedMixin):
    """A place with a Finnish name and, where it has one, a Swedish name (``name_sv``)."""

    def __str__(self):
        return self._in_language(self.name, self.name_sv)

    @staticmethod
    def _in_language(name: str, name_sv: str) -> str:
        # In the language of the page or mail being made (the Finnish name where there is no other).
        return name_sv if name_sv and get_language() == "sv" else name

    def clean(self):
        super().clean()
        self.name_sv = name_tidy(self.name_sv)

    @classmethod
    def names(cls, queryset=None) -> list[tuple[int, str]]:
        """(pk, name in the current language) of each, in the order of their Finnish names."""
        return [
            (pk, cls._in_language(name, sv))
            for pk, name, sv in (queryset if queryset is not None else cls.objects.all())
            .order_by("name")
            .values_list("pk", "name", "name_sv")
        ]


class Region(SwedishNameMixin, models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True, validators=[name_validate])
    # Every region has one (Birkaland for Pirkanmaa): the public statistics name them on Swedish pages.
    name_sv = models.CharField(
        _("name in Swedish"),
        max_length=100,
        blank=True,
        validators=[name_validate],
        help_text=_("E.g. Birkaland. Shown on Swedish pages and in Swedish downloads."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="region_name_unique_any_case",
                violation_error_message=_("A region with this name already exists."),
            ),
        ]


class Municipality(SwedishNameMixin, models.Model):
    """A municipality of the Kaikukortti network: only their residents get a card."""

    name = models.CharField(_("name"), max_length=100, unique=True, validators=[name_validate])
    # A bilingual municipality's Swedish name (Helsingfors for Helsinki), for Swedish pages and mail.
    name_sv = models.CharField(
        _("name in Swedish"),
        max_length=100,
        blank=True,
        validators=[name_validate],
        help_text=_("Only for a bilingual municipality, e.g. Helsingfors. Shown on Swedish pages and in Swedish mail."),
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="municipalities", verbose_name=_("region")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]
        constraints = [
            # "Tampere" and "tampere" would be two home municipalities to choose from.
            models.UniqueConstraint(
                Lower("name"),
                name="municipality_name_unique_any_case",
                violation_error_message=_("A municipality with this name already exists."),
            ),
        ]


class Organisation(NamedMixin, models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True, validators=[name_validate])
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            # Names are matched in any letter case when a site is added; two coordinators
            # typing "Kaupunki" and "kaupunki" at the same moment must not make two organisations.
            models.UniqueConstraint(
                Lower("name"),
                name="organisation_name_unique_any_case",
                violation_error_message=_("An organisation with this name already exists."),
            ),
        ]

    def __str__(self):
        return self.name


class UseCategory(models.TextChoices):
    """The statistics categories of a card use (and a venue's usual one)."""

    CULTURE = "culture", _("Culture")
    EDUCATION = "education", _("Education")
    SCIENCE = "science", _("Science")
    SPORTS = "sports", _("Sports")


def phone_validate(value: str) -> None:
    """A phone number as people write one (010 555 1234, +358 10 555 1234, (09) 123-456): it is
    shown to cardholders and printed in their letters, where a typo of letters would be no use."""
    digits = sum(char.isascii() and char.isdigit() for char in value)
    rest = value[1:] if value.startswith("+") else value
    if digits < 5 or any(not (char.isascii() and (char.isdigit() or char in " ()-/")) for char in rest):
        raise ValidationError(
            _("Type a phone number in digits, e.g. 010 555 1234 or +358 10 555 1234."), code="phone_invalid"
        )


class Site(NamedMixin, models.Model):
    """A unit of an organisation: either hands out cards or receives card holders."""

    class Kind(models.TextChoices):
        DISTRIBUTOR = "distributor", _("Distributor")
        VENUE = "venue", _("Venue")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="sites", verbose_name=_("organisation")
    )
    name = models.CharField(_("name"), max_length=200, validators=[name_validate])
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="sites", verbose_name=_("municipality")
    )
    default_category = models.CharField(
        _("usual category of use"),
        max_length=10,
        choices=UseCategory.choices,
        default=UseCategory.CULTURE,
        help_text=_("Venues: preselected when recording a card use."),
    )
    # The site's public contact for cardholders (renewals, lost cards): an office number or a
    # shared mailbox, shown in OmaKaiku, letters and reminders; never a person's own.
    contact_phone = models.CharField(_("public phone"), max_length=40, blank=True, validators=[phone_validate])
    contact_email = models.EmailField(_("public email"), max_length=254, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organisation",
                Lower("name"),
                name="site_name_unique_any_case_per_organisation",
                violation_error_message=_("This organisation already has a site with this name."),
            ),
            models.CheckConstraint(condition=models.Q(kind__in=["distributor", "venue"]), name="site_kind_valid"),
        ]

    def __str__(self):
        return f"{self.name} ({self.organisation.name})" if self.name != self.organisation.name else self.name

    def clean(self):
        super().clean()
        if self._kind_changed() and self.has_register_data():
            # A distributor turned venue would leave its cards with nobody able to renew or move
            # them (a transfer moves a closed distributor's cards); a venue turned distributor
            # would keep its uses and offers and hand out cards. A new site is made instead.
            raise ValidationError(
                {
                    "kind": ValidationError(
                        _(
                            "The kind of a site with cards, card uses or offers cannot be changed. "
                            "Add a new site of the other kind instead."
                        ),
                        code="site_kind_fixed",
                    )
                }
            )

    def _kind_changed(self) -> bool:
        if self._state.adding:
            return False
        return Site.objects.filter(pk=self.pk).exclude(kind=self.kind).exists()

    def has_register_data(self) -> bool:
        """Whether cards were issued here, uses recorded here or offers published (the reverse
        relations of the cards app, which this app does not import)."""
        return self.issued_cards.exists() or self.card_uses.exists() or self.offers.exists()


class SiteMembership(models.Model):
    """A staff person works for a site; the site's kind decides what they may do."""

    # Staff logins only (``clean`` says why): also what the admin's search offers.
    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
        limit_choices_to={"kind": "staff"},
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("site"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site membership")
        verbose_name_plural = _("site memberships")
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="membership_unique")]

    def __str__(self):
        return f"{self.user} @ {self.site}"

    def clean(self):
        super().clean()
        # As ``accounts.services.staff_invite`` refuses it: the admin is no way around it.
        _refuse_holder_login(self.user_id and self.user)
        if self.user_id is not None and self.user.is_staff:
            raise ValidationError(ADMIN_NOT_SITE_STAFF, code="email_admin")
        if self.site_id is not None and not self.site.is_active and self._site_is_new():
            raise ValidationError(SITE_CLOSED_NO_NEW_STAFF, code="site_closed")

    def _site_is_new(self) -> bool:
        """Whether this person is new at this site: the membership is being added, or an existing
        one is turned to another site or person. Only these are refused at a closed site: its
        existing staff stay (they are removed one by one, and the admin's page of a person saves
        all their memberships whenever it saves)."""
        if self._state.adding:
            return True
        stored = SiteMembership.objects.filter(pk=self.pk).values_list("user_id", "site_id").first()
        return stored != (self.user_id, self.site_id)


# A Kaikukeskus administrator works in the admin; as a site's staff their login would land on
# that site's pages instead, and the site would list them as its own.
ADMIN_NOT_SITE_STAFF = _("This is a Kaikukeskus administrator's login; it cannot be added to a site's staff.")
# One side only: a cardholder's OmaKaiku login never becomes a Kaikukanta role. Said without
# naming OmaKaiku: that someone holds a Kaikukortti is not a coordinator's business (it tells of
# a client of social services), and the coordinator's pages would list the holder's address.
HOLDER_NOT_STAFF = _("This address cannot be used for a Kaikukanta login. Ask for the person's work email address.")


def _refuse_holder_login(user: User | None) -> None:
    if user and user.kind != User.Kind.STAFF:
        raise ValidationError(HOLDER_NOT_STAFF, code="email_holder")


# A closed site hands out no cards and receives no holders: a new person there would get a login
# with no page to open (permissions.active_sites leaves closed sites out), and an invitation that
# names a site which no longer works with Kaikukortti.
SITE_CLOSED_NO_NEW_STAFF = _("This site has closed; no staff can be added to it.")


class RegionalCoordinator(models.Model):
    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="coordinated_regions",
        verbose_name=_("user"),
        limit_choices_to={"kind": "staff"},
    )
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="coordinators", verbose_name=_("region"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("regional coordinator")
        verbose_name_plural = _("regional coordinators")
        constraints = [models.UniqueConstraint(fields=["user", "region"], name="coordinator_unique")]

    def __str__(self):
        return f"{self.user} – {self.region}"

    def clean(self):
        super().clean()
        _refuse_holder_login(self.user_id and self.user)
        # As for a site's staff: an administrator already sees every region, and as a coordinator
        # would be listed as the region's contact and given its pages instead of the admin.
        if self.user_id is not None and self.user.is_staff:
            raise ValidationError(ADMIN_NOT_COORDINATOR, code="email_admin")


ADMIN_NOT_COORDINATOR = _("This is a Kaikukeskus administrator's login; it cannot be made a regional coordinator.")


class AuthenticatorRecord(Authenticator):
    """allauth's two-step verification authenticators as the Django admin shows them: with
    names in the three languages (allauth's model has none), and only to be removed there,
    when someone has lost their phone."""

    class Meta:
        proxy = True
        verbose_name = _("two-step verification authenticator")
        verbose_name_plural = _("two-step verification authenticators")
