"""Whether a reader schema can read everything a writer schema may have written.

Applies the resolution rules of the Avro specification, statically: for records, a
field the reader has and the writer lacks needs a default; enums the writer may emit
a symbol of need it in the reader or a reader default; unions need a readable branch
for every branch the writer may pick; primitives match or promote (int to long,
float or double; long to float or double; float to double; string and bytes). The
codec runs it on every historical and registry writer schema it is given, so an
unreadable history is found at start-up, not on the first old message.
"""

from __future__ import annotations

import json
from typing import Any

from corridor.codec_errors import IncompatibleSchemaError

__all__ = ["assert_backward_compatible", "check_backward_compatible"]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAMED = frozenset({"record", "error", "enum", "fixed"})
_PROMOTIONS = frozenset(
    {
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    }
)

# A schema node together with the namespace its relative names resolve in.
_Node = tuple[Any, str | None]


def check_backward_compatible(reader: Any, writer: Any) -> list[str]:
    """Why ``reader`` cannot read all data written with ``writer``; empty when it can.

    Both are self-contained schemas: JSON text, or the parsed JSON (fastavro's parsed
    form works too). Each problem names the field path where resolution would fail.
    """
    reader_schema = json.loads(reader) if isinstance(reader, str | bytes) else reader
    writer_schema = json.loads(writer) if isinstance(writer, str | bytes) else writer
    return _Checker(reader_schema, writer_schema).problems()


def assert_backward_compatible(reader: Any, writer: Any, *, what: str) -> None:
    """Raise :class:`IncompatibleSchemaError` about ``what`` unless ``reader`` reads ``writer``."""
    problems = check_backward_compatible(reader, writer)
    if problems:
        raise IncompatibleSchemaError(
            f"{what}: the reader schema cannot read the writer schema: {'; '.join(problems)}",
            problems=tuple(problems),
        )


def _full_name(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def _collect(schema: Any, namespace: str | None, named: dict[str, _Node]) -> None:
    """Index every named type by full name, with the namespace its fields resolve in."""
    if isinstance(schema, list):
        for branch in schema:
            _collect(branch, namespace, named)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in _NAMED:
        full = _full_name(schema["name"], schema.get("namespace", namespace))
        inner = full.rpartition(".")[0] or None
        named[full] = (schema, inner)
        for field in schema.get("fields", ()):
            _collect(field["type"], inner, named)
    elif kind == "array":
        _collect(schema["items"], namespace, named)
    elif kind == "map":
        _collect(schema["values"], namespace, named)
    elif isinstance(kind, dict | list):
        _collect(kind, namespace, named)


class _Checker:
    def __init__(self, reader: Any, writer: Any) -> None:
        self._reader_root = reader
        self._writer_root = writer
        self._reader_named: dict[str, _Node] = {}
        self._writer_named: dict[str, _Node] = {}
        _collect(reader, None, self._reader_named)
        _collect(writer, None, self._writer_named)
        self._visited: set[tuple[str, str]] = set()

    def problems(self) -> list[str]:
        return self._compare((self._reader_root, None), (self._writer_root, None), "")

    def _resolve(self, node: _Node, named: dict[str, _Node]) -> _Node:
        schema, namespace = node
        while True:
            if isinstance(schema, str) and schema not in _PRIMITIVES:
                full = _full_name(schema, namespace)
                if full not in named:
                    raise IncompatibleSchemaError(
                        f"type {full!r} is used but never defined", problems=(full,)
                    )
                schema, namespace = named[full]
            elif isinstance(schema, dict) and not _is_complete(schema):
                schema = schema["type"]
            else:
                return schema, namespace

    def _compare(self, reader: _Node, writer: _Node, path: str) -> list[str]:
        reader = self._resolve(reader, self._reader_named)
        writer = self._resolve(writer, self._writer_named)
        r_schema, r_ns = reader
        w_schema, w_ns = writer
        if isinstance(w_schema, list):
            problems: list[str] = []
            for index, branch in enumerate(w_schema):
                problems += self._compare(reader, (branch, w_ns), f"{path}<branch {index}>")
            return problems
        if isinstance(r_schema, list):
            for branch in r_schema:
                candidate = self._resolve((branch, r_ns), self._reader_named)
                if self._matches(candidate, writer):
                    return self._compare(candidate, writer, path)
            return [
                f"{_at(path)}no branch of the reader's union reads the writer's {_kind(w_schema)}"
            ]
        if not self._matches(reader, writer):
            return [
                f"{_at(path)}the reader's {_kind(r_schema)} cannot read the writer's {_kind(w_schema)}"
            ]
        kind = _kind(r_schema)
        if kind in ("record", "error"):
            return self._records(reader, writer, path)
        if kind == "enum":
            missing = [s for s in w_schema["symbols"] if s not in r_schema["symbols"]]
            if missing and "default" not in r_schema:
                return [f"{_at(path)}the reader's enum lacks symbols {missing} and has no default"]
            return []
        if kind == "fixed" and r_schema["size"] != w_schema["size"]:
            return [
                f"{_at(path)}fixed sizes differ ({w_schema['size']} written, {r_schema['size']} read)"
            ]
        if kind == "array":
            return self._compare((r_schema["items"], r_ns), (w_schema["items"], w_ns), f"{path}[]")
        if kind == "map":
            return self._compare(
                (r_schema["values"], r_ns), (w_schema["values"], w_ns), f"{path}{{}}"
            )
        return []

    def _records(self, reader: _Node, writer: _Node, path: str) -> list[str]:
        (r_schema, r_ns), (w_schema, w_ns) = reader, writer
        r_full = _full_name(r_schema["name"], r_schema.get("namespace", r_ns))
        w_full = _full_name(w_schema["name"], w_schema.get("namespace", w_ns))
        if (r_full, w_full) in self._visited:
            return []
        self._visited.add((r_full, w_full))
        r_inner = r_full.rpartition(".")[0] or None
        w_inner = w_full.rpartition(".")[0] or None
        written = {field["name"]: field for field in w_schema["fields"]}
        problems: list[str] = []
        for field in r_schema["fields"]:
            name = field["name"]
            source = next(
                (written[n] for n in (name, *field.get("aliases", ())) if n in written), None
            )
            if source is not None:
                problems += self._compare(
                    (field["type"], r_inner), (source["type"], w_inner), f"{path}.{name}"
                )
            elif "default" not in field:
                problems.append(
                    f"{_at(path + '.' + name)}the writer does not write it and the reader "
                    "has no default"
                )
        return problems

    def _matches(self, reader: _Node, writer: _Node) -> bool:
        """The specification's test for whether two schemas resolve at all."""
        (r_schema, r_ns), (w_schema, w_ns) = reader, writer
        r_kind, w_kind = _kind(r_schema), _kind(w_schema)
        if r_kind != w_kind:
            return (w_kind, r_kind) in _PROMOTIONS
        if r_kind in _NAMED:
            r_full = _full_name(r_schema["name"], r_schema.get("namespace", r_ns))
            w_full = _full_name(w_schema["name"], w_schema.get("namespace", w_ns))
            r_inner = r_full.rpartition(".")[0] or None
            aliases = {_full_name(a, r_inner) for a in r_schema.get("aliases", ())}
            return (
                r_full == w_full
                or w_full in aliases
                or r_full.rpartition(".")[2] == w_full.rpartition(".")[2]
            )
        return True


def _is_complete(schema: dict[str, Any]) -> bool:
    """Whether a JSON object is a schema itself, not a wrapper around a type name."""
    kind = schema.get("type")
    return isinstance(kind, str) and (
        kind in _PRIMITIVES or kind in _NAMED or kind in ("array", "map")
    )


def _kind(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return str(schema["type"])


def _at(path: str) -> str:
    return f"{path.lstrip('.') or '(root)'}: "
