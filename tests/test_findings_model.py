import json
import math
from decimal import Decimal
from pathlib import Path

from pytest_slo.findings.model import atomic_write, jsonable, sort_findings


def test_evidence_becomes_strict_json() -> None:
    value = jsonable(
        {"ratio": math.inf, "nan": math.nan, "neg": -math.inf, "d": Decimal("0.25"), "t": (1, 2), "p": Path("a")}
    )
    assert value == {"ratio": "+Inf", "nan": "NaN", "neg": "-Inf", "d": 0.25, "t": [1, 2], "p": "a"}
    json.loads(json.dumps(value), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_findings_sort_most_severe_first_then_node_id() -> None:
    found = sort_findings(
        [{"severity": "P2", "nodeid": "b"}, {"severity": "P1", "nodeid": "z"}, {"severity": "P2", "nodeid": "a"}]
    )
    assert [(f["severity"], f["nodeid"]) for f in found] == [("P1", "z"), ("P2", "a"), ("P2", "b")]


def test_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write(target, "one")
    atomic_write(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_a_report_gets_the_mode_of_any_new_file_not_a_private_one(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "findings.json", "{}")
        os.umask(0o077)
        atomic_write(tmp_path / "private.json", "{}")
    finally:
        os.umask(old)
    assert (
        stat.S_IMODE((tmp_path / "findings.json").stat().st_mode) == 0o644
    )  # readable by a CI uploader or a web server
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600  # the umask decides, as for any file
