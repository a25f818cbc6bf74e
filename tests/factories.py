import datetime

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Municipality, Organisation, Region, RegionalCoordinator, Site, SiteMembership, User
from cards.models import Card, CardUse, Holder, Offer, ValidityPeriod
from cards.services import validity_period

PASSWORD = "kaikukortti-test"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.fi")
    kind = User.Kind.STAFF
    activated_at = factory.LazyFunction(timezone.now)
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def email_address(obj, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, primary=True, verified=True)


# The authenticator secret of test admins and coordinators (two-step verification is required of them).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def with_totp(user: User) -> User:
    """Give ``user`` an authenticator app with ``TOTP_SECRET``; admins and coordinators need one."""
    from accounts.mfa import totp_activate

    totp_activate(user=user, secret=TOTP_SECRET)
    return user


class HolderUserFactory(UserFactory):
    email = factory.Sequence(lambda n: f"holder{n}@example.com")
    kind = User.Kind.HOLDER


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Region {n}")


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Municipality {n}")
    region = factory.SubFactory(RegionFactory)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Organisation {n}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    kind = Site.Kind.DISTRIBUTOR
    municipality = factory.SubFactory(MunicipalityFactory)


class VenueSiteFactory(SiteFactory):
    kind = Site.Kind.VENUE


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteMembership

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(SiteFactory)


class CoordinatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegionalCoordinator

    user = factory.SubFactory(UserFactory)
    region = factory.SubFactory(RegionFactory)


class HolderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holder

    kind = Holder.Kind.CUSTOMER
    birth_year = 1980
    children_count = 2
    postal_code = "33100"
    municipality = factory.SubFactory(MunicipalityFactory)


class OrganisationHolderFactory(HolderFactory):
    kind = Holder.Kind.ORGANISATION
    birth_year = None
    children_count = None
    organisation_name = factory.Sequence(lambda n: f"Youth centre {n}")
    representative_role = "Youth worker"


def _today():
    return timezone.localdate()


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"K{n:08d}")
    kind = Card.Kind.PHYSICAL
    holder = factory.SubFactory(HolderFactory)
    site = factory.SubFactory(SiteFactory)
    issued_on = factory.LazyFunction(_today)
    valid_from = factory.LazyFunction(_today)
    valid_until = factory.LazyAttribute(lambda o: validity_period(o.valid_from)[1])

    @factory.post_generation
    def periods(obj, create, extracted, **kwargs):
        """Cards made here get the validity period a registration would have written."""
        if create and not extracted:
            ValidityPeriod.objects.create(
                card=obj,
                valid_from=obj.valid_from,
                valid_until=obj.valid_until,
                ended_on=obj.inactivated_on
                if obj.inactivated_on and obj.valid_from <= obj.inactivated_on <= obj.valid_until
                else None,
                cause=ValidityPeriod.Cause.REGISTERED,
                site=obj.site,
            )

    class Params:
        expired = factory.Trait(
            issued_on=factory.LazyFunction(lambda: _today() - datetime.timedelta(days=400)),
            valid_from=factory.LazyFunction(lambda: _today() - datetime.timedelta(days=400)),
            valid_until=factory.LazyFunction(lambda: _today() - datetime.timedelta(days=35)),
        )
        inactive = factory.Trait(
            status=Card.Status.INACTIVE,
            inactivation_reason=Card.InactivationReason.LOST,
            inactivated_on=factory.LazyFunction(_today),
        )


class CardUseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CardUse

    card = factory.SubFactory(CardFactory)
    venue = factory.SubFactory(VenueSiteFactory)
    used_on = factory.LazyFunction(_today)
    category = CardUse.Category.CULTURE


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    venue = factory.SubFactory(VenueSiteFactory)
    category = CardUse.Category.CULTURE
    title_fi = factory.Sequence(lambda n: f"Tarjous {n}")
    title_sv = factory.Sequence(lambda n: f"Erbjudande {n}")
    title_en = factory.Sequence(lambda n: f"Offer {n}")
    starts_on = factory.LazyFunction(lambda: _today() - datetime.timedelta(days=7))
    ends_on = factory.LazyFunction(lambda: _today() + datetime.timedelta(days=30))
