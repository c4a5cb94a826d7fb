"""Hypothesis-generated mutations of the example catalog (examples/catalog.yaml), fed to the
loader and to `accessctl catalog validate`: each broken file is refused with problems that say
where (path and line) and what, never with a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from entitlements.catalog import CatalogFile
from entitlements.loading import InvalidCatalogError, load_catalog, parse_catalog
from starter.cli import app
from tests.factories import example_catalog
from tests.hostile import control_characters

MUTATIONS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Path_ = tuple[str | int, ...]


def containers(value: Any, path: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every mapping and list in the catalog with its path, the root first."""
    found = []
    if isinstance(value, dict | list):
        found.append((path, value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            found += containers(item, (*path, key))
    return found


def dotted(path: Path_) -> str:
    """A path as the loader prints it: catalogs[0].accessPackages[1].id"""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def line_of_key(text: str, path: Path_) -> int:
    """The line where the value at `path` starts, read from the YAML itself."""
    node = yaml.compose(text)
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next(value for key, value in node.value if key.value == part)
        else:
            node = node.value[part]
    return node.start_mark.line + 1


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.tuples(st.text(max_size=10), control_characters).map("".join),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    st.sampled_from(
        ["-P1D", "P", "PT0S", "14 days", "2027-13-45T00:00:00Z", "singleUser", "notSpecified",
         "finance-read", "unknown-resource", "6f1b6c2e-0000-4000-8000-000000000001", "x" * 5000]
    ),
)  # fmt: skip


@st.composite
def mutated_catalogs(draw) -> dict:
    """The example catalog with one to three changes: a key removed, a value replaced by junk,
    a list item duplicated or dropped, an id or reference renamed."""
    data = example_catalog()
    for _ in range(draw(st.integers(1, 3))):
        path, container = draw(st.sampled_from(containers(data)))
        if not container:
            continue
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        key = draw(st.sampled_from(keys))
        kind = draw(st.sampled_from(["remove", "replace", "duplicate", "rename"]))
        if kind == "remove":
            del container[key]
        elif kind == "replace":
            container[key] = draw(junk)
        elif kind == "duplicate" and isinstance(container, list):
            container.append(container[key])
        elif isinstance(container[key], str):
            container[key] = container[key] + draw(st.sampled_from(["-x", "", " ", "\t", "Z"]))
    return data


@st.composite
def broken_texts(draw) -> bytes:
    """The example catalog's text, cut, spliced or with bytes that are no text at all."""
    text = yaml.safe_dump(draw(mutated_catalogs()), sort_keys=False, allow_unicode=True)
    at = draw(st.integers(0, len(text)))
    kind = draw(st.sampled_from(["cut", "insert", "bytes", "indent"]))
    if kind == "cut":
        return text[:at].encode()
    if kind == "insert":
        inserted = draw(
            st.one_of(st.sampled_from(list(":-{}[]&*!|>'\"#%@`\t\x00\x1b")), st.text(max_size=5))
        )
        return (text[:at] + inserted + text[at:]).encode()
    if kind == "indent":
        lines = text.splitlines(keepends=True)
        line = draw(st.integers(0, len(lines) - 1))
        lines[line] = draw(st.sampled_from([" ", "   ", "\t"])) + lines[line]
        return "".join(lines).encode()
    return text[:at].encode() + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9t\xe9", b"\x80"]))


def assert_well_reported(error: InvalidCatalogError, text: str, *, yaml_ok: bool) -> None:
    """Every problem says what is wrong and where: a line in the file, and a path whenever
    the file was a readable YAML mapping."""
    assert error.problems
    last_line = text.count("\n") + 1
    for problem in error.problems:
        assert problem.message.strip()
        assert problem.line is not None, problem
        assert 1 <= problem.line <= last_line, (problem, last_line)
        if yaml_ok:
            assert problem.path, problem


def yaml_mapping(text: str) -> bool:
    try:
        return isinstance(yaml.safe_load(text), dict)
    except yaml.YAMLError:
        return False


@MUTATIONS
@given(mutated_catalogs())
def test_a_mutated_catalog_loads_or_every_problem_has_a_path_and_a_line(data):
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        loaded = parse_catalog(text, "<mutated>")
    except InvalidCatalogError as error:
        assert_well_reported(error, text, yaml_ok=True)
    else:
        assert isinstance(loaded, CatalogFile)


@MUTATIONS
@given(broken_texts())
def test_a_broken_file_is_refused_with_lines_never_a_traceback(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.yaml"
        path.write_bytes(content)
        try:
            load_catalog(path)
        except InvalidCatalogError as error:
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                text, readable = content.decode("utf-8", errors="replace"), False
            else:
                readable = yaml_mapping(text)
            assert_well_reported(error, text, yaml_ok=readable)


@MUTATIONS
@given(st.data(), st.from_regex(r"zz[A-Za-z]{1,12}", fullmatch=True))
def test_an_unknown_field_anywhere_is_named_at_its_path_and_line(data, field):
    """A typo (`expirationn`) is reported where it is, not silently ignored."""
    catalog = example_catalog()
    mappings = [(p, c) for p, c in containers(catalog) if isinstance(c, dict)]
    path, mapping = data.draw(st.sampled_from(mappings))
    mapping[field] = "a typo"
    text = yaml.safe_dump(catalog, sort_keys=False)
    try:
        parse_catalog(text, "<typo>")
    except InvalidCatalogError as error:
        where = (*path, field)
        reported = {(p.path, p.line) for p in error.problems}
        assert (dotted(where), line_of_key(text, where)) in reported, error.problems
    else:
        raise AssertionError(f"an unknown field at {dotted((*path, field))} was accepted")


# ---- through `accessctl catalog validate` ---------------------------------------------------


def validate(path: Path, *options: str):
    result = CliRunner().invoke(app, ["catalog", "validate", str(path), *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_catalogs().map(yaml.safe_dump).map(str.encode), broken_texts()))
def test_catalog_validate_prints_every_problem_with_its_line_and_exits_1(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.yaml"
        path.write_bytes(content)
        try:
            load_catalog(path)
            expected = []
        except InvalidCatalogError as error:
            expected = [str(p) for p in error.problems]
        plain = validate(path)
        as_json = validate(path, "--json")
    if not expected:
        assert (plain.exit_code, as_json.exit_code) == (0, 0)
        assert "valid" in plain.stdout
        return
    assert (plain.exit_code, as_json.exit_code) == (1, 1)
    assert "Traceback" not in plain.output + as_json.output
    assert f"{len(expected)} problem(s)" in plain.stderr
    printed = " ".join(plain.stderr.split())  # the terminal shows a tab as spaces
    for problem in expected:
        assert " ".join(problem.split()) in printed, problem
    report = json.loads(as_json.stdout)
    assert report["valid"] is False
    assert len(report["problems"]) == len(expected)
    assert all(p["line"] and p["message"] for p in report["problems"])


# ---- what the mutations found --------------------------------------------------------------

EXAMPLE_TEXT = yaml.safe_dump(example_catalog(), sort_keys=False)


def problems_of(content: bytes) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.yaml"
        path.write_bytes(content)
        result = validate(path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    return [line.strip() for line in result.stderr.splitlines()[1:]]


def test_a_file_that_is_not_utf8_names_the_byte_and_its_line():
    content = EXAMPLE_TEXT.encode() + "# caf\xe9\n".encode("latin-1")
    line = EXAMPLE_TEXT.count("\n") + 1
    assert problems_of(content) == [
        f"line {line}: (file): not UTF-8 text: byte 0xE9 cannot be read"
    ]


def test_a_file_nested_too_deeply_is_a_problem_not_a_recursion_error():
    assert problems_of(b"settings: " + b"[" * 5000 + b"]" * 5000) == [
        "line 1: (file): the file nests lists or mappings too deeply to be a catalog"
    ]


def test_a_character_yaml_refuses_is_reported_at_its_line():
    first = problems_of(EXAMPLE_TEXT.encode() + b"x: \x00\n")[0]
    assert first.startswith(f"line {EXAMPLE_TEXT.count(chr(10)) + 1}: (file): not valid YAML")


def test_an_unknown_key_holding_a_bracket_is_named_not_dropped():
    """pydantic's union names hold "[" too; a key of the file is still a key."""
    text = EXAMPLE_TEXT.replace("\ncatalogs:", "\nc[atalogs:", 1)
    line = line_of_key(text, ("c[atalogs",))
    assert f"line {line}: c[atalogs: Extra inputs are not permitted" in problems_of(text.encode())
