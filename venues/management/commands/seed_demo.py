"""Fill the database with a realistic Kaikukanta demo, and optionally a large benchmark data set.

``manage.py seed_demo`` creates two regions with their municipalities, three distributor and
three venue sites, demo logins for every role (password ``kaikukortti-demo``), and a few dozen
holders and cards of every kind, with their uses at the venues and a few offers per venue.

The demo shows only what the rules allow, because it is made the way the register's users
make it: sites through ``accounts.services``, cards through ``cards.services`` (registered,
given OmaKaiku, renewed, corrected, inactivated, replaced and switched to mobile-only), uses
through ``venues.services.card_use_record`` and offers through ``venues.services.offer_save``.
To give a card a past, the command travels in time (time-machine) to the day each step
happened: a card renewed last month was registered thirteen months ago and renewed last
month, so its validity periods, its history and the dates of its uses are what they would be.
Only setup that no service makes is written directly (regions, municipalities, the
coordinator's region, the demo logins with their known password, and the demo holder's
password that the holder would set through the invitation link); those rows carry the history
reason "Demo data". It is idempotent: if ``admin@example.fi`` exists, the demo is taken to be
present and only the logins are printed.

``--cards N --uses M`` then makes sure the database holds at least N cards and M card uses in
total, adding what is missing with ``bulk_create``. **Bulk data is for benchmarks**: it writes
no history rows (``bulk_create`` sends no signals), so the pages of a bulk card show an empty
history, and it sets ``created_at`` to the day of issue or use, which ``auto_now_add`` would
otherwise overwrite. It still follows every rule the services enforce: each card has the
validity periods the services would have appended (registration, and renewal when renewed;
an inactivation ends the period it falls in), a customer was at least 16 in the year of issue,
X and Z cards and mobile cards have an OmaKaiku login, a holder has at most one active card,
and a use falls on a day inside one of its card's periods and before its inactivation, with
no child tickets in education, at most the holder's children, and none for an organisation.
Bulk physical cards are numbered ``B`` and nine digits; bulk X and Z numbers are reserved from
the same counter the services use. About a fifth of the bulk holders have an OmaKaiku login
(``bulkNNNNNNN@example.com``, no usable password). Bulk uses go to any card that was valid on
the day, demo cards included.

Everything random comes from ``random.Random(2025)``: two runs on the same day give the same
data. The command refuses to run with ``DEBUG`` off unless ``--force`` is given.
"""

import dataclasses
import datetime
import logging
import random
import time
from contextlib import contextmanager

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from django.db.models import F, Max
from django.test.utils import override_settings
from django.utils import timezone, translation

from accounts import services as accounts_services
from accounts.mfa import DEMO_TOTP_SECRET, demo_totp_ensure
from accounts.models import InvitationDelivery, Municipality, Region, RegionalCoordinator, Site, SiteMembership, User
from cards import services
from cards.models import Card, CardNumberCounter, CardUse, Holder, Offer, ValidityPeriod
from cards.services import HolderData, validity_period
from stats.summary import summary_build
from venues import services as venue_services
from venues.services import UseData

DEMO_PASSWORD = "kaikukortti-demo"
DEMO_REASON = "Demo data"
ADMIN_EMAIL = "admin@example.fi"
COORDINATOR_EMAIL = "koordinaattori@example.fi"
HOLDER_EMAIL = "asiakas@example.fi"
LARGEST_DATA_SET = 10_000_000
# Invited by the coordinator but not yet started: the staff list shows the invitation's state.
INVITED_STAFF_EMAIL = "uusi.jakaja@example.fi"
SEED = 2025
MINIMUM_AGE = services.MINIMUM_AGE

# Region -> municipality -> postal codes of the municipality (a holder's code is one of these).
REGIONS = {
    "Pirkanmaa": {
        "Tampere": ["33100", "33200", "33230", "33500", "33540", "33710", "33800"],
        "Nokia": ["37100", "37120", "37150"],
        "Ylöjärvi": ["33470", "33480"],
        "Kangasala": ["36200", "36220", "36240"],
    },
    "Uusimaa": {
        "Helsinki": ["00100", "00180", "00500", "00530", "00940", "00980"],
        "Espoo": ["02100", "02230", "02600", "02770"],
        "Vantaa": ["01300", "01350", "01600", "01730"],
    },
}

# The bilingual municipalities' Swedish names, shown on Swedish pages.
SWEDISH_NAMES = {
    "Pirkanmaa": "Birkaland",
    "Uusimaa": "Nyland",
    "Helsinki": "Helsingfors",
    "Espoo": "Esbo",
    "Vantaa": "Vanda",
    "Tampere": "Tammerfors",
}

# (organisation, site, municipality, staff login). The first of each list is the demo's main site.
DISTRIBUTORS = [
    ("Tampereen kaupunki", "Aikuissosiaalityö", "Tampere", "jakaja@example.fi"),
    ("Nokian seurakunta", "Diakoniatyö", "Nokia", "jakaja2@example.fi"),
    ("Helsingin Diakonissalaitos", "Asumispalvelut", "Helsinki", "jakaja3@example.fi"),
]
VENUES = [
    ("Tampere-talo Oy", "Tampere-talo", "Tampere", "kohde@example.fi"),
    ("Tampereen Teatteri Oy", "Tampereen Teatteri", "Tampere", "kohde2@example.fi"),
    ("Helsingin kaupunki", "Helsingin kaupunginmuseo", "Helsinki", "kohde3@example.fi"),
]

# What happens to each demo holder, once per distributor site.
SCENARIOS = [
    "physical",
    "physical",
    "physical_mobile",
    "physical_omakaiku",
    "x",
    "expiring",
    "expiring",
    "expired",
    "renewed",
    "updated",
    "lost_replaced",
    "inactive",
    "switched",
    "org_physical",
    "org_z",
]
INACTIVE_REASONS = [
    (Card.InactivationReason.GIVEN_UP, ""),
    (Card.InactivationReason.NOT_ELIGIBLE, ""),
    (Card.InactivationReason.OTHER, "Muutti toiselle paikkakunnalle"),
]
ORGANISATIONS = [
    ("Nuorisopalvelut, Hervannan nuorisotalo", "Nuoriso-ohjaaja"),
    ("Lastensuojelu, perhetyö", "Perhetyöntekijä"),
    ("Vastaanottokeskus", "Sosiaaliohjaaja"),
    ("Mielenterveyskuntoutujien päiväkeskus", "Ohjaaja"),
]
# (venue, category, (fi, sv, en) title, conditions, starts and ends in days from today, visible)
OFFERS = [
    (
        "Tampere-talo",
        CardUse.Category.CULTURE,
        (
            "Tampere Filharmonian sinfoniakonsertit",
            "Tampere Filharmonins symfonikonserter",
            "Tampere Philharmonic symphony concerts",
        ),
        "Vapaaliput lipunmyynnistä konserttipäivänä, enintään 20 lippua konserttia kohden.",
        -30,
        150,
        True,
    ),
    (
        "Tampere-talo",
        CardUse.Category.CULTURE,
        ("Joulukonsertti", "Julkonsert", "Christmas concert"),
        "Liput varattava viimeistään kolme päivää ennen konserttia.",
        10,
        25,
        True,
    ),
    (
        "Tampere-talo",
        CardUse.Category.CULTURE,
        ("Kevään kamarimusiikkisarja", "Vårens kammarmusikserie", "Spring chamber music series"),
        "",
        -200,
        -60,
        True,
    ),
    (
        "Tampereen Teatteri",
        CardUse.Category.CULTURE,
        ("Päänäyttämön esitykset", "Föreställningar på stora scenen", "Main stage performances"),
        "Vapaita paikkoja on rajoitetusti; kysy lipunmyynnistä.",
        -60,
        180,
        True,
    ),
    (
        "Tampereen Teatteri",
        CardUse.Category.EDUCATION,
        ("Teatterikurssi aikuisille", "Teaterkurs för vuxna", "Theatre course for adults"),
        "Luonnos: julkaistaan, kun kurssin ajat vahvistuvat.",
        30,
        120,
        False,
    ),
    (
        "Helsingin kaupunginmuseo",
        CardUse.Category.CULTURE,
        ("Museon näyttelyt", "Museets utställningar", "The museum's exhibitions"),
        "Näytä Kaikukortti kassalla.",
        -300,
        365,
        True,
    ),
    (
        "Helsingin kaupunginmuseo",
        CardUse.Category.SCIENCE,
        (
            "Tiedeopastus: Helsingin historia",
            "Vetenskaplig guidning: Helsingfors historia",
            "Science tour: the history of Helsinki",
        ),
        "Opastukset lauantaisin klo 13.",
        -14,
        90,
        True,
    ),
]
CATEGORIES = [CardUse.Category.CULTURE, CardUse.Category.SPORTS, CardUse.Category.EDUCATION, CardUse.Category.SCIENCE]
CATEGORY_WEIGHTS = [60, 20, 10, 10]
CHILDREN_WEIGHTS = [55, 15, 15, 8, 4, 2, 1]  # 0..6 children under 18
GENDERS = ["", *Holder.Gender.values]
LIFE_SITUATIONS = ["", *Holder.LifeSituation.values]

BULK_NUMBER_REGEX = r"^B[0-9]{9}$"
BULK_EMAIL_REGEX = r"^bulk[0-9]{7}@example\.com$"
# What a distributor can choose (the dormant-account job's reason is the system's own).
BULK_INACTIVATION_REASONS = [
    Card.InactivationReason.LOST,
    Card.InactivationReason.GIVEN_UP,
    Card.InactivationReason.NOT_ELIGIBLE,
    Card.InactivationReason.OTHER,
]


@contextmanager
def _explicit_created_at(*models):
    """Let bulk rows keep the ``created_at`` we give them (``auto_now_add`` would stamp now).

    Benchmarks need cards spread over years, because the card list is ordered by it.
    """
    fields = [model._meta.get_field("created_at") for model in models]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in fields:
            field.auto_now_add = True


@contextmanager
def _quiet_mail():
    """Send mail to a list in memory instead of the configured backend (console in development)."""
    from django.core import mail

    locmem = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    # Django 6.1 configures mail with MAILERS; older settings used EMAIL_BACKEND.
    overrides = (
        {"MAILERS": {"default": locmem}} if hasattr(settings, "MAILERS") else {"EMAIL_BACKEND": locmem["BACKEND"]}
    )
    had_outbox = hasattr(mail, "outbox")
    saved = getattr(mail, "outbox", None)
    mail.outbox = []
    try:
        with override_settings(**overrides):
            yield mail.outbox
    finally:
        if had_outbox:
            mail.outbox = saved
        else:
            del mail.outbox


@contextmanager
def _quiet_logger(name: str, level: int = logging.WARNING):
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _at(day: datetime.date, rng: random.Random) -> datetime.datetime:
    """An office-hours moment of ``day``, as an aware datetime, never later than now."""
    moment = datetime.datetime.combine(day, datetime.time(rng.randint(8, 15), rng.randint(0, 59)))
    return min(timezone.make_aware(moment), timezone.now())


def _days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


@contextmanager
def _on(day: datetime.date, rng: random.Random):
    """Do what follows on ``day``, as if it were then: the services stamp dates, validity
    periods and history from the clock, and check ages and dates of use against "today"."""
    import time_machine  # a development dependency, as is this command

    with time_machine.travel(_at(day, rng), tick=False):
        yield


def _demo_mail_tasks_drop(*, since) -> int:
    """Delete the mail tasks queued in the database task backend since ``since``; their number."""
    if "django_tasks_db" not in settings.INSTALLED_APPS:
        return 0
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(enqueued_at__gte=since, task_path__startswith="accounts.tasks.send_")
    invited = [task.args_kwargs.get("kwargs", {}).get("user_id") for task in queued]
    # Their delivery would otherwise say "queued" for good on the staff pages and in the admin.
    InvitationDelivery.objects.filter(user_id__in=[pk for pk in invited if pk is not None]).delete()
    return queued.delete()[0]


class Command(BaseCommand):
    help = "Create demo data (idempotent); with --cards/--uses also a large benchmark data set."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")
        parser.add_argument(
            "--cards", type=int, default=0, help="Make sure at least this many cards exist (bulk, no history)."
        )
        parser.add_argument(
            "--uses", type=int, default=0, help="Make sure at least this many card uses exist (bulk, no history)."
        )
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows per bulk INSERT (default 5000).")

    def handle(self, *args, force=False, cards=0, uses=0, batch_size=5000, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off, so this may be a production database: seed_demo would add demo logins with a "
                "published password. Use --force if you really mean it."
            )
        if cards < 0 or uses < 0 or batch_size < 1:
            raise CommandError("--cards and --uses must be 0 or more, --batch-size at least 1.")
        if max(cards, uses) > LARGEST_DATA_SET:
            # Ten times the benchmark's million: beyond that a typo (an extra zero or three)
            # would fill the disk for hours before anyone noticed.
            raise CommandError(f"--cards and --uses go up to {LARGEST_DATA_SET:,} (the benchmark uses 1,000,000).")
        started = time.monotonic()
        # Invitations go out through the Immediate task backend; keep them (and the task
        # log lines, and the security log's lines of the demo's own back-dated invitations) off
        # the console. History reasons are written in the site's language.
        with (
            _quiet_mail() as outbox,
            _quiet_logger("django.tasks"),
            _quiet_logger("kaikukanta.security"),
            translation.override(settings.LANGUAGE_CODE),
        ):
            if User.objects.filter(email=ADMIN_EMAIL).exists():
                self.stdout.write("demo data already present")
            else:
                try:
                    import time_machine  # noqa: F401
                except ImportError:
                    raise CommandError(
                        "The demo gives its cards a past with time-machine, a development dependency: "
                        "install the development dependencies first."
                    ) from None
                seeded_from = timezone.now()
                with transaction.atomic():
                    self._seed_demo(random.Random(SEED))
                # With a task queue (production settings), the invitations were queued for the
                # worker instead: it would mail the demo's made-up addresses. They are dropped.
                dropped = _demo_mail_tasks_drop(since=seeded_from)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Demo data created in {time.monotonic() - started:.1f} s "
                        f"({len(outbox)} invitation emails kept off the console"
                        + (f", {dropped} queued ones dropped" if dropped else "")
                        + ")."
                    )
                )
            if cards or uses:
                self._seed_bulk(cards=cards, uses=uses, batch_size=batch_size)
        # The statistics read their summaries; a deployment rebuilds them on a schedule.
        state = summary_build()
        self.stdout.write(f"Statistics summaries built in {state.duration_ms / 1000:.1f} s.")
        # Admins and coordinators must use two-step verification; the demo's use a published secret.
        demo_totp_ensure(emails=[ADMIN_EMAIL, COORDINATOR_EMAIL])
        self._print_logins()

    # --- the demo --------------------------------------------------------------------

    def _seed_demo(self, rng: random.Random) -> None:
        # The setup happened a while ago: the oldest demo card was registered 600 days back.
        with _on(_days_ago(720), rng):
            admin, distributors, venues, municipalities = self._setup()
        seeder = _DemoCards(rng=rng, municipalities=municipalities, venues=venues)
        seeder.customer_with_omakaiku(*distributors[0])
        for site, actor in distributors:
            for scenario in SCENARIOS:
                seeder.run(scenario, site=site, actor=actor)
        self._offers(venues, rng)
        # The coordinator invites a new distributor today; the person has not set a password yet.
        coordinator = User.objects.get(email=COORDINATOR_EMAIL)
        accounts_services.staff_invite(actor=coordinator, site=distributors[0][0], email=INVITED_STAFF_EMAIL)
        self.stdout.write(
            f"Created {Holder.objects.count()} holders, {Card.objects.count()} cards, "
            f"{CardUse.objects.count()} card uses and {Offer.objects.count()} offers."
        )

    def _setup(self):
        """Regions, municipalities and logins (no service makes them), then the sites and their
        staff through ``accounts.services``, as the admin would."""
        admin = self._staff(ADMIN_EMAIL, superuser=True, actor=None)
        municipalities = {}
        for region_name, towns in REGIONS.items():
            region = self._get_or_create(
                Region, {"name": region_name}, defaults={"name_sv": SWEDISH_NAMES.get(region_name, "")}, actor=admin
            )
            for town in towns:
                municipalities[town] = self._get_or_create(
                    Municipality,
                    {"name": town},
                    defaults={"region": region, "name_sv": SWEDISH_NAMES.get(town, "")},
                    actor=admin,
                )
        first_region = Region.objects.get(name=next(iter(REGIONS)))
        coordinator = self._staff(COORDINATOR_EMAIL, actor=admin)
        self._get_or_create(RegionalCoordinator, {"user": coordinator, "region": first_region}, actor=admin)

        distributors, venues = [], []
        for specs, kind, sites in (
            (DISTRIBUTORS, Site.Kind.DISTRIBUTOR, distributors),
            (VENUES, Site.Kind.VENUE, venues),
        ):
            for organisation_name, site_name, town, email in specs:
                site = Site.objects.filter(organisation__name__iexact=organisation_name, name=site_name).first()
                if site is None:
                    site = accounts_services.site_create(
                        actor=admin,
                        organisation_name=organisation_name,
                        name=site_name,
                        kind=kind,
                        municipality=municipalities[town],
                        # A demo office number and shared mailbox (example.fi: reserved, never real).
                        contact_phone=f"010 555 {100 + len(sites):03d}",
                        contact_email=f"kaikukortti{len(distributors) + len(venues) + 1}@example.fi",
                    )
                user = self._staff(email, actor=admin)
                if not SiteMembership.objects.filter(user=user, site=site).exists():
                    # The login has its demo password already, so no invitation goes out.
                    accounts_services.staff_invite(actor=admin, site=site, email=email)
                sites.append((site, user))
        return admin, distributors, venues, municipalities

    def _offers(self, venues: list, rng: random.Random) -> None:
        """A few offers per venue: current ones, an upcoming one, a past one and a hidden draft."""
        staff_of = {site.name: user for site, user in venues}
        sites = {site.name: site for site, _user in venues}
        for venue_name, category, titles, conditions, starts, ends, visible in OFFERS:
            if venue_name not in sites:
                continue
            data = {
                "category": category,
                "title_fi": titles[0],
                "title_sv": titles[1],
                "title_en": titles[2],
                "conditions_fi": conditions,
                "location": venue_name,
                "starts_on": _days_ago(-starts),
                "ends_on": _days_ago(-ends),
                "visible": visible,
            }
            # Published two weeks before it starts (today, for one that starts sooner).
            published = max(min(_days_ago(14 - starts), timezone.localdate()), _days_ago(365))
            with _on(published, rng):
                venue_services.offer_save(venue=sites[venue_name], actor=staff_of[venue_name], data=data)

    def _staff(self, email: str, *, actor: User | None, superuser: bool = False) -> User:
        user = User.objects.filter(email=email).first()
        if user is not None:
            if user.kind != User.Kind.STAFF:
                raise CommandError(f"{email} exists as an OmaKaiku login; it cannot become a demo staff login.")
            return user
        user = User(
            email=email,
            kind=User.Kind.STAFF,
            is_staff=superuser,
            is_superuser=superuser,
            activated_at=timezone.now(),
        )
        user.set_password(DEMO_PASSWORD)
        user._history_user = actor
        user._change_reason = DEMO_REASON
        user.save()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        return user

    def _get_or_create(self, model, lookup: dict, *, actor: User, defaults: dict | None = None):
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            obj = model(**lookup, **(defaults or {}))
            obj._history_user = actor
            obj._change_reason = DEMO_REASON
            obj.save()
        return obj

    # --- the benchmark data set ------------------------------------------------------

    def _seed_bulk(self, *, cards: int, uses: int, batch_size: int) -> None:
        sites = list(Site.objects.filter(kind=Site.Kind.DISTRIBUTOR, is_active=True).order_by("pk"))
        venues = list(Site.objects.filter(kind=Site.Kind.VENUE, is_active=True).select_related("municipality"))
        municipalities = list(Municipality.objects.order_by("pk"))
        if not sites or not venues:
            raise CommandError("Bulk data needs at least one active distributor and one active venue site.")
        bulk = _BulkData(
            command=self,
            sites=sites,
            venues=venues,
            municipalities=municipalities,
            batch_size=batch_size,
        )
        missing_cards = cards - Card.objects.count()
        if missing_cards > 0:
            bulk.cards(missing_cards)
        else:
            self.stdout.write(f"At least {cards} cards present; no bulk cards added.")
        missing_uses = uses - CardUse.objects.count()
        if missing_uses > 0:
            bulk.uses(missing_uses)
        elif uses:
            self.stdout.write(f"At least {uses} card uses present; no bulk uses added.")
        if connection.vendor == "postgresql":
            # What autovacuum would do soon anyway; benchmarks right after seeding need the statistics.
            with connection.cursor() as cursor:
                models = [User, EmailAddress, Holder, Card, CardUse, ValidityPeriod]
                models += [model.history.model for model in models if hasattr(model, "history")]
                for model in models:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    def _print_logins(self) -> None:
        rows = [
            (ADMIN_EMAIL, "Kaikukeskus admin (Django admin, superuser)"),
            (COORDINATOR_EMAIL, f"Regional coordinator, {next(iter(REGIONS))}"),
            *[(email, f"Distributor: {site} ({org})") for org, site, _town, email in DISTRIBUTORS],
            *[(email, f"Venue: {site}") for _org, site, _town, email in VENUES],
            (HOLDER_EMAIL, "Holder (OmaKaiku): physical card with mobile"),
        ]
        # Run again on a demo someone has used: a login deleted or switched off since is not offered.
        working = set(
            User.objects.filter(email__in=[email for email, _role in rows], is_active=True).values_list(
                "email", flat=True
            )
        )
        gone = [email for email, _role in rows if email not in working]
        rows = [(email, role) for email, role in rows if email in working]
        if not rows:
            self.stdout.write(
                f"None of the demo logins works any more ({', '.join(gone)}): start from an empty database."
            )
            return
        width = max(len(email) for email, _role in rows)
        role_width = max(len(role) for _email, role in rows)
        self.stdout.write("")
        self.stdout.write(f"{'Email':<{width}}  {'Role':<{role_width}}  Password")
        self.stdout.write(f"{'-' * width}  {'-' * role_width}  {'-' * len(DEMO_PASSWORD)}")
        for email, role in rows:
            self.stdout.write(f"{email:<{width}}  {role:<{role_width}}  {DEMO_PASSWORD}")
        if gone:
            self.stdout.write(f"Deleted or switched off since the demo was made: {', '.join(gone)}.")
        self.stdout.write("")
        self.stdout.write(
            f"The admin and the coordinator also need a two-step verification code: add the demo secret "
            f"{DEMO_TOTP_SECRET} to an authenticator app, or print the current code with "
            f"`manage.py demo_totp_code {ADMIN_EMAIL}` (or {COORDINATOR_EMAIL})."
        )
        self.stdout.write("")
        self.stdout.write(
            f"Open {settings.SITE_URL}/ and log in with one of the above; the holder logs in to OmaKaiku at "
            f"{settings.SITE_URL}/omakaiku/."
        )


class _DemoCards:
    """Makes the demo holders' cards through the services, each step on the day it happened."""

    def __init__(self, *, rng: random.Random, municipalities: dict, venues: list):
        self.rng = rng
        self.municipalities = municipalities
        self.venues = venues
        self.numbers: set[str] = set()
        self.email_serial = 1
        self.inactive_serial = 0

    # helpers

    def on(self, day: datetime.date):
        return _on(day, self.rng)

    def number(self) -> str:
        while True:
            number = f"KK{self.rng.randint(100000, 999999)}"
            if number not in self.numbers and not Card.objects.filter(number=number).exists():
                self.numbers.add(number)
                return number

    def email(self, prefix: str) -> str:
        self.email_serial += 1
        return f"{prefix}{self.email_serial}@example.fi"

    def town(self, site: Site) -> str:
        """Mostly the site's own municipality, otherwise another of its region."""
        region_towns = REGIONS[site.municipality.region.name]
        if self.rng.random() < 0.6:
            return site.municipality.name
        return self.rng.choice(list(region_towns))

    def customer(self, site: Site, **overrides) -> HolderData:
        town = self.town(site)
        # Old enough also on the day of the oldest demo registration (up to 600 days ago).
        data = {
            "kind": Holder.Kind.CUSTOMER,
            "municipality": self.municipalities[town],
            "postal_code": self.rng.choice(REGIONS[site.municipality.region.name][town]),
            "birth_year": self.rng.randint(1945, timezone.localdate().year - MINIMUM_AGE - 2),
            "children_count": self.rng.choices(range(len(CHILDREN_WEIGHTS)), weights=CHILDREN_WEIGHTS)[0],
            "gender": self.rng.choice(GENDERS),
            "life_situation": self.rng.choice(LIFE_SITUATIONS),
        }
        return HolderData(**(data | overrides))

    def organisation(self, site: Site) -> HolderData:
        town = site.municipality.name
        name, role = self.rng.choice(ORGANISATIONS)
        return HolderData(
            kind=Holder.Kind.ORGANISATION,
            municipality=self.municipalities[town],
            postal_code=self.rng.choice(REGIONS[site.municipality.region.name][town]),
            organisation_name=f"{site.municipality.name}: {name}",
            representative_role=role,
        )

    def register(self, *, day: datetime.date, site, actor, number=None, data, **kwargs) -> Card:
        with self.on(day):
            return services.card_register(
                site=site, actor=actor, number=number or self.number(), holder_data=data, **kwargs
            )

    def valid_days(self, card: Card) -> list[datetime.date]:
        """The days of the last year on which a use of ``card`` is accepted: inside one of its
        validity periods and before its inactivation (the rule ``card_use_record`` applies)."""
        card = Card.objects.prefetch_related("periods").get(pk=card.pk)
        today = timezone.localdate()
        days = []
        for offset in range(364, -1, -1):
            day = today - datetime.timedelta(days=offset)
            if card.inactivated_on is not None and day >= card.inactivated_on:
                break
            if card.was_valid_on(day):
                days.append(day)
        return days

    def uses(self, card: Card, count: int | None = None) -> None:
        """A few uses at the venues on days the card was valid, each recorded through the
        venue's service on the day it was recorded (a paper record a few days later)."""
        days = self.valid_days(card)
        if not days:
            return
        count = min(len(days), self.rng.randint(1, 6) if count is None else count)
        holder = card.holder
        region_id = holder.municipality.region_id
        local = [venue for venue in self.venues if venue[0].municipality.region_id == region_id]
        for used_on in sorted(self.rng.sample(days, count)):
            venue, staff = self.rng.choice(local if local and self.rng.random() < 0.85 else self.venues)
            category = self.rng.choices(CATEGORIES, weights=CATEGORY_WEIGHTS)[0]
            child_tickets = clients = 0
            if holder.kind == Holder.Kind.ORGANISATION:
                clients = self.rng.randint(2, 8)
            elif holder.children_count and category != CardUse.Category.EDUCATION and self.rng.random() < 0.5:
                # Adult-education courses have no child tickets.
                child_tickets = self.rng.randint(1, holder.children_count)
            assistants = 1 if self.rng.random() < 0.05 else 0
            recorded_on, source = used_on, CardUse.Source.DESK
            if self.rng.random() < 0.1:
                # Written on paper at an event and typed in afterwards.
                source = CardUse.Source.IMPORT
                recorded_on = min(used_on + datetime.timedelta(days=self.rng.randint(1, 5)), timezone.localdate())
            data = UseData(
                number=card.number,
                used_on=used_on,
                category=category,
                child_tickets=child_tickets,
                assistant_tickets=assistants,
                clients_under_16=clients,
            )
            with self.on(recorded_on):
                venue_services.card_use_record(
                    venue=venue,
                    actor=staff,
                    data=data,
                    idempotency_key=f"{self.rng.getrandbits(128):032x}",
                    source=source,
                )

    # scenarios

    def customer_with_omakaiku(self, site: Site, actor: User) -> None:
        """asiakas@example.fi: OmaKaiku in use, a physical card with the mobile card enabled."""
        data = HolderData(
            kind=Holder.Kind.CUSTOMER,
            municipality=site.municipality,
            postal_code="33500",
            birth_year=1987,
            children_count=2,
            gender=Holder.Gender.FEMALE,
            life_situation=Holder.LifeSituation.LOW_INCOME,
        )
        card = self.register(day=_days_ago(75), site=site, actor=actor, data=data, email=HOLDER_EMAIL, mobile=True)
        # The next day she followed the invitation link and chose a password (here: the demo's).
        with self.on(_days_ago(74)):
            user = User.objects.get(pk=card.holder.account_id)
            user.set_password(DEMO_PASSWORD)
            user.activated_at = timezone.now()
            user._history_user = user
            user._change_reason = DEMO_REASON
            user.save()
            EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)
        self.uses(card, count=5)

    def run(self, scenario: str, *, site: Site, actor: User) -> None:
        getattr(self, f"scenario_{scenario}")(site=site, actor=actor)

    def scenario_physical(self, *, site, actor):
        card = self.register(day=_days_ago(self.rng.randint(10, 320)), site=site, actor=actor, data=self.customer(site))
        self.uses(card)

    def scenario_physical_mobile(self, *, site, actor):
        """Procedure 5: an existing physical card gets OmaKaiku and the mobile card later."""
        issued = _days_ago(self.rng.randint(60, 200))
        card = self.register(day=issued, site=site, actor=actor, data=self.customer(site))
        with self.on(issued + datetime.timedelta(days=self.rng.randint(10, 50))):
            card = services.card_omakaiku_activate(card=card, actor=actor, email=self.email("asiakas"), mobile=True)
        self.uses(card)

    def scenario_physical_omakaiku(self, *, site, actor):
        """Procedure 2 without the mobile card: OmaKaiku activated at registration."""
        card = self.register(
            day=_days_ago(self.rng.randint(10, 200)),
            site=site,
            actor=actor,
            data=self.customer(site),
            email=self.email("asiakas"),
        )
        self.uses(card)

    def scenario_x(self, *, site, actor):
        card = self.register(
            day=_days_ago(self.rng.randint(5, 150)),
            site=site,
            actor=actor,
            number="X",
            data=self.customer(site),
            email=self.email("asiakas"),
        )
        self.uses(card)

    def scenario_expiring(self, *, site, actor):
        # Issued 337–360 days ago: the last valid day is 4–27 days from today.
        card = self.register(
            day=_days_ago(self.rng.randint(337, 360)), site=site, actor=actor, data=self.customer(site)
        )
        self.uses(card)

    def scenario_expired(self, *, site, actor):
        card = self.register(
            day=_days_ago(self.rng.randint(400, 600)), site=site, actor=actor, data=self.customer(site)
        )
        self.uses(card)

    def scenario_renewed(self, *, site, actor):
        """Renewed recently: from the renewal day, never from the old expiry date. A card that
        had already expired has a gap between its two periods, when uses are refused."""
        card = self.register(
            day=_days_ago(self.rng.randint(345, 420)), site=site, actor=actor, data=self.customer(site)
        )
        with self.on(_days_ago(self.rng.randint(3, 30))):
            card = services.card_renew(card=card, actor=actor)
        self.uses(card, count=self.rng.randint(3, 7))

    def scenario_updated(self, *, site, actor):
        issued = _days_ago(self.rng.randint(30, 250))
        data = self.customer(site)
        card = self.register(day=issued, site=site, actor=actor, data=data)
        towns = REGIONS[site.municipality.region.name]
        codes = [code for code in towns[data.municipality.name] if code != data.postal_code]
        fixed = dataclasses.replace(HolderData.from_holder(card.holder), postal_code=codes[0])
        with self.on(issued + datetime.timedelta(days=self.rng.randint(1, 20))):
            services.card_update(
                card=card, actor=actor, holder_data=fixed, reason="Postinumero korjattu (kirjoitusvirhe)"
            )
        self.uses(card)

    def scenario_lost_replaced(self, *, site, actor):
        old = self.register(day=_days_ago(self.rng.randint(150, 300)), site=site, actor=actor, data=self.customer(site))
        holder = old.holder
        with self.on(_days_ago(self.rng.randint(20, 60))):
            services.card_inactivate(card=old, actor=actor, reason=Card.InactivationReason.LOST)
            new = services.card_register(
                site=site,
                actor=actor,
                number=self.number(),
                holder_data=HolderData.from_holder(holder),
                holder=holder,
            )
        self.uses(old)
        self.uses(new)

    def scenario_inactive(self, *, site, actor):
        reason, note = INACTIVE_REASONS[self.inactive_serial % len(INACTIVE_REASONS)]
        self.inactive_serial += 1
        card = self.register(
            day=_days_ago(self.rng.randint(100, 300)), site=site, actor=actor, data=self.customer(site)
        )
        with self.on(_days_ago(self.rng.randint(5, 90))):
            card = services.card_inactivate(card=card, actor=actor, reason=reason, note=note)
        self.uses(card)

    def scenario_switched(self, *, site, actor):
        """Procedure 6 as the guided action: the physical card is given up, an X card replaces it."""
        old = self.register(day=_days_ago(self.rng.randint(120, 300)), site=site, actor=actor, data=self.customer(site))
        with self.on(_days_ago(self.rng.randint(10, 40))):
            new = services.card_switch_to_mobile_only(card=old, actor=actor, email=self.email("asiakas"))
        self.uses(old)
        self.uses(new)

    def scenario_org_physical(self, *, site, actor):
        card = self.register(
            day=_days_ago(self.rng.randint(30, 300)), site=site, actor=actor, data=self.organisation(site)
        )
        self.uses(card)

    def scenario_org_z(self, *, site, actor):
        card = self.register(
            day=_days_ago(self.rng.randint(30, 200)),
            site=site,
            actor=actor,
            number="Z",
            data=self.organisation(site),
            email=self.email("edustaja"),
        )
        self.uses(card)


class _BulkData:
    """Benchmark rows written with bulk_create: no history, but every rule of the services holds
    (see the module docstring)."""

    CHUNK = 50_000  # uses generated and committed per transaction

    def __init__(self, *, command, sites, venues, municipalities, batch_size):
        self.command = command
        self.sites = sites
        self.venues = venues
        self.municipalities = municipalities
        self.batch_size = batch_size
        self.today = timezone.localdate()
        self.started = time.monotonic()
        self.region_of_municipality = {m.pk: m.region_id for m in municipalities}
        postal = {town: codes for towns in REGIONS.values() for town, codes in towns.items()}
        self.postal_codes = {m.pk: postal.get(m.name) for m in municipalities}
        self.venue_staff = self.first_member(venues)
        self.site_staff = self.first_member(sites)
        self._midnights: dict[datetime.date, datetime.datetime] = {}

    @staticmethod
    def first_member(sites) -> dict[int, int]:
        staff = {}
        for membership in SiteMembership.objects.filter(site__in=sites).order_by("pk"):
            staff.setdefault(membership.site_id, membership.user_id)
        return staff

    def progress(self, what: str, done: int, total: int) -> None:
        # With DEBUG on, Django keeps every statement's SQL (here megabytes per INSERT) in memory.
        reset_queries()
        self.command.stdout.write(f"  {what}: {done:>9,}/{total:,}  {time.monotonic() - self.started:7.1f} s")

    def moment(self, day: datetime.date, rng: random.Random) -> datetime.datetime:
        midnight = self._midnights.get(day)
        if midnight is None:
            midnight = self._midnights[day] = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
        return midnight + datetime.timedelta(minutes=rng.randrange(8 * 60, 19 * 60))

    @staticmethod
    def next_serial(queryset, field: str, regex: str, start: int, end: int) -> int:
        """The next free serial of a fixed-width numbered value (``B000000001``, ``bulk0000001@…``)."""
        last = queryset.filter(**{f"{field}__regex": regex}).aggregate(last=Max(field))["last"]
        return int(last[start:end]) + 1 if last else 1

    @staticmethod
    def reserve(prefix: str, count: int) -> list[str]:
        """Take ``count`` X or Z numbers from the services' counter, so they are never handed out twice."""
        if not count:
            return []
        CardNumberCounter.objects.get_or_create(prefix=prefix)
        CardNumberCounter.objects.filter(prefix=prefix).update(last_value=F("last_value") + count)
        last = CardNumberCounter.objects.get(prefix=prefix).last_value
        return [f"{prefix}{value:0{services.ASSIGNED_NUMBER_DIGITS}d}" for value in range(last - count + 1, last + 1)]

    # cards

    def cards(self, count: int) -> None:
        rng = random.Random(SEED + Card.objects.count())
        next_number = self.next_serial(Card.objects, "number", BULK_NUMBER_REGEX, 1, 10)
        next_email = self.next_serial(User.objects, "email", BULK_EMAIL_REGEX, 4, 11)
        self.command.stdout.write(f"Adding {count:,} bulk cards (batch size {self.batch_size}) …")
        done = 0
        while done < count:
            goal = min(self.batch_size, count - done)
            users, holders, cards = [], [], []
            while len(cards) < goal:
                user, holder, holder_cards = self.holder(rng, allow_two=goal - len(cards) >= 2)
                if user is not None:
                    user.email = f"bulk{next_email:07d}@example.com"
                    next_email += 1
                    users.append(user)
                holders.append(holder)
                cards.extend(holder_cards)
            for card in cards:
                if card.kind == Card.Kind.PHYSICAL:
                    card.number = f"B{next_number:09d}"
                    next_number += 1
            with transaction.atomic(), _explicit_created_at(Holder, Card, ValidityPeriod):
                for prefix, kind in (("X", Card.Kind.X), ("Z", Card.Kind.Z)):
                    mobile_only = [card for card in cards if card.kind == kind]
                    for card, number in zip(mobile_only, self.reserve(prefix, len(mobile_only)), strict=True):
                        card.number = number
                User.objects.bulk_create(users, batch_size=self.batch_size)
                EmailAddress.objects.bulk_create(
                    [
                        EmailAddress(user=user, email=user.email, primary=True, verified=user.activated_at is not None)
                        for user in users
                    ],
                    batch_size=self.batch_size,
                )
                for holder in holders:
                    if holder.account is not None:
                        holder.account_id = holder.account.pk
                Holder.objects.bulk_create(holders, batch_size=self.batch_size)
                for card in cards:
                    card.holder_id = card.holder.pk
                Card.objects.bulk_create(cards, batch_size=self.batch_size)
                # In the order the services append them: the newest period of a card is its last.
                ValidityPeriod.objects.bulk_create(
                    [period for card in cards for period in self.periods(card, rng)], batch_size=self.batch_size
                )
            done += len(cards)
            self.progress("cards", done, count)

    def periods(self, card: Card, rng: random.Random) -> list[ValidityPeriod]:
        """What ``card_register`` and ``card_renew`` would have appended, ended by an inactivation
        the way ``card_inactivate`` ends them."""
        spans = [(ValidityPeriod.Cause.REGISTERED, *validity_period(card.issued_on))]
        if card.valid_from != card.issued_on:
            spans.append((ValidityPeriod.Cause.RENEWED, card.valid_from, card.valid_until))
        staff = self.site_staff.get(card.site_id)
        periods = []
        for cause, start, end in spans:
            ended = card.inactivated_on if card.inactivated_on and start <= card.inactivated_on <= end else None
            periods.append(
                ValidityPeriod(
                    card_id=card.pk,
                    valid_from=start,
                    valid_until=end,
                    ended_on=ended,
                    cause=cause,
                    site_id=card.site_id,
                    created_by_id=staff,
                    created_at=card.created_at if cause == ValidityPeriod.Cause.REGISTERED else self.moment(start, rng),
                )
            )
        return periods

    def holder(self, rng: random.Random, *, allow_two: bool):
        """One holder with one card, sometimes an earlier inactive card too; maybe an OmaKaiku login."""
        municipality = rng.choice(self.municipalities)
        codes = self.postal_codes.get(municipality.pk)
        postal_code = rng.choice(codes) if codes else f"{rng.randint(0, 99999):05d}"
        site = rng.choice(self.sites)
        organisation = rng.random() < 0.05

        # Issued over the last three years, half of them within the last year.
        days_ago = rng.randrange(0, 365) if rng.random() < 0.5 else rng.randrange(365, 3 * 365)
        issued = self.today - datetime.timedelta(days=days_ago)
        valid_from = issued
        if days_ago >= 330 and rng.random() < 0.2:
            # Renewed at some point: twelve months from the renewal day.
            valid_from = self.today - datetime.timedelta(days=rng.randrange(0, min(days_ago - 300, 365)))
        # An earlier card, lost or given up, that this one replaced.
        old_issued = (
            issued - datetime.timedelta(days=rng.randint(60, 700)) if allow_two and rng.random() < 0.08 else None
        )
        first_issued = old_issued or issued

        if organisation:
            name, role = rng.choice(ORGANISATIONS)
            holder = Holder(
                kind=Holder.Kind.ORGANISATION,
                municipality=municipality,
                postal_code=postal_code,
                organisation_name=f"{municipality.name}: {name}",
                representative_role=role,
            )
        else:
            holder = Holder(
                kind=Holder.Kind.CUSTOMER,
                municipality=municipality,
                postal_code=postal_code,
                # At least 16, or turning 16, in the year of the first registration.
                birth_year=rng.randint(1935, first_issued.year - MINIMUM_AGE),
                children_count=rng.choices(range(len(CHILDREN_WEIGHTS)), weights=CHILDREN_WEIGHTS)[0],
                gender=rng.choice(GENDERS),
                life_situation=rng.choice(LIFE_SITUATIONS),
            )

        omakaiku = rng.random() < (0.4 if organisation else 0.2)
        if omakaiku:
            kind = Card.Kind.Z if organisation else Card.Kind.X
            kind = kind if rng.random() < 0.5 else Card.Kind.PHYSICAL
            mobile = kind != Card.Kind.PHYSICAL or rng.random() < 0.7
        else:
            kind, mobile = Card.Kind.PHYSICAL, False
        created = self.moment(issued, rng)
        holder.created_at = created
        card = Card(
            kind=kind,
            holder=holder,
            site=site,
            issued_on=issued,
            valid_from=valid_from,
            valid_until=validity_period(valid_from)[1],
            mobile_enabled=mobile,
            created_at=created,
        )
        if rng.random() < 0.07:
            reason = rng.choices(BULK_INACTIVATION_REASONS, weights=[40, 30, 20, 10])[0]
            last_day = min(card.valid_until, self.today)
            card.status = Card.Status.INACTIVE
            card.inactivation_reason = reason
            card.inactivation_note = "Muu syy" if reason == Card.InactivationReason.OTHER else ""
            card.inactivated_on = valid_from + datetime.timedelta(days=rng.randint(0, (last_day - valid_from).days))
        cards = [card]

        if old_issued is not None:
            old_from, old_until = validity_period(old_issued)
            reason = rng.choice([Card.InactivationReason.LOST, Card.InactivationReason.GIVEN_UP])
            old = Card(
                kind=Card.Kind.PHYSICAL,
                holder=holder,
                # The new card is usually from the same site, but not always.
                site=site if rng.random() < 0.8 else rng.choice(self.sites),
                status=Card.Status.INACTIVE,
                issued_on=old_issued,
                valid_from=old_from,
                valid_until=old_until,
                inactivation_reason=reason,
                # Given up on the day the new card was registered (possibly after it had expired).
                inactivated_on=issued,
                created_at=self.moment(old_issued, rng),
            )
            holder.created_at = old.created_at
            cards.insert(0, old)

        user = None
        if omakaiku:
            activated = rng.random() < 0.75
            user = User(
                kind=User.Kind.HOLDER,
                password=make_password(None),
                language=rng.choices(["fi", "sv", "en"], weights=[85, 10, 5])[0],
                date_joined=created,
                invited_at=created,
                activated_at=created + datetime.timedelta(hours=rng.randint(1, 72)) if activated else None,
            )
            holder.account = user
        return user, holder, cards

    # uses

    def uses(self, count: int) -> None:
        rng = random.Random(SEED + CardUse.objects.count())
        year_ago = self.today - datetime.timedelta(days=364)
        eligible, cumulative, total_days = [], [], 0
        # A use counts only on a day inside one of the card's validity periods and before its
        # inactivation (venues.services): one stretch of eligible days per period.
        rows = ValidityPeriod.objects.filter(valid_until__gte=year_ago, valid_from__lte=self.today).values_list(
            "card_id",
            "valid_from",
            "valid_until",
            "ended_on",
            "card__inactivated_on",
            "card__holder__kind",
            "card__holder__children_count",
            "card__holder__municipality",
        )
        for pk, valid_from, valid_until, ended_on, inactivated_on, kind, children, municipality_id in rows.iterator(
            chunk_size=10_000
        ):
            start = max(valid_from, year_ago)
            end = min(valid_until, self.today)
            for stop in (ended_on, inactivated_on):
                if stop is not None:
                    end = min(end, stop - datetime.timedelta(days=1))
            if end < start:
                continue
            days = (end - start).days + 1
            total_days += days
            eligible.append((pk, start, days, kind, children or 0, self.region_of_municipality.get(municipality_id)))
            cumulative.append(total_days)
        if not eligible:
            self.command.stdout.write(
                self.command.style.WARNING("No card was valid during the last year: no uses added.")
            )
            return
        venues_by_region: dict[int, list[Site]] = {}
        for venue in self.venues:
            venues_by_region.setdefault(venue.municipality.region_id, []).append(venue)

        self.command.stdout.write(f"Adding {count:,} bulk card uses on {len(eligible):,} validity periods …")
        done = 0
        while done < count:
            size = min(self.CHUNK, count - done)
            uses = []
            # Cards valid for longer during the year get proportionally more uses.
            for pk, start, days, kind, children, region_id in rng.choices(eligible, cum_weights=cumulative, k=size):
                local = venues_by_region.get(region_id)
                venue = rng.choice(local if local and rng.random() < 0.85 else self.venues)
                used_on = start + datetime.timedelta(days=rng.randrange(days))
                category = rng.choices(CATEGORIES, weights=CATEGORY_WEIGHTS)[0]
                child_tickets = clients = 0
                assistants = 1 if rng.random() < 0.03 else 0
                if kind == Holder.Kind.ORGANISATION:
                    clients = rng.randint(1, 10)
                elif children and category != CardUse.Category.EDUCATION and rng.random() < 0.4:
                    # Adult-education courses have no child tickets.
                    child_tickets = rng.randint(1, children)
                uses.append(
                    CardUse(
                        card_id=pk,
                        venue_id=venue.pk,
                        used_on=used_on,
                        category=category,
                        child_tickets=child_tickets,
                        clients_under_16=clients,
                        assistant_tickets=assistants,
                        source=CardUse.Source.IMPORT if rng.random() < 0.05 else CardUse.Source.DESK,
                        recorded_by_id=self.venue_staff.get(venue.pk),
                        created_at=self.moment(used_on, rng),
                    )
                )
            with transaction.atomic(), _explicit_created_at(CardUse):
                CardUse.objects.bulk_create(uses, batch_size=self.batch_size)
            done += size
            self.progress("uses", done, count)
