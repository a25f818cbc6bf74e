from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cards.models import ValidityPeriod


class HolderPreferences(models.Model):
    """What a holder chose on OmaKaiku's settings page.

    A row exists only once the holder has saved the page; until then the defaults hold.
    (The language of emails is ``User.language``: staff set it too, on the invitation.)
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="holder_preferences",
        verbose_name=_("user"),
    )
    expiry_reminders = models.BooleanField(_("expiry reminders by email"), default=True)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("holder preferences")
        verbose_name_plural = _("holder preferences")

    def __str__(self):
        return str(self.user_id)

    @classmethod
    def for_user(cls, user) -> "HolderPreferences":
        """The saved preferences, or the defaults (unsaved)."""
        return cls.objects.filter(user=user).first() or cls(user=user)


class ExpiryReminder(models.Model):
    """One expiry reminder of one validity period of a card.

    Unique on (period, kind): the row is written before the email is queued, so a second run
    of the daily job, or two at once, can never send the same reminder twice. The email
    itself is not stored, nor the address it went to.
    """

    class Kind(models.TextChoices):
        EXPIRING = "expiring", _("Expires within 30 days")
        EXPIRED = "expired", _("Has expired")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # Between queueing and sending the card was renewed or inactivated, or the holder
        # opted out or lost OmaKaiku: the reminder no longer applies.
        SKIPPED = "skipped", _("No longer needed")

    period = models.ForeignKey(
        ValidityPeriod, on_delete=models.CASCADE, related_name="expiry_reminders", verbose_name=_("validity period")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(fields=["period", "kind"], name="expiry_reminder_once_per_period"),
            models.CheckConstraint(condition=models.Q(kind__in=["expiring", "expired"]), name="expiry_reminder_kind"),
            models.CheckConstraint(
                condition=models.Q(state__in=["queued", "sent", "failed", "skipped"]), name="expiry_reminder_state"
            ),
        ]

    def __str__(self):
        return f"{self.period_id} {self.kind} {self.state}"
