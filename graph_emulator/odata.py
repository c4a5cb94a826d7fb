"""The slice of OData query options the emulator understands: $filter, $select, paging.

$filter grammar (string comparisons are case-insensitive, as Graph's are on directory
properties):
    expr       := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | call | comparison
    comparison := property ("eq" | "ne") literal | property "in" "(" literal ("," literal)* ")"
    call       := ("startswith" | "endswith") "(" property "," literal ")"
                | property "/any(" var ":" var ("eq" | "ne") literal ")"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .errors import GraphError

Predicate = Callable[[dict], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[()/,:]))"
)


def _invalid(detail: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: {detail}")


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise _invalid(f"syntax error at position {pos} in '{text}'.")
        pos = m.end()
        if m.group("str") is not None:
            out.append(("lit", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("num") is not None:
            num = m.group("num")
            out.append(("lit", float(num) if "." in num else int(num)))
        elif m.group("name") is not None:
            name = m.group("name")
            lowered = name.lower()
            if lowered in ("true", "false"):
                out.append(("lit", lowered == "true"))
            elif lowered == "null":
                out.append(("lit", None))
            else:
                out.append(("name", name))
        else:
            out.append(("punct", m.group("punct")))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b


class _Parser:
    def __init__(self, text: str, properties: set[str], type_name: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.properties = properties
        self.type_name = type_name

    def peek(self, offset: int = 0) -> tuple[str, Any] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise _invalid("unexpected end of expression.")
        self.i += 1
        return tok

    def expect(self, kind: str, value: Any = None) -> Any:
        tok = self.take()
        if tok[0] != kind or (value is not None and str(tok[1]).lower() != value):
            raise _invalid(f"expected '{value or kind}' but found '{tok[1]}'.")
        return tok[1]

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "name" and tok[1].lower() == word:
            self.i += 1
            return True
        return False

    def prop(self) -> str:
        name = self.expect("name")
        if name not in self.properties:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property '{name}' "
                f"of resource '{self.type_name}'.",
            )
        return name

    def parse(self) -> Predicate:
        pred = self.expr()
        if self.peek() is not None:
            raise _invalid(f"unexpected '{self.peek()[1]}'.")
        return pred

    def expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda o, ps=parts: any(p(o) for p in ps))

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda o, ps=parts: all(p(o) for p in ps))

    def unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.unary()
            return lambda o: not inner(o)
        tok = self.peek()
        if tok == ("punct", "("):
            self.take()
            inner = self.expr()
            self.expect("punct", ")")
            return inner
        if tok and tok[0] == "name" and tok[1].lower() in ("startswith", "endswith"):
            return self.string_call()
        return self.comparison()

    def string_call(self) -> Predicate:
        func = self.take()[1].lower()
        self.expect("punct", "(")
        name = self.prop()
        self.expect("punct", ",")
        value = self.literal()
        self.expect("punct", ")")

        def check(o: dict) -> bool:
            have = o.get(name)
            if not isinstance(have, str) or not isinstance(value, str):
                return False
            have, want = have.casefold(), value.casefold()
            return have.startswith(want) if func == "startswith" else have.endswith(want)

        return check

    def literal(self) -> Any:
        tok = self.take()
        if tok[0] != "lit":
            raise _invalid(f"expected a literal but found '{tok[1]}'.")
        return tok[1]

    def comparison(self) -> Predicate:
        name = self.prop()
        if self.peek() == ("punct", "/"):
            return self.lambda_any(name)
        if self.keyword("in"):
            self.expect("punct", "(")
            values = [self.literal()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.literal())
            self.expect("punct", ")")
            return lambda o: any(_same(o.get(name), v) for v in values)
        op = self.expect("name").lower()
        value = self.literal()
        if op == "eq":
            return lambda o: _same(o.get(name), value)
        if op == "ne":
            return lambda o: not _same(o.get(name), value)
        raise GraphError(
            400, "Request_UnsupportedQuery", f"Unsupported operator '{op}' in filter clause."
        )

    def lambda_any(self, name: str) -> Predicate:
        self.expect("punct", "/")
        self.expect("name", "any")
        self.expect("punct", "(")
        var = self.expect("name")
        self.expect("punct", ":")
        if self.expect("name") != var:
            raise _invalid(f"the lambda body must compare the variable '{var}'.")
        op = self.expect("name").lower()
        value = self.literal()
        self.expect("punct", ")")
        if op not in ("eq", "ne"):
            raise GraphError(
                400, "Request_UnsupportedQuery", f"Unsupported operator '{op}' in filter clause."
            )

        def check(o: dict) -> bool:
            items = o.get(name) or []
            hits = [_same(item, value) for item in items]
            return any(hits) if op == "eq" else any(not h for h in hits)

        return check


def parse_filter(text: str, properties: Iterable[str], type_name: str) -> Predicate:
    """Compile a $filter expression over the given filterable properties."""
    return _Parser(text, set(properties), type_name).parse()


def parse_select(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def project(obj: dict, select: list[str] | None, default: Iterable[str] | None) -> dict:
    """The properties Graph returns: the $select list, or the type's default set.

    Internal fields (leading underscore) never leave the emulator; `@odata.type` is kept.
    """
    if select:
        keys = [k for k in select if k in obj]
    elif default is not None:
        keys = [k for k in default if k in obj]
    else:
        keys = [k for k in obj if not k.startswith("_")]
    out = {k: obj[k] for k in keys}
    if "@odata.type" in obj:
        out = {"@odata.type": obj["@odata.type"], **out}
    return out


def page(items: list, query: dict[str, str], default_size: int = 100) -> tuple[list, int | None]:
    """One page of a collection ($top and $skiptoken). Returns the page and the next offset."""
    try:
        size = int(query.get("$top", default_size))
        start = int(query.get("$skiptoken", "0"))
    except ValueError as exc:
        raise GraphError(400, "BadRequest", "Invalid $top or $skiptoken value.") from exc
    if size < 1 or size > 999:
        raise GraphError(400, "BadRequest", "Invalid page size specified: must be 1 to 999.")
    end = start + size
    return items[start:end], (end if end < len(items) else None)
