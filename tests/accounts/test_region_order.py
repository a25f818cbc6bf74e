"""The coordinator's region page lists its sites as a reader looks them up."""

from django.urls import reverse

from tests import factories


def test_region_sites_are_listed_alphabetically_whatever_their_case(client, coordinator, municipality):
    for organisation, name in [
        ("Tampereen Teatteri Oy", "Tampereen Teatteri Oy"),
        ("Tampereen kaupunki", "Tampereen kaupunki"),
        ("Nokian seurakunta", "Diakoniatyö"),
        ("Tampereen kaupunki", "Aikuissosiaalityö"),
    ]:
        factories.SiteFactory(organisation__name=organisation, name=name, municipality=municipality)
    client.force_login(coordinator)

    sites = client.get(reverse("accounts:region")).context["sites"]

    # Capitals sorted before small letters put "Tampereen Teatteri Oy" before "Tampereen kaupunki";
    # sorting by the organisation in brackets put "Aikuissosiaalityö" last.
    assert [str(site) for site in sites] == [
        "Aikuissosiaalityö (Tampereen kaupunki)",
        "Diakoniatyö (Nokian seurakunta)",
        "Tampereen kaupunki",
        "Tampereen Teatteri Oy",
    ]
