"""The draft as a file: generated parts rewritten, a person's text kept byte for byte, the state
read back exactly (no server)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_slo.incident.draft import merge, part, read_state, split, state_part

PERSON = "Jane wrote this\r\nwith a Windows line end, *emphasis* and a trailing space \n"


def test_parts_are_replaced_and_the_rest_is_kept() -> None:
    old = (
        "# Title a person renamed\n\n"
        + part("header", "| old |")
        + "\n"
        + PERSON
        + "\n"
        + part("timeline", "old rows")
        + "\nthe end, no newline"
    )
    new = "# Title\n\n" + part("header", "| new |") + "\nscaffold\n\n" + part("timeline", "new rows") + "\n"
    merged = merge(old, new)
    assert merged == ("# Title a person renamed\n\n" + part("header", "| new |") + "\n" + PERSON + "\n"
                      + part("timeline", "new rows") + "\nthe end, no newline")


def test_a_part_only_the_new_rendering_has_goes_after_its_predecessor() -> None:
    old = part("a", "1") + "\nmine\n\n" + part("c", "3")
    new = part("a", "one") + "\n" + part("b", "two") + "\n" + part("c", "three")
    assert merge(old, new) == part("a", "one") + "\n" + part("b", "two") + "\nmine\n\n" + part("c", "three")
    # before every part it knows: at the end
    assert merge("only text\n", part("state", "s")) == "only text\n\n" + part("state", "s")


def test_a_broken_part_is_the_persons_text_and_the_fresh_part_follows() -> None:
    broken = "<!-- pytest-slo:begin summary -->\nI deleted the end marker and wrote here\n"
    old = part("header", "h") + "\n" + broken
    merged = merge(old, part("header", "H") + "\n" + part("summary", "fresh"))
    assert merged == part("header", "H") + "\n" + part("summary", "fresh") + "\n" + broken
    assert merge(merged, part("summary", "again")).count("I deleted the end marker") == 1  # and stays so
    # nested markers are no part either: nothing inside is lost
    nested = part("a", part("b", "x"))
    assert merge(nested, part("a", "y")) == nested + "\n" + part("a", "y")


PIECES = [
    "a",
    "\n",
    "\r",
    " ",
    "<!-- pytest-slo:begin x -->",
    "<!-- pytest-slo:end x -->",
    "<!-- pytest-slo:begin y -->",
    "-->",
]


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_any_text_splits_and_joins_back_exactly(text: str) -> None:
    assert "".join(s.text for s in split(text)) == text
    # every run of a person's text survives any merge as it was (a lone \r ends a line too: the
    # text around a part is two runs, which a merge keeps apart)
    merged = merge(text, part("x", "fresh"))
    assert all(s.text in merged for s in split(text) if s.name is None)


def test_the_state_reads_back_whatever_its_strings_hold() -> None:
    state = {
        "title": "a --> b -- c > d",
        "n": -1.5,
        "findings": [{"message": "<!-- nested -->"}],
        "checks": {"k@a": {"first": None}},
    }
    text = "prose\n\n" + state_part(state)
    assert read_state(text) == {**state, "pytest_slo_state": 1}
    comment = text.split("<!--\n", 1)[1].rsplit("\n-->", 1)[0]
    assert "--" not in comment and ">" not in comment  # the comment cannot end early
    # a file without a state, or with another version's, is no draft of ours
    assert read_state("# notes\n") is None
    assert read_state(state_part(state).replace('"pytest_slo_state": 1', '"pytest_slo_state": 99')) is None
    assert read_state(part("state", "<!--\nnot json\n-->")) is None
