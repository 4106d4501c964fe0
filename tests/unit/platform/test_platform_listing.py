"""AIP-160 filters and order_by: what a list accepts, and errors that name the field."""

import pytest

from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Filter, Ordering, page_in_order
from azotte_platform.paging import PageRequest

FIELDS = {"state": EQUALITY, "create_time": COMPARISONS, "email": EQUALITY}


def test_a_conjunction_of_comparisons_parses_with_quoted_values() -> None:
    parsed = Filter.parse('state = ACTIVE AND create_time >= "2026-01-01T00:00:00Z" AND email = "a AND b"', FIELDS)
    assert parsed.value("state") == "ACTIVE"
    assert parsed.value("create_time", ">=") == "2026-01-01T00:00:00Z"
    assert parsed.value("email") == "a AND b"
    assert parsed.value("create_time", "<") is None


def test_an_empty_filter_has_no_conditions() -> None:
    assert Filter.parse("  ", FIELDS).conditions == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("plan = x", "cannot filter on 'plan'"),
        ("state > ACTIVE", "'state' accepts only ="),
        ("state", "expected `field op value`"),
        ("state = A AND state = B", "given twice"),
        ("x" * 3000, "at most 2048"),
    ],
)
def test_a_bad_filter_names_the_filter_field(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        Filter.parse(text, FIELDS)
    assert "filter" in str(error.value) and message in str(error.value)


def test_order_by_defaults_and_accepts_desc() -> None:
    assert Ordering.parse("", ["create_time", "email"], "create_time desc").keys == (("create_time", True),)
    both = Ordering.parse("email, create_time desc", ["create_time", "email"], "email")
    assert both.text == "email, create_time desc"


@pytest.mark.parametrize("text", ["plan", "email sideways", "email desc extra"])
def test_a_bad_order_by_names_the_order_by_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        Ordering.parse(text, ["create_time", "email"], "email")
    assert "order_by" in str(error.value)


def test_the_canonical_form_is_independent_of_the_order_written() -> None:
    one = Filter.parse("state = A AND email = b", FIELDS)
    two = Filter.parse("email = b AND state = A", FIELDS)
    assert one.canonical() == two.canonical()


def test_a_list_in_memory_is_walked_once_in_mixed_order_across_pages() -> None:
    items = [("b", "1"), ("a", "2"), ("b", "3"), ("a", "4"), ("c", "5")]
    ordering = Ordering.parse("letter desc, id", ["letter", "id"], "letter")
    keys = {"letter": lambda item: item[0], "id": lambda item: item[1]}
    seen, token = [], ""
    while True:
        paging = PageRequest(2, None, ("q",)) if not token else PageRequest.of(_Page(2, token), "q")
        page = page_in_order(items, ordering, keys, lambda item: item[1], paging)
        seen += page.items
        token = page.next_page_token
        if not token:
            break
    assert seen == [("c", "5"), ("b", "1"), ("b", "3"), ("a", "2"), ("a", "4")]


class _Page:
    def __init__(self, page_size: int, page_token: str):
        self.page_size, self.page_token = page_size, page_token
