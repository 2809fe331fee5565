"""Command-line options, their ini twins, and the frozen :class:`Settings` they resolve to.

One table (:mod:`pytest_slo._optiontable`): every field of :class:`Settings` that is an
option says, in its metadata, its flag, help, type, metavar and the environment variable it
falls back to. The option group, the ini names, the path options refused with a space and the conversions
all come from it. The environment is read here and nowhere else: :func:`resolve` keeps the
variables the live sources need (credentials, proxies, kubeconfig) in :attr:`Settings.environ`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from ._optiontable import OPTIONS, PATH_OPTIONS, Option, Settings
from .optionvalues import (
    due_offsets,
    pushgateway_problem,
    render_command_problem,
    rfc3339,
    seconds,
    slos_path_problem,
    template_problem,
    values_path_problem,
)
from .repo.layout import DEFAULT_VALUES_PATH, is_repository

__all__ = [
    "OPTIONS",
    "PATH_OPTIONS",
    "Option",
    "Settings",
    "add_options",
    "build",
    "from_ini",
    "refuse_spaced_paths",
    "resolve",
]


def refuse_spaced_paths(args: Sequence[str]) -> None:
    """Raise a usage error naming every path option written ``--opt PATH`` in ``args``."""
    problems = []
    for flag, value in pairwise(args):
        if flag == "--":
            break
        if flag in PATH_OPTIONS and not value.startswith("-"):
            problems.append(f"{flag} {value}: write {flag}={value}")
    if problems:
        raise pytest.UsageError(
            "\n".join(problems)
            + "\npytest reads a path after a space as a test path while it picks its rootdir and ini file,"
            " before pytest-slo's options are known, so the repository's ini settings"
            " (slo_site, slo_live, ...) could be dropped"
        )


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("slo", "pytest-slo: config, values and live SLO checks of a GitOps repository")
    for opt in OPTIONS:
        twin = f" [ini: {opt.ini}" + (f"; env: {opt.env}" if opt.env else "") + "]"
        if opt.type == "bool":
            group.addoption(opt.flag, action="store_true", dest=opt.ini, default=None, help=opt.help + twin)
            # read as text and judged here: pytest's own bool says "invalid truth value" and not whose
            parser.addini(opt.ini, opt.help + " (true or false)", type="string", default="")
        else:
            group.addoption(opt.flag, dest=opt.ini, default=None, metavar=opt.metavar, help=opt.help + twin)
            default = "" if opt.default is None or opt.type == "path" else str(opt.default)
            parser.addini(opt.ini, opt.help, type="string", default=default)


# --------------------------------------------------------------------------- conversions


def _numeric(opt: Option, text: str, invoked: Path) -> int | float:
    try:
        value: int | float = float(text) if opt.type == "float" else int(text)
    except ValueError:
        raise pytest.UsageError(f"{opt.names}: {text!r} is not a number") from None
    if value < 0 or (value == 0 and opt.type != "count"):
        least = "0 or more" if opt.type == "count" else "greater than 0"
        raise pytest.UsageError(f"{opt.names}: must be {least}, got {text}")
    return value


def _path(opt: Option, text: str, invoked: Path) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else invoked / path


def _duration(opt: Option, text: str, invoked: Path) -> str:
    try:
        due_offsets(text) if opt.type == "due" else seconds(text)
    except ValueError as exc:
        raise pytest.UsageError(f"{opt.names}: {exc}") from None
    return text


def _choice(opt: Option, text: str, invoked: Path) -> str:
    if text not in opt.choices:
        raise pytest.UsageError(f"{opt.names}: {text!r} is not {' or '.join(opt.choices)}")
    return text


def _url(opt: Option, text: str, invoked: Path) -> str:
    if opt.dest == "pushgateway" and (problem := pushgateway_problem(text)):
        raise pytest.UsageError(f"{opt.names}: {problem}")
    return text


_CONVERT: dict[str, Callable[[Option, str, Path], Any]] = {
    "list": lambda opt, text, invoked: tuple(sorted({s.strip() for s in text.split(",") if s.strip()})),
    "int": _numeric,
    "count": _numeric,
    "float": _numeric,
    "path": _path,
    "duration": _duration,
    "due": _duration,
    "choice": _choice,
    "url": _url,
}


#: Where an option's text comes from: flag, else ini (a pytest run), or the CLI's own flags,
#: else the repository's ini file (``pytest-slo explain``). None when neither sets it.
Lookup = Callable[[Option], Any]


def resolve(config: pytest.Config) -> Settings:
    """Flag, else ini, else environment, else default: once per run."""

    def lookup(opt: Option) -> Any:
        raw = config.getoption(opt.ini)
        if raw is not None:
            return raw
        ini = config.getini(opt.ini)
        if opt.type == "bool":
            return _truth(opt, ini)
        return None if ini in ("", None) or (opt.default is not None and ini == str(opt.default)) else ini

    return build(lookup, Path(config.invocation_params.dir), lambda: _default_root(config))


def from_ini(root: Path, given: Mapping[str, Any] | None = None) -> Settings:
    """The settings a gate at ``root`` runs with, read from the repository's ini file (the
    one pytest would pick there), with ``given`` (option dest → value) on top: for the
    commands that run outside pytest. Raises ``pytest.UsageError`` as :func:`resolve` does."""
    from .repo.layout import ini_settings

    section = ini_settings(root)
    given = dict(given or {})

    def lookup(opt: Option) -> Any:
        if given.get(opt.dest) not in (None, ""):
            return given[opt.dest]
        raw = section.get(opt.ini)
        return _truth(opt, raw) if opt.type == "bool" else raw

    return build(lookup, Path.cwd(), lambda: root)


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")


def _truth(opt: Option, raw: Any) -> bool | None:
    """An ini boolean: True, or None (the default, False) — anything else names the option."""
    text = str(raw if raw is not None else "").strip().lower()
    if text in _TRUE or raw is True:
        return True
    if text in _FALSE or raw is False:
        return None
    raise pytest.UsageError(f"{opt.ini}: {raw!r} is not true or false")


def build(lookup: Lookup, invoked: Path, default_root: Callable[[], Path]) -> Settings:
    """Each option's text from ``lookup``, else its environment variable, converted and
    checked; paths relative to ``invoked``."""
    environ = live_environ(os.environ)
    values: dict[str, Any] = {"environ": environ}
    given: set[str] = set()
    for opt in OPTIONS:
        raw = lookup(opt)
        if raw is None and opt.env:
            raw = environ.get(opt.env) or None
        if raw is None:
            continue
        given.add(opt.dest)
        if opt.type == "bool":
            values[opt.dest] = bool(raw)
            continue
        text = str(raw).strip()
        if text == "":
            continue
        convert = _CONVERT.get(opt.type)
        values[opt.dest] = convert(opt, text, invoked) if convert else text
    # one spelling of the root, whatever was typed: every path of the run is compared with it
    values["root"] = Path(values["root"] if "root" in values else default_root()).resolve()
    for check in _CHECKS:
        check(values, given)
    return Settings(**values)


# --------------------------------------------------------------------------- checks across options


def _check_template(values: dict[str, Any], given: set[str]) -> None:
    if "postmortem_template" in values and (problem := template_problem(values["postmortem_template"])):
        raise pytest.UsageError(f"--postmortem-template / slo_postmortem_template: {problem}")


def _check_snapshot_time(values: dict[str, Any], given: set[str]) -> None:
    if "kube_snapshot_time" in values:
        name = "--kube-snapshot-time / slo_kube_snapshot_time"
        try:
            values["kube_snapshot_time"] = rfc3339(values["kube_snapshot_time"])
        except ValueError as exc:
            raise pytest.UsageError(f"{name}: {exc}") from None
        if "kube_snapshot" not in values:
            raise pytest.UsageError(
                f"{name}: only applies with --kube-snapshot=FILE (a cluster is judged at the current time)"
            )


def _check_fail_on(values: dict[str, Any], given: set[str]) -> None:
    if values.get("fail_on") == "new" and "baseline" not in values:
        raise pytest.UsageError(
            "--fail-on=new needs --baseline=PATH (last run's findings.json): without one every finding is new"
        )


def _check_slos_path(values: dict[str, Any], given: set[str]) -> None:
    if problem := slos_path_problem(values["root"], values.get("slos_path", "slos"), "slos_path" in given):
        raise pytest.UsageError(f"--slos-path / slo_slos_path: {problem}")


def _check_values_path(values: dict[str, Any], given: set[str]) -> None:
    if problem := values_path_problem(values.get("values_path", DEFAULT_VALUES_PATH)):
        raise pytest.UsageError(f"--values-path / slo_values_path: {problem}")


def _check_render_command(values: dict[str, Any], given: set[str]) -> None:
    if "render_command" in values and (problem := render_command_problem(values["render_command"])):
        raise pytest.UsageError(f"--render-command / slo_render_command: {problem}")


_CHECKS: tuple[Callable[[dict[str, Any], set[str]], None], ...] = (
    _check_template,
    _check_snapshot_time,
    _check_fail_on,
    _check_slos_path,
    _check_values_path,
    _check_render_command,
)


def _default_root(config: pytest.Config) -> Path:
    """pytest's rootdir, unless it holds no sites/ and the invocation folder does.

    A test path outside the repository (``pytest /elsewhere/test_x.py``, no ini file) moves
    pytest's rootdir away from it; the folder pytest was started in is then the repository.
    Path options written with a space are refused earlier (:func:`refuse_spaced_paths`).
    """
    rootpath = Path(config.rootpath)
    invoked = Path(config.invocation_params.dir)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        # ``pytest path/to/repo`` (or a file in it) from a folder with an ini file of its own:
        # the repository is the nearest folder with sites/ at or above what is collected
        for arg in config.args:
            path = (invoked / arg.split("::")[0]).resolve()
            for folder in (path, *path.parents):
                if is_repository(folder):
                    return folder
    if not is_repository(rootpath) and is_repository(invoked):
        return invoked
    return rootpath


#: The variables a live source may use: ours, the proxy settings, and where the cluster is.
_LIVE_ENV = re.compile(r"^(SLO_\w+|(?i:https?_proxy|no_proxy)|KUBECONFIG|KUBERNETES_SERVICE_(HOST|PORT))$")


def live_environ(environ: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of the variables in ``environ`` that live sources may use."""
    return MappingProxyType({k: v for k, v in environ.items() if _LIVE_ENV.match(k)})
