"""YAML as the gate reads it: a repeated key is an error naming both lines, as newer helm
lint (helm/helm#32363, strict values parsing) and check-jsonschema's ruamel.yaml loader do;
YAML's own override mechanism (``<<`` merge keys) is not a repeat."""

from __future__ import annotations

import pytest
import yaml

from pytest_slo import yamlio
from pytest_slo.errors import ConfigError
from pytest_slo.yamlio import Duplicate, DuplicateKeyError, load_yaml

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
