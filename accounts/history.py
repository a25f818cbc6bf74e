"""History shown in the admin as people read it: names, not ids; yes/no, not True/False."""

import datetime
import re

from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.db import models
from django.http import Http404
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from .text import has_removed_characters


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if isinstance(value, DeletedObject):
            # simple-history's stand-in for a related row that is gone, or for none at all (a
            # holder's account before OmaKaiku was set up): its pk is None then.
            value = value.pk if value.pk is None else str(value)
        if value in (None, ""):
            return "–"
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.ForeignKey) and not isinstance(value, models.Model):
            obj = field.related_model._default_manager.filter(pk=value).first()
            return str(obj) if obj is not None else "–"
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, datetime.date):
            return date_format(value, "j.n.Y")
        return super().prepare_delta_change_value(change, value)


class ReadableHistoryAdmin(SimpleHistoryAdmin):
    """Every admin with a history is built on this one.

    A past version is shown, never saved back: simple-history's "revert" (a POST to the
    version's page) would write the old row as it was, past every service and its checks
    (a card active again at a closed site, a cancelled use counting again), and it asks only
    for permission to view. Changes go through the change form and the admin's actions."""

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)

    def _id_checked(self, object_id: str) -> None:
        # simple-history filters on the address's id as it comes: /admin/cards/card/abc/history/
        # was a 500 ("Field 'id' expected a number"). No such row: 404, as the change page says.
        try:
            self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            raise Http404 from None

    def history_view(self, request, object_id, extra_context=None):
        self._id_checked(object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        self._id_checked(object_id)
        if not re.fullmatch(r"[0-9]{1,18}", str(version_id)):  # "²" is a digit to isdigit(), not to int()
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def response_action(self, request, queryset, **kwargs):
        # The rows an action is asked for are the model's keys: "abc", "1\x00" or "²" there was a
        # 500 (Django filters on them as they come). Refused as a malformed request: 400.
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                self.model._meta.pk.to_python(value)
            except ValidationError:
                raise SuspiciousOperation("An action was asked for a row that is no row's key.") from None
            if has_removed_characters(value):  # a text key with a NUL: PostgreSQL's 500
                raise SuspiciousOperation("An action was asked for a row that is no row's key.")
        return super().response_action(request, queryset, **kwargs)

    def to_field_allowed(self, request, to_field):
        # Django reads ``primary_key`` of every relation named there, and a reverse one-to-one
        # (the user's ``holder``) has none: ?_to_field=holder was a 500. Refused instead (400).
        try:
            return super().to_field_allowed(request, to_field)
        except AttributeError:
            return False

    def revert_disabled(self, request, obj=None):
        return True
