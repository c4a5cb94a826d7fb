"""Load a catalog file and report every problem with its path and line in the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from entitlements.catalog import CatalogFile, cross_reference_problems


@dataclass(frozen=True)
class Problem:
    path: str  # e.g. catalogs[0].accessPackages[1].assignmentPolicies[0].expiration
    message: str
    line: int | None = None  # 1-based line in the file, when known

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '(file)'}: {self.message}"


class InvalidCatalogError(Exception):
    """A catalog file with problems; the message lists every one."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{listing}")


def format_path(location: tuple) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _line_of(root: yaml.Node | None, location: tuple) -> int | None:
    """The line of the deepest YAML node the location reaches."""
    node, line = root, None
    for part in location:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def parse_catalog(text: str, source: str = "<catalog>") -> CatalogFile:
    """Parse and validate catalog YAML; raise InvalidCatalogError listing every problem."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidCatalogError(
            source, [Problem("", f"not valid YAML: {error}", _line_of_yaml_error(error, text))]
        ) from None
    except RecursionError:
        raise InvalidCatalogError(
            source, [Problem("", "the file nests lists or mappings too deeply to be a catalog", 1)]
        ) from None
    if not isinstance(data, dict):
        raise InvalidCatalogError(source, [Problem("", "the file must be a YAML mapping", 1)])
    try:
        catalog_file = CatalogFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            location = _location_in(data, item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            problems.append(Problem(format_path(location), message, _line_of(root, location)))
        raise InvalidCatalogError(source, problems) from None
    problems = [
        Problem(format_path(loc), message, _line_of(root, loc))
        for loc, message in cross_reference_problems(catalog_file)
    ]
    if problems:
        raise InvalidCatalogError(source, problems)
    return catalog_file


def _line_of_yaml_error(error: yaml.YAMLError, text: str) -> int | None:
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return mark.line + 1
    position = getattr(error, "position", None)  # a character YAML does not accept at all
    return text.count("\n", 0, position) + 1 if isinstance(position, int) else None


def _location_in(data: object, location: tuple) -> tuple:
    """pydantic's location without the names it adds inside unions and validators (such as
    "function-after[...]"): a part is kept when the file has it there (a key may hold "[" too),
    or when it is the field the error is about."""
    kept, node = [], data
    for index, part in enumerate(location):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif index < len(location) - 1 or _is_union_tag(part) or not isinstance(node, dict):
            continue
        kept.append(part)
    return tuple(kept)


def _is_union_tag(part: object) -> bool:
    # pydantic adds the chosen type's name to locations inside unions (e.g. "function-after")
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def load_catalog(path: str | Path) -> CatalogFile:
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InvalidCatalogError(
            str(path), [Problem("", f"cannot read the file: {error.strerror}")]
        ) from None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        message = f"not UTF-8 text: byte 0x{content[error.start]:02X} cannot be read"
        raise InvalidCatalogError(str(path), [Problem("", message, line)]) from None
    return parse_catalog(text, str(path))


def summary(catalog_file: CatalogFile) -> str:
    packages = list(catalog_file.packages())
    policies = sum(len(p.assignment_policies) for _, p in packages)
    resources = sum(len(c.resources) for c in catalog_file.catalogs)
    return (
        f"{len(catalog_file.catalogs)} catalogs, {resources} resources, {len(packages)} access "
        f"packages, {policies} policies, {len(catalog_file.connected_organizations)} connected "
        "organizations"
    )
