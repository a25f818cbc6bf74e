"""One load scenario, driven by locust in this process; prints its figures as one JSON line.

Started by ``bench/load.py`` (which seeds, serves and checks); not meant to be run by hand.
Each scenario logs in once per role before the clock starts and shares that session among its
simulated users, so the figures measure the page, not the login (logins are a scenario of their
own). Cookies travel in a hand-made ``Cookie`` header: the server runs with production
settings, whose cookies are marked Secure, and a client speaking plain HTTP to 127.0.0.1 would
otherwise drop them.
"""

import argparse
import itertools
import json
import random
import re
import sys
import time

import gevent
from locust import HttpUser, constant, task
from locust.env import Environment

PASSWORD = "kaikukortti-demo"
_COOKIE = re.compile(r"^([^=;\s]+)=([^;]*)")


def _cookies_from(response, jar: dict) -> dict:
    for header in response.raw.headers.getlist("Set-Cookie") if response.raw is not None else []:
        match = _COOKIE.match(header)
        if match:
            jar[match.group(1)] = match.group(2)
    return jar


def _cookie_header(jar: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items() if value)


def _form_fields(html: str, form_action: str) -> dict:
    """The inputs and selected options of the form that posts to ``form_action``."""
    start = html.find(f'action="{form_action}"')
    if start < 0:
        raise ValueError(f"no form posting to {form_action}")
    form = html[start : html.find("</form>", start)]
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            fields[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body) or re.search(r'<option value="([^"]*)"', body)
        fields[name] = chosen.group(1) if chosen else ""
    return fields


def login(client, path: str, email: str, ip: str) -> dict:
    """A fresh session for ``email``: the cookies that carry it."""
    headers = {"X-Forwarded-For": ip}
    response = client.get(path, headers=headers, name="(login, not measured)")
    jar = _cookies_from(response, {})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text).group(1)
    response = client.post(
        path,
        data={"login": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers=headers | {"Cookie": _cookie_header(jar)},
        allow_redirects=False,
        name="(login, not measured)",
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {email} at {path} answered {response.status_code}")
    return _cookies_from(response, jar)


class Scenario(HttpUser):
    """Configured by ``run`` before the users start; each user repeats the scenario's request."""

    wait_time = constant(0)
    data: dict = {}
    sessions: dict = {}
    request_name = ""
    serial = itertools.count(1)

    def on_start(self):
        self.rng = random.Random(next(self.serial))
        self.ip = f"10.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    def _get(self, path, *, role=None, expect=200, name=None):
        headers = {"X-Forwarded-For": self.ip}
        if role:
            headers["Cookie"] = _cookie_header(self.sessions[role])
        with self.client.get(
            path, headers=headers, name=name or self.request_name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"{path}: {response.status_code}, expected {expect}")
            return response

    @task
    def step(self):
        getattr(self, "scenario_" + self.data["scenario"].replace("-", "_"))()

    # --- the scenarios ----------------------------------------------------------------------

    def scenario_health(self):
        self._get("/healthz")

    def scenario_ready(self):
        self._get("/readyz")

    def scenario_signed_in(self):
        # Every middleware, the session, the user and their roles, and no page: what any signed-in
        # page costs before its own work.
        self._get("/", role="distributor", expect=302)

    def scenario_card_list(self):
        self._get("/cards/", role="distributor")

    def scenario_card_list_deep(self):
        self._get(self.data["deep_page"], role="distributor")

    def scenario_card_search(self):
        self._get(f"/cards/?number={self.rng.choice(self.data['own_numbers'])}", role="distributor", expect=302)

    def scenario_card_page(self):
        self._get(f"/cards/{self.rng.choice(self.data['own_card_ids'])}/", role="distributor")

    def scenario_card_check(self):
        self._get(f"/cards/check/?number={self.rng.choice(self.data['any_numbers'])}", role="distributor")

    def scenario_desk_lookup(self):
        self._get(f"/venue/?number={self.rng.choice(self.data['valid_numbers'])}", role="venue")

    def scenario_record_use(self):
        # The whole flow at the desk: look the card up, record, follow the redirect.
        number = self.rng.choice(self.data["valid_numbers"])
        page = self._get(f"/venue/?number={number}", role="venue", name="record use: look-up")
        try:
            fields = _form_fields(page.text, "/venue/record/")
        except ValueError:
            return
        fields["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        headers = {"X-Forwarded-For": self.ip, "Cookie": _cookie_header(self.sessions["venue"])}
        with self.client.post(
            "/venue/record/",
            data=fields,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
            name=self.request_name,
        ) as response:
            if response.status_code != 302:
                response.failure(f"record: {response.status_code}")
                return
            print(json.dumps({"recorded": fields["token"]}), flush=True)
        self._get(response.headers["Location"], role="venue", name="record use: desk after the redirect")

    def scenario_omakaiku_home(self):
        self._get("/omakaiku/", role="holder")

    def scenario_omakaiku_uses(self):
        self._get("/omakaiku/uses/", role="holder")

    def scenario_omakaiku_offers(self):
        self._get("/omakaiku/offers/", role="holder")

    def scenario_omakaiku_mobile_card(self):
        self._get(self.data["mobile_card"], role="holder")

    def scenario_stats_public(self):
        self._get("/stats/")

    def scenario_stats_site(self):
        self._get("/stats/dashboard/", role="distributor")

    def scenario_stats_venue(self):
        self._get("/stats/dashboard/", role="venue")

    def scenario_login(self):
        # A new person each time: a fresh cookie jar, the form, the post, the redirect.
        self.ip = f"10.9.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
        started = time.perf_counter()
        try:
            login(self.client, "/accounts/login/", self.data["logins"]["distributor"], self.ip)
        except (RuntimeError, AttributeError) as error:
            self.environment.events.request.fire(
                request_type="POST",
                name=self.request_name,
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=error,
            )
            return
        self.environment.events.request.fire(
            request_type="POST",
            name=self.request_name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None,
        )


def run(*, host: str, data: dict, users: int, seconds: float) -> dict:
    Scenario.data = data
    Scenario.request_name = data["scenario"]
    Scenario.host = host
    environment = Environment(user_classes=[Scenario], host=host, stop_timeout=30)
    # One login per role, before the clock starts (with a throwaway user for its HTTP client).
    setup_client = Scenario(environment).client
    roles = {"distributor": "/accounts/login/", "venue": "/accounts/login/", "holder": "/omakaiku/login/"}
    Scenario.sessions = {
        role: login(setup_client, path, data["logins"][role], f"10.8.0.{index + 1}")
        for index, (role, path) in enumerate(roles.items())
    }
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users)
    # Warm-up: every user has had an answer (the first answers fill caches, e.g. the statistics
    # tables after a change), or a minute has passed. The slowest of them is reported as "cold".
    warm_up_deadline = time.monotonic() + 60
    gevent.sleep(1.0)
    while environment.stats.total.num_requests < users and time.monotonic() < warm_up_deadline:
        gevent.sleep(0.1)
    cold_ms = environment.stats.total.max_response_time
    environment.stats.reset_all()
    started = time.perf_counter()
    gevent.sleep(seconds)
    elapsed = time.perf_counter() - started
    figures = _figures(environment, elapsed)
    errors = [f"{error.name}: {error.error}" for error in environment.stats.errors.values()][:5]
    # Requests under way finish (and report what they recorded) before the users stop.
    runner.stop()
    deadline = time.monotonic() + 30
    while runner.user_count and time.monotonic() < deadline:
        gevent.sleep(0.05)
    runner.quit()
    return {"figures": figures, "errors": errors, "cold_ms": cold_ms}


def _figures(environment, elapsed: float) -> dict:
    figures = {}
    for (name, _method), entry in environment.stats.entries.items():
        if name.startswith("("):
            continue
        figures[name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.num_requests / elapsed,
            "p50": entry.get_response_time_percentile(0.50),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--data", required=True, help="a JSON file written by bench/load.py")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with open(args.data) as handle:
        data = json.load(handle) | {"scenario": args.scenario}
    result = run(host=args.host, data=data, users=args.users, seconds=args.seconds)
    print(json.dumps({"result": result}), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
