"""Safe YAML for scenario files: no code, no duplicate keys, and limits on what a file may cost.

A scenario file is read as bytes and checked before anything is built from it:

- **Size**: at most :data:`MAX_FILE_BYTES` (1,000,000 bytes; the largest committed scenario is
  about 2 kB).
- **Text**: the bytes must be UTF-8 text (no NUL bytes, no invalid sequences); the message names
  the line and byte offset of the first bad byte.
- **Nesting**: at most :data:`MAX_DEPTH` (20) levels of nested mappings and lists, counted while
  the document is composed (so a deeply nested file never reaches Python's recursion limit) and
  again with aliases expanded.
- **Aliases**: anchors, aliases and merge keys (``<<: *base``) are allowed, but the document they
  expand to may hold at most :data:`MAX_NODES` (100,000) YAML nodes (keys, values and items),
  counted on the composed node graph without expanding it; an alias inside its own anchor
  (which expands without end) is refused. A "billion laughs" file of a few hundred bytes is
  therefore refused at once instead of hanging.
- **Tags and keys**: Python (and any custom) tags and duplicate keys are reported with their
  line and field path on the composed document, before anything is constructed, so nothing in
  the file is ever run.

Every refusal is a :class:`~fupinsim.errors.ScenarioError` with one problem naming the file (and
line) and the rule, so the command line prints one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fupinsim.errors import ScenarioError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "load_yaml_document"]

#: Largest scenario file read, in bytes (the largest committed scenario is about 2 kB).
MAX_FILE_BYTES = 1_000_000
#: Deepest nesting of mappings and lists, in levels (committed scenarios use at most 4).
MAX_DEPTH = 20
#: Most YAML nodes a file may expand to with its aliases (committed scenarios: a few hundred).
MAX_NODES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LimitError(Exception):
    """A limit broken while composing; turned into a ScenarioError by the caller."""

    def __init__(self, mark: Any, value: object, rule: str) -> None:
        super().__init__(rule)
        self.mark, self.value, self.rule = mark, value, rule


def _depth_rule() -> str:
    return f"must nest at most {MAX_DEPTH} levels of mappings and lists (scenario depth limit)"


class _SafeLoaderNoDup(yaml.SafeLoader):
    """Safe YAML loader (no Python tags) that rejects duplicate keys and too deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def _enter(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _LimitError(self.peek_event().start_mark, None, _depth_rule())

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:
        self._enter()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        self._enter()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self._depth -= 1


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    # Second line of defence: load_yaml_document has already checked the node tree.
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_SafeLoaderNoDup.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


_TAG_RULE = (
    "must be a plain value: Python and other custom YAML tags are not allowed "
    "(scenarios are loaded safely and nothing in them is run)"
)
_DUPLICATE_RULE = (
    "must appear only once in its section (duplicate key: YAML would silently keep the last)"
)


def _child_nodes(node: yaml.Node, path: str) -> list[tuple[yaml.Node, str]]:
    """Keys, values and items of a node with their field paths (merge keys keep the path)."""
    children: list[tuple[yaml.Node, str]] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                children.append((value_node, path))
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            child = f"{path}.{key}" if path else str(key)
            children += [(key_node, child), (value_node, child)]
    elif isinstance(node, yaml.SequenceNode):
        children = [(item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(node.value)]
    return children


def _duplicate_key(node: yaml.Node, path: str) -> tuple[yaml.Node, str, object, str] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    keys: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value in keys:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            return key_node, child, key_node.value, _DUPLICATE_RULE
        keys.add(key_node.value)
    return None


def _unsafe_node(
    node: yaml.Node, path: str, seen: set[int]
) -> tuple[yaml.Node, str, object, str] | None:
    """The first node with a tag safe loading refuses, or a duplicate key, with its field path.

    Works on the composed (not constructed) document, so nothing in the file is ever run and the
    message can name the field (``microsim.health.serious_illness_rate``) and the line.
    """
    if id(node) in seen:  # an alias of a node already checked
        return None
    seen.add(id(node))
    if node.tag not in _SafeLoaderNoDup.yaml_constructors and node.tag != _MERGE_TAG:
        return node, path, _short_tag(node.tag), _TAG_RULE
    found = _duplicate_key(node, path)
    for child, child_path in _child_nodes(node, path):
        found = found or _unsafe_node(child, child_path, seen)
    return found


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand past :data:`MAX_NODES` or :data:`MAX_DEPTH`.

    An iterative depth-first walk with one (size, depth) per distinct node, so its cost is the
    size of the composed graph, not of the expanded document; an alias inside its own anchor is
    a cycle of the graph.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(kid)] for kid in kids)
            nested = isinstance(node, yaml.MappingNode | yaml.SequenceNode)
            depth[key] = int(nested) + max((depth[id(kid)] for kid in kids), default=0)
            open_nodes.discard(key)
            if size[key] > MAX_NODES:
                raise _LimitError(
                    node.start_mark,
                    f"more than {MAX_NODES:,} nodes",
                    f"must expand to at most {MAX_NODES:,} YAML nodes with its aliases "
                    "(scenario alias expansion limit)",
                )
            if depth[key] > MAX_DEPTH:
                raise _LimitError(node.start_mark, None, _depth_rule() + " with aliases expanded")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise _LimitError(
                node.start_mark,
                None,
                "must not use an alias inside its own anchor (it would expand without end)",
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node))


def _read_text(path: Path) -> str:
    """The file as text, refused when it is too large or not UTF-8 text."""
    if not path.is_file():
        raise ScenarioError.single(str(path), None, "scenario file must exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError.single(
            str(path),
            f"{size:,} bytes",
            f"must be at most {MAX_FILE_BYTES:,} bytes (scenario file size limit)",
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError.single(str(path), None, f"must be readable ({exc.strerror})") from None
    bad_at = raw.find(b"\x00")
    try:
        if bad_at >= 0:
            raise UnicodeDecodeError("utf-8", raw, bad_at, bad_at + 1, "NUL byte")
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError.single(
            f"{path}, line {line}, byte {exc.start}",
            f"0x{raw[exc.start]:02x}",
            "must be UTF-8 text (a scenario is a YAML text file; this looks like another "
            "encoding or a binary file)",
        ) from None


def _compose_checked(loader: _SafeLoaderNoDup, path: Path) -> yaml.Node | None:
    """Compose the document and run every check on the node graph (nothing constructed yet)."""
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node)
    except _LimitError as exc:
        where = f"{path}, line {exc.mark.line + 1}"
        raise ScenarioError.single(where, exc.value, exc.rule) from None
    found = _unsafe_node(node, "", set()) if node is not None else None
    if found is not None:
        bad, field_path, value, rule = found
        raise ScenarioError.single(
            f"{path}, line {bad.start_mark.line + 1}: {field_path or '(top level)'}", value, rule
        )
    return node


def load_yaml_document(path: Path) -> Any:
    """Read one YAML file safely within the limits above (``None`` for an empty file).

    Raises
    ------
    ScenarioError
        The file is missing, too large, not UTF-8 text, not YAML, too deeply nested, expands
        past the alias limit, uses Python or custom tags, or repeats a key.
    """
    loader = _SafeLoaderNoDup(_read_text(path))
    try:
        node = _compose_checked(loader, path)
        return loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError.single(where, None, "must be valid YAML", fix=f"{problem}.") from None
    finally:
        loader.dispose()
