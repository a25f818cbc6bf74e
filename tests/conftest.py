import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # English in assertions reads as the source strings; Finnish stays the default in
    # production (tests/accounts/test_i18n.py checks that).
    settings.LANGUAGE_CODE = "en"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A fresh in-process cache per test: rate-limit counters must not leak between tests
    # (a database cache would survive the test database's rollback and flush).
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"},
        "stats": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests-stats"},
    }
    from django.core.cache import caches

    caches["default"].clear()
    caches["stats"].clear()
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def region(db):
    return factories.RegionFactory(name="Pirkanmaa")


@pytest.fixture
def municipality(region):
    return factories.MunicipalityFactory(name="Tampere", region=region)


@pytest.fixture
def site(municipality):
    return factories.SiteFactory(name="Social services", municipality=municipality)


@pytest.fixture
def other_site(municipality):
    return factories.SiteFactory(name="Other distributor", municipality=municipality)


@pytest.fixture
def venue(municipality):
    return factories.VenueSiteFactory(name="Theatre", municipality=municipality)


@pytest.fixture
def distributor(site):
    return factories.MembershipFactory(site=site, user__email="jakaja@example.fi").user


@pytest.fixture
def other_distributor(other_site):
    return factories.MembershipFactory(site=other_site, user__email="toinen@example.fi").user


@pytest.fixture
def venue_user(venue):
    return factories.MembershipFactory(site=venue, user__email="kohde@example.fi").user


@pytest.fixture
def coordinator(region):
    # With an authenticator: coordinators without one are sent to set it up on every page.
    return factories.with_totp(
        factories.CoordinatorFactory(region=region, user__email="koordinaattori@example.fi").user
    )


@pytest.fixture
def admin_user(db):
    return factories.with_totp(factories.UserFactory(email="admin@example.fi", is_staff=True, is_superuser=True))


@pytest.fixture
def distributor_client(client, distributor):
    client.force_login(distributor)
    return client


@pytest.fixture
def customer_data(municipality):
    from cards.services import HolderData

    return HolderData(
        kind="customer", birth_year=1985, children_count=2, postal_code="33100", municipality=municipality
    )


@pytest.fixture
def organisation_data(municipality):
    from cards.services import HolderData

    return HolderData(
        kind="organisation",
        postal_code="33100",
        municipality=municipality,
        organisation_name="Youth centre Nuotta",
        representative_role="Youth worker",
    )


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs the on_commit work (invitation emails) of what happens
    inside, as a real commit would; tests otherwise run in a transaction that never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
