"""YAML as the gate reads it: a repeated key is an error naming both lines, as newer helm
lint (helm/helm#32363, strict values parsing) and check-jsonschema's ruamel.yaml loader do;
YAML's own override mechanism (``<<`` merge keys) is not a repeat."""

from __future__ import annotations

import pytest
import yaml

from pytest_slo import yamlio
from pytest_slo.errors import ConfigError
from pytest_slo.yamlio import Duplicate, DuplicateKeyError, load_documents, load_yaml

# the shape of helm/helm issue #4107's report: `image` written twice at the top level
HELM_4107 = """\
replicaCount: 1

image:
  repository: nginx
  tag: stable
  pullPolicy: IfNotPresent
image:
  repository: nginx
  tag: stable
  pullPolicy: Always
"""


@pytest.fixture(params=["C", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "C" and not hasattr(yaml, "CSafeLoader"):
        pytest.skip("libyaml is not available")
    monkeypatch.setattr(yamlio, "Loader", yaml.CSafeLoader if request.param == "C" else yaml.SafeLoader)


@pytest.mark.usefixtures("loader")
def test_a_repeated_top_level_key_names_both_lines() -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        load_yaml(HELM_4107, "values.yaml")
    assert caught.value.duplicates == [Duplicate(("image",), 7, 3)]
    assert str(caught.value) == (
        "values.yaml:7: duplicate key 'image' (first at line 3) "
        "(YAML keeps only the last value and helm lint rejects the file: remove one of them)"
    )
    assert isinstance(caught.value, ConfigError) and caught.value.line == 7


@pytest.mark.usefixtures("loader")
def test_every_repeat_is_found_nested_and_in_lists() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\nl:\n  - {k: 1, k: 2}\na: 3\n"
    with pytest.raises(DuplicateKeyError) as caught:
        load_yaml(text, "f.yaml")
    assert [d.describe("f.yaml") for d in caught.value.duplicates] == [
        "f.yaml:4: duplicate key 'b.c' (first at line 3)",
        "f.yaml:6: duplicate key 'l.0.k' (first at line 6)",
        "f.yaml:7: duplicate key 'a' (first at line 1)",
    ]
    assert str(caught.value).startswith("f.yaml:4: duplicate key 'b.c' (first at line 3) and 2 more")


@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("base: &b {x: 1, y: 1}\nd:\n  <<: *b\n  x: 2\n", {"base": {"x": 1, "y": 1}, "d": {"x": 2, "y": 1}}),
        ("1: int\n'1': str\n", {1: "int", "1": "str"}),
        ("same: {a: 1}\nother: {a: 1}\n", {"same": {"a": 1}, "other": {"a": 1}}),
        ("", None),
        ("# only a comment\n", None),
    ],
)
def test_what_is_not_a_repeat_loads_as_before(text: str, expected: object) -> None:
    assert load_yaml(text, "f.yaml") == expected == yaml.safe_load(text)


@pytest.mark.usefixtures("loader")
def test_syntax_errors_still_name_their_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: [1\nb: 2\n", "f.yaml")
    assert not isinstance(caught.value, DuplicateKeyError)
    assert caught.value.where == "f.yaml:2" and caught.value.message.startswith("not valid YAML")


# PyYAML resolves anything shaped like YYYY-MM-DD to a timestamp and then fails to build an
# impossible one with the datetime module's own ValueError (a date that does not exist).
@pytest.mark.usefixtures("loader")
@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "waivers:\n  - check: a\n    until: 2026-02-30\n",
            "w.yaml:3: 2026-02-30 is not a date: day is out of range for month (write a real date, or quote it "
            "('2026-02-30') if it is text)",
        ),
        (
            "at: 2026-11-27 25:00:00\n",
            "w.yaml:1: 2026-11-27 25:00:00 is not a date and time: hour must be in 0..23 (write a real date and "
            "time, or quote it ('2026-11-27 25:00:00') if it is text)",
        ),
    ],
    ids=["date", "time"],
)
def test_an_impossible_date_is_an_error_at_its_line(text: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text, "w.yaml")
    assert str(caught.value) == said
    assert load_yaml(
        text.replace("2026-02-30", "'2026-02-30'").replace("25:00:00", "23:00:00"), "w.yaml"
    )  # quoted or real, it loads


@pytest.mark.usefixtures("loader")
def test_a_stream_of_documents_reports_each_bad_one_and_reads_the_others() -> None:
    text = "a: 1\n---\nb: 2026-02-30\n---\n\n---\nc: 1\nc: 2\n---\nd: [4\n"
    documents, problems = load_documents(text, "s.yaml")
    assert [data for data, _ in documents] == [{"a": 1}]
    assert [str(p) for p in problems[:2]] == [
        "s.yaml:3: 2026-02-30 is not a date: day is out of range for month (write a real date, or quote it "
        "('2026-02-30') if it is text)",
        "s.yaml:8: duplicate key 'c' (first at line 7)",
    ]
    # the C and the pure loader word a syntax error differently; both end the stream there
    assert len(problems) == 3 and str(problems[2]).startswith("s.yaml:11: not valid YAML: ")
    assert load_documents("x: 1\n---\ny: 2\n", "s.yaml")[0][1][0] == {"y": 2}
