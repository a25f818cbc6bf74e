import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import add_service_errors
from accounts.paging import keyset_page
from accounts.permissions import (
    coordinator_or_admin_required,
    distributor_required,
    distributor_sites,
    working_staff_required,
)

from . import access, selectors, services
from .filters import CardFilter
from .forms import (
    CardInactivateForm,
    CardRegisterForm,
    CardReplaceForm,
    CardSearchForm,
    CardUpdateForm,
    HolderFieldsMixin,
    OmaKaikuActivateForm,
    OmaKaikuCloseForm,
    OmaKaikuEmailChangeForm,
    SiteTransferForm,
    SwitchToMobileForm,
)
from .models import Card

PAGE_SIZE = 25


def _left_at(user, card) -> datetime.datetime | None:
    """When a card moved away from the user's site last left it (for the look-ups' link)."""
    stretches = access.card_left_site(user, card)
    return stretches[-1][1] if stretches else None


@distributor_required
def card_list(request: HttpRequest) -> HttpResponse:
    search = CardSearchForm(request.GET or None)
    lookup = None
    if search.is_valid() and search.cleaned_data["number"]:
        number = services.card_number_normalize(search.cleaned_data["number"])
        card = selectors.card_find_by_number(number=number)
        if access.card_permits(request.user, card, access.CardAction.VIEW):
            return redirect("cards:detail", pk=card.pk)
        # Another site's card: staff may see whether it is valid, nothing about its holder.
        lookup = {"number": number, "card": card, "own": False, "left": _left_at(request.user, card)}
    cards = selectors.card_list_for_user(user=request.user)
    card_filter = CardFilter(request.GET, queryset=cards)
    page = keyset_page(card_filter.qs, after=request.GET.get("after"), before=request.GET.get("before"), size=PAGE_SIZE)
    selectors.card_list_holders_as_seen(cards=page.object_list)
    return render(
        request,
        "cards/card_list.html",
        {"search": search, "lookup": lookup, "filter": card_filter, "page": page},
    )


@working_staff_required
def card_check(request: HttpRequest) -> HttpResponse:
    """Status and validity of any card number, for everyone with a site, a region or admin access."""
    search = CardSearchForm(request.GET or None)
    lookup = None
    if search.is_valid() and search.cleaned_data["number"]:
        number = services.card_number_normalize(search.cleaned_data["number"])
        card = selectors.card_find_by_number(number=number)
        own = access.card_permits(request.user, card, access.CardAction.VIEW)
        lookup = {
            "number": number,
            "card": card,
            "own": own,
            "left": None if own else _left_at(request.user, card),
        }
    return render(request, "cards/card_check.html", {"search": search, "lookup": lookup})


@distributor_required
def card_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    try:
        card = selectors.card_get_for_user(user=user, pk=pk)
    except Http404:
        # A card moved from this site to another: read-only, as it was until it left (or 404).
        moved = selectors.card_as_it_left(user=user, pk=pk)
        return render(request, "cards/card_moved_away.html", {"moved": moved, "holder": moved.holder})
    others = selectors.holder_other_cards_as_seen(card=card, user=user)
    manages_holder = access.card_permits(user, card, access.CardAction.HOLDER)
    active = card if card.status == Card.Status.ACTIVE else others.active or None
    return render(
        request,
        "cards/card_detail.html",
        {
            "card": card,
            # The holder's active card when it is another card: ours (a link) or another site's (None).
            "holder_has_other_active": others.active is not None,
            "own_active_card": others.active or None,
            "holder": selectors.holder_as_seen(card=card),
            "history": selectors.card_history(card=card, viewer=user),
            "periods": selectors.card_periods(card=card),
            "other_cards": others.visible,
            "can_change": access.card_permits(user, card, access.CardAction.CHANGE),
            "manages_holder": manages_holder,
            # Not offered where it would be refused: a mobile-only card needs OmaKaiku
            # (services.holder_omakaiku_close_check; its page says so if opened anyway).
            "offers_omakaiku_close": manages_holder and not (active and active.is_mobile_only),
            "can_replace": access.card_permits(user, card, access.CardAction.CHANGE)
            and _service_accepts(services.card_replace_check, card),
            "offers_switch": manages_holder and _service_accepts(services.card_switch_check, card),
        },
    )


@distributor_required
@require_http_methods(["GET", "POST"])
def card_register(request: HttpRequest) -> HttpResponse:
    sites = distributor_sites(request.user).select_related("organisation")
    holder = None
    from_card = None
    if request.GET.get("holder_from"):
        # A new card for the holder of an earlier card (lost card, new period after inactivation).
        holder_from = request.GET["holder_from"]
        # isdecimal() alone admits other scripts' digits; int() would take them or fail on "²".
        if not (holder_from.isascii() and holder_from.isdecimal() and len(holder_from) < 19):
            raise Http404
        from_card = selectors.card_get_for_user(user=request.user, pk=int(holder_from))
        if not access.card_permits(request.user, from_card, access.CardAction.NEW_FOR_HOLDER):
            # The card page says why (the holder's active card, here or elsewhere).
            return redirect("cards:detail", pk=from_card.pk)
        holder = from_card.holder
    initial = {"site": sites.first()}
    if holder is not None:
        seen, email = selectors.holder_for_new_card(card=from_card)
        initial |= HolderFieldsMixin.initial_from_holder(seen)
        if email:
            initial |= {"activate_omakaiku": True, "email": email}
    form = CardRegisterForm(request.POST or None, sites=sites, holder=holder, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            card = services.card_register(
                site=data["site"],
                actor=request.user,
                number=data["number"],
                holder=holder,
                holder_data=form.holder_data(),
                email=data["email"] or "",
                mobile=data["mobile"],
                language=data["language"] or request.LANGUAGE_CODE,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if card.is_mobile_only:
                messages.success(
                    request, _("Card registered. The assigned card number is %(number)s.") % {"number": card.number}
                )
            else:
                messages.success(request, _("Card %(number)s registered.") % {"number": card.number})
            account = card.holder.account
            if data["email"] and account is not None:
                if account.awaits_password:
                    # Said without "sent": the mail may already have failed (the card page says so).
                    message = _(
                        "An OmaKaiku invitation to the holder's email was created. Its delivery is shown on the card page."
                    )
                else:
                    message = _("The holder already uses OmaKaiku; the new card is shown there.")
                messages.info(request, message)
            return redirect("cards:detail", pk=card.pk)
    return render(request, "cards/card_form.html", {"form": form, "from_card": from_card})


def _refused_at_once(request: HttpRequest, card: Card, check=services.card_change_check) -> HttpResponse | None:
    """A card's action page says at once what its service would refuse (an inactive card), not
    after the person has filled it in or confirmed (the service refuses it again under its lock)."""
    try:
        check(card=card)
    except ValidationError as error:
        return _refused_card_page(request, card, error)
    return None


def _refused_card_page(request: HttpRequest, card: Card, error: ValidationError) -> HttpResponse:
    """Back to the card's page with the refusal; or, for a card no longer in use whose holder has
    this site's new card (a switch or replacement sent twice: the second waited for the first),
    on to that card: "register a new card instead" would be wrong advice there."""
    if card.status == Card.Status.INACTIVE:
        active = selectors.holder_other_cards_as_seen(card=card, user=request.user).active
        if active:
            messages.info(
                request,
                _("Card %(old)s is no longer in use. The holder's card is now %(new)s.")
                % {"old": card.number, "new": active.number},
            )
            return redirect("cards:detail", pk=active.pk)
    messages.error(request, " ".join(error.messages))
    return redirect("cards:detail", pk=card.pk)


def _card_inactive(error: ValidationError) -> bool:
    """The service refused because the card had become inactive while the request waited for it."""
    return not hasattr(error, "error_dict") and any(item.code == "card_inactive" for item in error.error_list)


@distributor_required
@require_http_methods(["GET", "POST"])
def card_update(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card):
        return refused
    initial = HolderFieldsMixin.initial_from_holder(card.holder) | {"number": card.number}
    form = CardUpdateForm(request.POST or None, card=card, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.card_update(
                card=card,
                actor=request.user,
                holder_data=form.holder_data(),
                number=form.cleaned_data["number"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if changed:
                messages.success(request, _("The details were saved."))
            else:
                messages.info(request, _("Nothing was changed: the details were already as typed."))
            return redirect("cards:detail", pk=card.pk)
    return render(request, "cards/card_update.html", {"form": form, "card": card})


@distributor_required
@require_http_methods(["GET", "POST"])
def card_renew(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card):
        return refused
    today = timezone.localdate()
    new_until = services.validity_period(today)[1]
    # Registered or renewed today: it already runs 12 months from today, and a renewal adds nothing.
    changes = services.card_renewal_period(card=card, on=today) is not None
    if request.method == "POST" and changes:
        try:
            card = services.card_renew(card=card, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("The card was renewed until %(date)s.") % {"date": date_format(card.valid_until, "j.n.Y")}
            )
        return redirect("cards:detail", pk=card.pk)
    return render(request, "cards/card_renew.html", {"card": card, "new_until": new_until, "changes": changes})


@distributor_required
@require_http_methods(["GET", "POST"])
def card_inactivate(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card, services.card_inactivate_check):
        return refused
    form = CardInactivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.card_inactivate(
                card=card, actor=request.user, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Card %(number)s was inactivated.") % {"number": card.number})
            return redirect("cards:detail", pk=card.pk)
    return render(request, "cards/card_inactivate.html", {"form": form, "card": card})


@distributor_required
@require_http_methods(["GET", "POST"])
def card_omakaiku(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card, check=services.card_omakaiku_check):
        return refused
    form = OmaKaikuActivateForm(
        request.POST or None, initial={"mobile": card.mobile_enabled or request.GET.get("mobile") == "1"}
    )
    if request.method == "POST" and form.is_valid():
        had_account = bool(card.holder.account_id)
        try:
            services.card_omakaiku_activate(
                card=card,
                actor=request.user,
                email=form.cleaned_data["email"] or "",
                mobile=form.cleaned_data["mobile"],
                language=form.cleaned_data["language"] or request.LANGUAGE_CODE,
            )
        except ValidationError as error:
            if _card_inactive(error):
                return _refused_card_page(request, selectors.card_get_for_user(user=request.user, pk=pk), error)
            add_service_errors(form, error)
        else:
            if not had_account:
                messages.success(
                    request, _("OmaKaiku was activated. The invitation email's delivery is shown on the card page.")
                )
            if form.cleaned_data["mobile"]:
                messages.success(request, _("The mobile card is enabled."))
            return redirect("cards:detail", pk=card.pk)
    return render(request, "cards/card_omakaiku.html", {"form": form, "card": card})


@distributor_required
@require_http_methods(["GET", "POST"])
def card_switch(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card, check=services.card_switch_check):
        return refused
    form = SwitchToMobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new_card = services.card_switch_to_mobile_only(
                card=card,
                actor=request.user,
                email=form.cleaned_data["email"] or "",
                language=form.cleaned_data["language"] or request.LANGUAGE_CODE,
            )
        except ValidationError as error:
            if _card_inactive(error):
                return _refused_card_page(request, selectors.card_get_for_user(user=request.user, pk=pk), error)
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Card %(old)s was inactivated and the mobile-only card %(new)s created.")
                % {"old": card.number, "new": new_card.number},
            )
            return redirect("cards:detail", pk=new_card.pk)
    return render(request, "cards/card_switch.html", {"form": form, "card": card})


@distributor_required
@require_POST
def card_resend(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    try:
        services.card_omakaiku_resend(card=card, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _(
                "A new OmaKaiku invitation was created; earlier invitation links no longer work. "
                "Its delivery is shown on the card page."
            ),
        )
    return redirect(reverse("cards:detail", kwargs={"pk": card.pk}))


@distributor_required
@require_http_methods(["GET", "POST"])
def card_omakaiku_email(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card):
        return refused
    # The holder's own choice of language, not the language of the distributor's screen.
    account = card.holder.account
    form = OmaKaikuEmailChangeForm(request.POST or None, initial={"language": account.language} if account else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.card_omakaiku_email_change(
                card=card,
                actor=request.user,
                email=form.cleaned_data["email"],
                language=form.cleaned_data["language"],  # none chosen: the holder's stays
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "The email was changed and a new invitation created; the old address no longer works. "
                    "The invitation's delivery is shown on the card page."
                ),
            )
            return redirect("cards:detail", pk=card.pk)
    return render(request, "cards/card_omakaiku_email.html", {"form": form, "card": card})


@distributor_required
@require_http_methods(["GET", "POST"])
def card_omakaiku_close(request: HttpRequest, pk: int) -> HttpResponse:
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card):
        return refused  # found in review: an inactive card's page offered to close, then refused
    form = OmaKaikuCloseForm(request.POST or None)
    if request.method == "GET" and access.card_permits(request.user, card, access.CardAction.HOLDER):
        try:
            # Said before the confirmation, not after it: e.g. a mobile-only card needs OmaKaiku.
            services.holder_omakaiku_close_check(holder=card.holder)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("cards:detail", pk=card.pk)
    if request.method == "POST" and form.is_valid():
        try:
            services.card_omakaiku_close(card=card, actor=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The OmaKaiku account was closed and the email erased."))
            return redirect("cards:detail", pk=card.pk)
    return render(request, "cards/card_omakaiku_close.html", {"form": form, "card": card})


@coordinator_or_admin_required
@require_http_methods(["GET", "POST"])
def site_transfer(request: HttpRequest, site_pk: int) -> HttpResponse:
    """Move the active cards of a closed distributor site to another one, so that nobody is left
    without a site that can renew or change their card."""
    site = selectors.site_get_for_transfer(user=request.user, pk=site_pk)
    targets = selectors.transfer_targets(user=request.user).exclude(pk=site.pk)
    count = site.issued_cards.filter(status=Card.Status.ACTIVE).count()
    form = SiteTransferForm(request.POST or None, sites=targets)
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.site_cards_transfer(
                from_site=site,
                to_site=form.cleaned_data["to_site"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)s active card was moved to %(site)s.",
                    "%(count)s active cards were moved to %(site)s.",
                    moved,
                )
                % {"count": moved, "site": form.cleaned_data["to_site"]},
            )
            return redirect("cards:site_transfer", site_pk=site.pk)
    context = {"site": site, "count": count, "form": form, "has_targets": targets.exists()}
    return render(request, "cards/site_transfer.html", context)


def _service_accepts(check, card: Card) -> bool:
    """Whether a service's check (``services.card_replace_check`` …) lets the card through: the
    card page offers an action only where its service would accept it."""
    try:
        check(card=card)
    except ValidationError:
        return False
    return True


@distributor_required
@require_http_methods(["GET", "POST"])
def card_replace(request: HttpRequest, pk: int) -> HttpResponse:
    """A lost or broken card: inactivate it and register the new printed number in one step."""
    card = selectors.card_get_for_user(user=request.user, pk=pk)
    if refused := _refused_at_once(request, card, check=services.card_replace_check):
        return refused
    if not access.card_permits(request.user, card, access.CardAction.CHANGE):
        messages.error(request, _("Only a valid physical card of your site can be replaced."))
        return redirect("cards:detail", pk=card.pk)
    form = CardReplaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new_card = services.card_replace(
                card=card, actor=request.user, number=form.cleaned_data["number"], reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            if _card_inactive(error):
                return _refused_card_page(request, selectors.card_get_for_user(user=request.user, pk=pk), error)
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Card %(old)s was inactivated and replaced by card %(new)s.")
                % {"old": card.number, "new": new_card.number},
            )
            return redirect("cards:detail", pk=new_card.pk)
    return render(request, "cards/card_replace.html", {"form": form, "card": card})
