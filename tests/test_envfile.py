import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_slo.repo.envfile import EnvFileError, parse_env


def test_values_comments_quotes_and_lines() -> None:
    env = parse_env(
        "# header\n\nRELEASE=1.15\nexport A='x y'  # note\nB=\"q \\\"x\\\"\"\nC=2Gi  # Was: 512Mi\nD=a#b\n",
        "sites/p/config.env",
    )
    assert env.values == {"RELEASE": "1.15", "A": "x y", "B": 'q "x"', "C": "2Gi", "D": "a#b"}
    assert env.line_of("C") == 6
    assert not env.problems


def test_problems_name_file_and_line_and_keep_going() -> None:
    env = parse_env("A=1\nbroken line\nA=2\n1BAD=x\nC='open\nD=4\n", "c.env")
    assert [(p.line, p.message.split(":")[0]) for p in env.problems] == [
        (2, "line has no '='"),
        (3, "duplicate key A (first set on line 1)"),
        (4, "'1BAD' is not a valid key"),
        (5, "unterminated ' quote"),
    ]
    assert str(env.problems[0]).startswith("c.env:2: ")
    assert env.values == {"A": "1", "D": "4"}


def test_template_syntax_in_a_value_is_kept_as_text() -> None:
    assert parse_env("A={{ 7*7 }}\n").values == {"A": "{{ 7*7 }}"}


@given(st.text())
def test_parser_only_ever_reports_its_own_error_type(text: str) -> None:
    env = parse_env(text, "fuzz.env")
    for problem in env.problems:
        assert isinstance(problem, EnvFileError)
        assert problem.path == "fuzz.env" and problem.line is not None
    if env.problems:
        with pytest.raises(EnvFileError):
            env.raise_first()
    else:
        env.raise_first()


@given(
    st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True),
        st.text(
            alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="'\"#"),
            max_size=20,
        ).map(str.strip),
    )
)
def test_roundtrip_of_plain_values(values: dict[str, str]) -> None:
    text = "".join(f"{k}={v}\n" for k, v in values.items())
    assert parse_env(text).values == values


def test_a_line_that_is_not_utf8_is_named_and_the_rest_is_still_read(tmp_path) -> None:
    from pytest_slo.repo.envfile import read_env

    path = tmp_path / "config.env"
    path.write_bytes(b"RELEASE=1.15\nREDIS_REPLICAS=3\n\xff\xfe=1\nKUBE_NAMESPACE=production\n")
    env = read_env(path, "sites/x/config.env")
    assert [str(p) for p in env.problems] == [
        "sites/x/config.env:3: not UTF-8 text (invalid start byte at byte 1 of the line) (save the file as UTF-8)"
    ]
    assert env.values == {"RELEASE": "1.15", "REDIS_REPLICAS": "3", "KUBE_NAMESPACE": "production"}
