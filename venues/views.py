import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import permissions
from accounts.forms import add_service_errors
from accounts.paging import keyset_page
from accounts.permissions import venue_required
from accounts.security_log import security_event
from cards import access
from cards.models import CardUse, Offer
from cards.services import card_number_normalize

from . import selectors, services
from .forms import CardLookupForm, ImportUploadForm, OfferForm, UseCancelForm, UseRecordForm, UseSearchForm

PAGE_SIZE = 25
SESSION_VENUE_KEY = "_venue"


def _current_venue(request: HttpRequest, pk=None):
    """The venue being worked for; a choice made with ``?venue=`` is remembered in the session."""
    pk = pk or request.GET.get("venue") or request.POST.get("venue")
    venue = selectors.venue_for_user(user=request.user, pk=pk, remembered=request.session.get(SESSION_VENUE_KEY))
    if request.session.get(SESSION_VENUE_KEY) != venue.pk:
        request.session[SESSION_VENUE_KEY] = venue.pk  # a session write only when the choice changes
    return venue


def _desk_url(venue) -> str:
    return f"{reverse('venues:desk')}?venue={venue.pk}"


@venue_required
@require_safe
def desk(request: HttpRequest) -> HttpResponse:
    """The ticket desk: scan or type a number, see at once whether the card is valid, press Enter."""
    venue = _current_venue(request)
    lookup = CardLookupForm(request.GET if "number" in request.GET else None)
    check = record_form = recent_use = None
    if lookup.is_valid():
        check = services.card_check(number=lookup.cleaned_data["number"])
        if check.valid:
            recent_use = selectors.card_recent_use_here(venue=venue, card=check.card)
            record_form = UseRecordForm(
                check=check,
                initial={
                    "number": check.number,
                    # A fresh token per form: submitting this form twice records one use.
                    "token": uuid.uuid4().hex,
                    "used_on": timezone.localdate(),
                    "category": venue.default_category,
                },
            )
    return _render_desk(request, venue, lookup, check, record_form, recent_use=recent_use)


# The desk's first field in the page, whichever the card has (templates/venues/desk.html).
DESK_FIRST_FIELDS = ("child_tickets", "clients_under_16")


def _described_by_check(field, check, recent_use) -> None:
    """The field that has the keyboard after a check (the number typed, or the first ticket
    field of a valid card) is described by the check's result: a result already in the page
    when it loads is not announced, and the keyboard stays in the field to go on."""
    ids = ["check-heading"]
    if check.reason:
        ids.append("check-reason")
    if recent_use:
        ids.append("recent-use")
    if own := field.aria_describedby:
        ids.append(own)
    field.field.widget.attrs["aria-describedby"] = " ".join(ids)


def _render_desk(request, venue, lookup, check, record_form, status=200, recent_use=None):
    recent = selectors.venue_recent_uses(venue=venue)
    if check is not None:
        # The first ticket field takes the keyboard after a valid check (static/js/app.js).
        first = next((name for name in DESK_FIRST_FIELDS if record_form and name in record_form.fields), None)
        _described_by_check(record_form[first] if first else lookup["number"], check, recent_use)
    return render(
        request,
        "venues/desk.html",
        {
            "venue": venue,
            "lookup": lookup,
            "check": check,
            "form": record_form,
            "recent": recent,
            "recent_use": recent_use,
        },
        status=status,
    )


@venue_required
@require_POST
def record(request: HttpRequest) -> HttpResponse:
    venue = _current_venue(request)
    lookup = CardLookupForm(request.POST)
    if not lookup.is_valid():
        # The number is checked before it reaches the database: a NUL byte or a "ß" gets
        # the lookup's message, not a failed query.
        return _render_desk(request, venue, lookup, None, None)
    check = services.card_check(number=lookup.cleaned_data["number"])
    form = UseRecordForm(request.POST, check=check)
    if form.is_valid():
        try:
            use, created = services.card_use_record(
                venue=venue, actor=request.user, data=form.use_data(), idempotency_key=form.cleaned_data["token"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if created:
                messages.success(
                    request,
                    _("Recorded: card %(number)s, %(category)s, %(date)s.")
                    % {
                        "number": use.card.number,
                        "category": use.get_category_display(),
                        "date": date_format(use.used_on, "j.n.Y"),
                    },
                )
            else:
                messages.info(request, _("This use was already recorded; it was not recorded twice."))
            return redirect(_desk_url(venue))
    lookup = CardLookupForm(initial={"number": check.number})
    return _render_desk(request, venue, lookup, check, form, status=200)


@venue_required
@require_safe
def uses(request: HttpRequest) -> HttpResponse:
    venue = _current_venue(request)
    search = UseSearchForm(request.GET or None)
    number = ""
    if search.is_valid() and search.cleaned_data["number"]:
        number = card_number_normalize(search.cleaned_data["number"])
    page = keyset_page(
        selectors.venue_uses(venue=venue, number=number),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=PAGE_SIZE,
    )
    today = timezone.localdate()
    for use in page.object_list:
        use.cancellable = services.use_cancellable(use=use, today=today)
    return render(
        request,
        "venues/uses.html",
        {"venue": venue, "page": page, "cancel_days": services.CANCEL_DAYS, "search": search, "number": number},
    )


@venue_required
@require_http_methods(["GET", "POST"])
def use_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    # The venues the person acts for now, as for offers (_offer_for): a closed venue's use would
    # only be refused after the reason was typed.
    venues = permissions.venue_site_ids(request.user)
    use = get_object_or_404(CardUse.objects.select_related("card", "venue").filter(venue_id__in=list(venues)), pk=pk)
    form = UseCancelForm(request.POST or None)
    if request.method == "GET":
        try:
            services.card_use_cancel_check(use=use)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(f"{reverse('venues:uses')}?venue={use.venue_id}")
    if request.method == "POST" and form.is_valid():
        try:
            services.card_use_cancel(use=use, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The use was cancelled. It stays in the history but not in statistics."))
            return redirect(f"{reverse('venues:uses')}?venue={use.venue_id}")
    return render(request, "venues/use_cancel.html", {"use": use, "form": form})


@venue_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    venue = _current_venue(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    preview = token = None
    recorded_that_day = []
    if request.method == "POST" and form.is_valid():
        content = form.cleaned_data["file"].read()
        try:
            preview = services.card_uses_import_preview(venue=venue, content=content)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            # A check reads thousands of card numbers at once: who checked how many is kept.
            security_event("import.checked", request=request, venue_id=venue.pk, rows=len(preview.rows))
            if preview.valid_rows:
                # Kept server-side for the confirming POST, which carries only the token;
                # the file is checked again when imported.
                token = services.import_preview_store(user=request.user, venue=venue, content=content)
                recorded_that_day = services.import_rows_recorded_that_day(venue=venue, rows=preview.valid_rows)
    return render(
        request,
        "venues/import.html",
        {"venue": venue, "form": form, "preview": preview, "token": token, "recorded_that_day": recorded_that_day},
    )


@venue_required
@require_http_methods(["GET", "POST"])
def import_confirm(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # Reached after logging in again (the login's "next"): the checked file's token was on
        # the page before, and nothing has been imported.
        messages.info(request, _("Nothing was imported yet. Choose the file again and check it."))
        return redirect("venues:import")
    try:
        venue_pk, content = services.import_preview_take(user=request.user, token=request.POST.get("token", ""))
    except ValidationError as error:
        if error.code == "preview_taken":
            messages.info(request, " ".join(error.messages))
            return redirect("venues:uses")
        messages.error(request, " ".join(error.messages))
        return redirect("venues:import")
    venue = _current_venue(request, venue_pk)
    try:
        recorded, duplicates, refused = services.card_uses_import(venue=venue, actor=request.user, content=content)
    except Exception as error:
        # Nothing was imported: the confirmation must not read as done when sent again (a cache
        # outside the database, Redis, keeps the claim whatever the transaction does).
        services.import_preview_release(user=request.user, token=request.POST.get("token", ""))
        if not isinstance(error, ValidationError):
            raise
        messages.error(request, " ".join(error.messages))
        return redirect(f"{reverse('venues:import')}?venue={venue.pk}")
    services.import_preview_done(user=request.user, token=request.POST.get("token", ""))
    security_event("import.recorded", request=request, venue_id=venue.pk, rows=recorded)
    messages.success(
        request,
        _("Imported: %(recorded)s. Already imported before: %(duplicates)s. Refused rows: %(refused)s.")
        % {"recorded": recorded, "duplicates": duplicates, "refused": refused},
    )
    return redirect(f"{reverse('venues:uses')}?venue={venue.pk}")


@venue_required
@require_safe
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(services.import_template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kaikukortti-uses-template.csv"'
    return response


@venue_required
@require_safe
def offers(request: HttpRequest) -> HttpResponse:
    venue = _current_venue(request)
    page = Paginator(selectors.venue_offers(venue=venue), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "venues/offers.html", {"venue": venue, "page": page, "today": timezone.localdate()})


def _offer_for(request, pk, *, deleted_ok: bool = False) -> tuple[Offer | None, int | None]:
    """The user's offer ``pk`` (access.offers_editable) as ``(offer, None)``, else 404; with
    ``deleted_ok``, ``(None, venue id)`` for an offer deleted from one of their venues since the
    form was opened (another tab, a colleague): the caller says so rather than answering "page
    not found" to what was typed. An offer of a venue they no longer act for is never "deleted":
    it is still there for the holders."""
    offer = access.offers_editable(request.user).select_related("venue").filter(pk=pk).first()
    if offer is not None:
        return offer, None
    deleted_from = access.offer_deleted_from_venue_id(request.user, pk) if deleted_ok else None
    if deleted_from is None:
        raise Http404
    return None, deleted_from


def _offer_deleted_meanwhile(request: HttpRequest, venue_pk: int) -> HttpResponse:
    """The edit form of an offer deleted from venue ``venue_pk``, sent: what was typed, offered
    for a new offer at that venue (not at whichever of the person's venues was chosen last)."""
    venue = _current_venue(request, venue_pk)
    data = request.POST.copy()
    data.pop("version", None)
    data["token"] = uuid.uuid4().hex
    form = OfferForm(data)
    form.is_valid()
    form.add_error(
        None,
        _(
            "This offer was deleted after you opened it, in another tab or by a colleague. What you typed is kept "
            "below: save it as a new offer, or cancel."
        ),
    )
    return render(
        request,
        "venues/offer_form.html",
        {"form": form, "offer": None, "venue": venue, "action": f"{reverse('venues:offer_create')}?venue={venue.pk}"},
    )


@venue_required
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    offer, deleted_from = _offer_for(request, pk, deleted_ok=request.method == "POST") if pk else (None, None)
    if deleted_from is not None:
        return _offer_deleted_meanwhile(request, deleted_from)
    venue = offer.venue if offer else _current_venue(request)
    initial = {"category": venue.default_category, "starts_on": timezone.localdate()} if offer is None else None
    form = OfferForm(request.POST or None, instance=offer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.offer_save(
                venue=venue,
                actor=request.user,
                data=form.cleaned_data,
                offer=offer,
                token=form.cleaned_data.get("token") or "",
                seen_updated_at=form.seen_updated_at() if offer else None,
            )
        except services.OfferGone:
            return _offer_deleted_meanwhile(request, venue.pk)
        except services.OfferChanged as changed:
            form.changed_meanwhile(fields=changed.fields, updated_at=changed.updated_at)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # Named as the person typed it in the page's language, where they did (else the Finnish title).
            title = saved.title_in(get_language())
            messages.success(request, _("The offer %(title)s was saved.") % {"title": title})
            return redirect(f"{reverse('venues:offers')}?venue={venue.pk}")
    return render(request, "venues/offer_form.html", {"form": form, "offer": offer, "venue": venue})


@venue_required
@require_POST
def offer_visibility(request: HttpRequest, pk: int) -> HttpResponse:
    offer, deleted_from = _offer_for(request, pk, deleted_ok=True)
    if deleted_from is not None:
        messages.error(request, _("This offer was deleted after you opened the page."))
        return redirect(f"{reverse('venues:offers')}?venue={deleted_from}")
    services.offer_set_visible(offer=offer, actor=request.user, visible=request.POST.get("visible") == "1")
    if offer.visible:
        messages.success(request, _("The offer is now visible in OmaKaiku."))
    else:
        messages.success(request, _("The offer is now hidden from OmaKaiku."))
    return redirect(f"{reverse('venues:offers')}?venue={offer.venue_id}")


@venue_required
@require_http_methods(["GET", "POST"])
def offer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    offer, deleted_from = _offer_for(request, pk, deleted_ok=request.method == "POST")
    if deleted_from is not None:  # deleted in another tab, or the button pressed twice
        messages.success(request, _("The offer was deleted."))
        return redirect(f"{reverse('venues:offers')}?venue={deleted_from}")
    if request.method == "POST":
        venue_pk = offer.venue_id
        services.offer_delete(offer=offer, actor=request.user)
        messages.success(request, _("The offer was deleted."))
        return redirect(f"{reverse('venues:offers')}?venue={venue_pk}")
    return render(request, "venues/offer_delete.html", {"offer": offer})
