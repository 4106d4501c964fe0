"""The gateway's edge cache of access answers: kept until an event, the TTL or valid_until says otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azotte_gateway.domain.access_cache import AccessCache

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALICE = ("acme", "alice")


class Ticking:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cache(clock: Ticking, max_customers: int = 100) -> AccessCache[str]:
    return AccessCache(ttl_seconds=5.0, settle_seconds=0.25, max_customers=max_customers, monotonic=clock)


def test_an_answer_is_kept_per_customer_and_feature_until_its_time_to_live_ends() -> None:
    clock = Ticking()
    answers = cache(clock)
    answers.put(ALICE, answers.ticket(ALICE), "hd", "allowed", None)
    assert answers.get(ALICE, "hd", NOW) == "allowed"
    assert answers.get(ALICE, "uhd", NOW) is None
    assert answers.get(("acme", "bob"), "hd", NOW) is None
    assert answers.get(("other-tenant", "alice"), "hd", NOW) is None
    clock.now += 4.9
    assert answers.get(ALICE, "hd", NOW) == "allowed"
    clock.now += 0.1
    assert answers.get(ALICE, "hd", NOW) is None


def test_an_answer_is_not_used_once_the_access_it_describes_has_ended() -> None:
    answers = cache(Ticking())
    answers.put(ALICE, answers.ticket(ALICE), "hd", "allowed until noon", NOW + timedelta(minutes=1))
    assert answers.get(ALICE, "hd", NOW + timedelta(seconds=59)) == "allowed until noon"
    assert answers.get(ALICE, "hd", NOW + timedelta(minutes=1)) is None


def test_an_event_about_the_customer_drops_their_answers_and_holds_off_caching_while_replicas_settle() -> None:
    clock = Ticking()
    answers = cache(clock)
    answers.put(ALICE, answers.ticket(ALICE), "hd", "allowed", None)
    answers.invalidate(ALICE)
    assert answers.get(ALICE, "hd", NOW) is None
    answers.put(ALICE, answers.ticket(ALICE), "hd", "maybe stale", None)
    assert answers.get(ALICE, "hd", NOW) is None
    clock.now += 0.25
    answers.put(ALICE, answers.ticket(ALICE), "hd", "denied", None)
    assert answers.get(ALICE, "hd", NOW) == "denied"


def test_an_answer_fetched_before_an_event_arrived_is_not_kept() -> None:
    clock = Ticking()
    answers = cache(clock)
    in_flight = answers.ticket(ALICE)
    answers.invalidate(ALICE)  # the event lands while the entitlement service is still answering
    clock.now += 1
    answers.put(ALICE, in_flight, "hd", "from before the change", None)
    assert answers.get(ALICE, "hd", NOW) is None


def test_the_cache_holds_at_most_max_customers_dropping_the_oldest() -> None:
    answers = cache(Ticking(), max_customers=2)
    for customer in ("a", "b", "c"):
        answers.put(("acme", customer), answers.ticket(("acme", customer)), "hd", customer, None)
    assert len(answers) == 2
    assert answers.get(("acme", "a"), "hd", NOW) is None
    assert answers.get(("acme", "c"), "hd", NOW) == "c"


def test_clear_forgets_everything() -> None:
    answers = cache(Ticking())
    answers.put(ALICE, answers.ticket(ALICE), "hd", "allowed", None)
    answers.clear()
    assert answers.get(ALICE, "hd", NOW) is None


def test_a_tenant_whose_clock_moved_loses_its_answers_and_no_other_tenant_does() -> None:
    clock = Ticking()
    answers = cache(clock)
    globex = ("globex", "alice")
    for customer in (ALICE, globex):
        answers.put(customer, answers.ticket(customer), "hd", "allowed", None)
    in_flight = answers.ticket(ALICE)
    answers.forget_tenant("acme")
    assert answers.get(ALICE, "hd", NOW) is None
    assert answers.get(globex, "hd", NOW) == "allowed"
    answers.put(ALICE, in_flight, "hd", "allowed", None)  # fetched before acme's clock moved
    assert answers.get(ALICE, "hd", NOW) is None
