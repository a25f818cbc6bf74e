"""Give every existing card its validity periods, read from the card's history.

Each distinct start date in the card's history is one period (the first one the
registration, later ones renewals), ending on the last end date recorded for it. A card
without history rows (bulk-loaded data) gets one period from its own dates. An
inactivated card's period that covered the inactivation day ends there. Notes written by
the dormant-account job become its own reason, so they can be shown in every language.
"""

from django.db import migrations

DORMANT_NOTE = "No valid card for 24 months: OmaKaiku email erased"


def backfill(apps, schema_editor):
    Card = apps.get_model("cards", "Card")
    HistoricalCard = apps.get_model("cards", "HistoricalCard")
    ValidityPeriod = apps.get_model("cards", "ValidityPeriod")
    Card.objects.filter(inactivation_note=DORMANT_NOTE).update(inactivation_reason="dormant", inactivation_note="")
    HistoricalCard.objects.filter(inactivation_note=DORMANT_NOTE).update(
        inactivation_reason="dormant", inactivation_note=""
    )

    starts: dict[int, dict] = {}
    for row in (
        HistoricalCard.objects.order_by("id", "history_date", "history_id")
        .values_list("id", "valid_from", "valid_until")
        .iterator(chunk_size=5000)
    ):
        card_id, valid_from, valid_until = row
        starts.setdefault(card_id, {})[valid_from] = valid_until

    batch = []
    for card in Card.objects.only("pk", "site_id", "valid_from", "valid_until", "inactivated_on").iterator(
        chunk_size=5000
    ):
        periods = dict(starts.get(card.pk, {}))
        periods[card.valid_from] = card.valid_until
        for index, (valid_from, valid_until) in enumerate(sorted(periods.items())):
            valid_until = max(valid_until, valid_from)
            ended_on = None
            if card.inactivated_on and valid_from <= card.inactivated_on <= valid_until:
                ended_on = card.inactivated_on
            batch.append(
                ValidityPeriod(
                    card_id=card.pk,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    ended_on=ended_on,
                    cause="registered" if index == 0 else "renewed",
                    site_id=card.site_id,
                )
            )
        if len(batch) >= 5000:
            ValidityPeriod.objects.bulk_create(batch)
            batch = []
    ValidityPeriod.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("cards", "0004_validity_periods")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
