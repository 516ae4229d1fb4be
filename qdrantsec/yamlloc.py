"""YAML with positions: parse with libyaml (when available) and keep line/column of every
key and value, so findings can point at the real place in the file.

``load_located`` returns plain Python values wrapped in ``Node`` objects: ``Node.value`` is
a dict (str -> Node), a list of Nodes, or a scalar. Duplicate keys are kept as Qdrant (via
config-rs and serde_yaml) keeps them: the last one wins; each is recorded in
``LocatedDoc.duplicates``.

Hostile YAML fails fast with a clear error (a YamlSyntaxError, so a finding in lint and a
one-line error elsewhere) instead of exhausting memory or the stack: aliases are expanded
with a budget (an alias bomb), an anchor used inside its own value (``a: &a {x: *a}``) is
refused, nesting deeper than MAX_DEPTH is refused, and a large file's nodes are counted
from the parser's events before any node tree is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qdrantsec.errors import InputError

#: Upper bound on nodes produced by alias expansion for one document.
NODE_BUDGET = 200_000
#: Upper bound on nodes in one file, all its documents together: a rendered manifest of a
#: few thousand objects (10 MiB) has about a million; each node costs a few hundred bytes.
FILE_NODE_BUDGET = 2_000_000
#: Deepest nesting of mappings and sequences accepted (serde_yaml, which reads Qdrant's own
#: YAML, stops at 128 too); the node trees are walked recursively, and Python's
#: recursion limit is 1000 frames.
MAX_DEPTH = 128
#: A text shorter than this cannot hold more than NODE_BUDGET nodes (a node takes at least
#: one character, as in ``{a,b,c}``); a longer one is counted before it is composed.
_COUNT_FROM_CHARS = NODE_BUDGET
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(slots=True)
class Node:
    value: Any
    line: int  # 1-based
    column: int  # 1-based
    key_line: int | None = None  # position of the mapping key that holds this value
    key_column: int | None = None
    tag: str | None = None
    #: the file this node comes from, when it differs from the file being linted (a compose
    #: override file merged into its base); None otherwise
    file: str | None = None
    #: for a plain (unquoted) scalar, its text as written: ``value`` is typed by YAML 1.1
    #: rules (PyYAML, as Docker Compose and Kubernetes read it), while Qdrant's YAML reader
    #: types the text differently (``yes`` is a string); see qdrant.config.qdrant_scalar
    raw: str | None = None

    def plain(self) -> Any:
        """The node as plain Python data (dicts, lists, scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value

    def get(self, *path: str) -> Node | None:
        node: Node | None = self
        for part in path:
            if node is None or not isinstance(node.value, dict):
                return None
            node = node.value.get(part)
        return node


@dataclass
class Duplicate:
    key: str
    line: int
    column: int
    first_line: int


class YamlSyntaxError(InputError):
    """Invalid YAML (or an alias bomb), with the 1-based position of the problem when known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 problem: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.problem = problem or message


@dataclass
class LocatedDoc:
    root: Node | None
    duplicates: list[Duplicate] = field(default_factory=list)


_LOADER: type | None = None


def _loader() -> type:
    """libyaml's loader when available, with the implicit-tag resolver answered quickly:
    resolving a plain scalar runs a dozen regular expressions in Python, and libyaml asks
    for every node. Without path resolvers (SafeLoader has none) a scalar's tag depends on
    its text alone, and only when it is plain and starts with a character some implicit
    resolver is registered for (``true``, ``6333``, ``~``); any other scalar is a string.
    The texts that are asked about are memoised, as config files repeat the same values
    (``true``, ``6333``, ``null``) over and over."""
    global _LOADER
    if _LOADER is None:
        import yaml

        base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        cache: dict[str, str] = {}
        scalar, sequence, mapping = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode
        assert not base.yaml_path_resolvers  # (the shortcuts below rely on it)
        resolvers = base.yaml_implicit_resolvers
        # the first characters a plain scalar needs to be anything but a string (None: a
        # resolver for any first character; then every plain scalar is looked up)
        typed_first = frozenset(k for k in resolvers if k) if None not in resolvers else None
        str_tag, seq_tag = base.DEFAULT_SCALAR_TAG, base.DEFAULT_SEQUENCE_TAG
        map_tag = base.DEFAULT_MAPPING_TAG
        base_resolve = base.resolve

        class _Loader(base):  # type: ignore[misc, valid-type]
            # libyaml calls these for every node; SafeLoader has no path resolvers
            def descend_resolver(self, current_node: Any, current_index: Any) -> None:
                pass

            def ascend_resolver(self) -> None:
                pass

            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                if kind is scalar:
                    if not implicit[0]:  # quoted, or tagged `!`: what BaseResolver answers
                        return str_tag
                    if value and typed_first is not None and value[0] not in typed_first:
                        return str_tag  # no implicit resolver for its first character
                    if len(value) > 64:
                        return base_resolve(self, kind, value, implicit)
                    tag = cache.get(value)
                    if tag is None:
                        tag = base_resolve(self, kind, value, implicit)
                        if len(cache) < 5_000:  # the values that repeat come early; memory stays flat
                            cache[value] = tag
                    return tag
                # what BaseResolver answers without path resolvers
                if kind is mapping:
                    return map_tag
                if kind is sequence:
                    return seq_tag
                return base_resolve(self, kind, value, implicit)

        _LOADER = _Loader
    return _LOADER


def load_located(text: str, *, name: str = "<string>") -> list[LocatedDoc]:
    """Parse every document in ``text``. Raises InputError with the file position on
    invalid YAML.

    The cyclic garbage collector is paused while the node trees are built: they hold no
    cycles, but their many small objects trigger collections that rescan everything
    already loaded, which made parsing a thousand files five times slower."""
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_located(text, name)
    finally:
        if was_enabled:
            gc.enable()


def _load_located(text: str, name: str) -> list[LocatedDoc]:
    import yaml

    docs: list[LocatedDoc] = []
    total = 0
    try:
        if len(text) > _COUNT_FROM_CHARS:
            _count_nodes(text, name)
        # one document at a time: its raw nodes are dropped once converted
        for raw in yaml.compose_all(text, Loader=_loader()):
            conv = _Converter(name)
            root = conv.convert(raw) if raw is not None else None
            docs.append(LocatedDoc(root, conv.duplicates))
            total += NODE_BUDGET - conv.budget
            if total > FILE_NODE_BUDGET:
                _too_many(name, _TOO_MANY_IN_ALL, raw)
    except RecursionError:  # the pure-Python parser (no libyaml) recurses per nesting level
        problem = f"nested deeper than {MAX_DEPTH} levels"
        raise YamlSyntaxError(f"{name}: invalid YAML: {problem}", problem=problem) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(
            f"{where}: invalid YAML: {problem}", problem=problem,
            line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        # e.g. ReaderError (a control character): its text adds a second line ("in
        # <unicode string>, position 0") that would break the one-line error
        problem = (str(exc).strip().splitlines() or ["invalid YAML"])[0].strip()
        raise YamlSyntaxError(f"{name}: invalid YAML: {problem}", problem=problem) from None
    return docs


_TOO_MANY_IN_ALL = f"more than {FILE_NODE_BUDGET} YAML nodes in all documents; refusing to load it"
_TOO_MANY_IN_ONE = f"a YAML document with more than {NODE_BUDGET} nodes; refusing to load it"


def _too_many(name: str, problem: str, at: Any) -> None:
    mark = getattr(at, "start_mark", None)
    raise YamlSyntaxError(
        f"{name}: {problem}", problem=problem,
        line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
    )


def _count_nodes(text: str, name: str) -> None:
    """Refuse a text with more than NODE_BUDGET nodes in one document, or FILE_NODE_BUDGET
    in all, from the parser's event stream: composing a node tree first would cost a few
    hundred bytes a node (10 MiB of ``[1,1,1,...`` made 1.5 GB) before any budget applies."""
    import yaml

    starts = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
    in_doc = total = 0
    loader = _loader()(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, starts):
                in_doc += 1
                total += 1
                if in_doc > NODE_BUDGET:
                    _too_many(name, _TOO_MANY_IN_ONE, event)
                if total > FILE_NODE_BUDGET:
                    _too_many(name, _TOO_MANY_IN_ALL, event)
            elif isinstance(event, yaml.DocumentStartEvent):
                in_doc = 0
    finally:
        loader.dispose()


class _Converter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.budget = NODE_BUDGET
        self.depth = 0
        self._open: set[int] = set()  # the collections being converted: a cycle's way back
        self.duplicates: list[Duplicate] = []
        import yaml

        self._mapping_node = yaml.MappingNode
        self._sequence_node = yaml.SequenceNode
        self._scalar_node = yaml.ScalarNode
        self._scalars = _SCALARS

    def _spend(self, node: Any = None) -> None:
        self.budget -= 1
        if self.budget < 0:
            mark = getattr(node, "start_mark", None)
            problem = (f"YAML expands to more than {NODE_BUDGET} nodes "
                       "(an alias bomb?); refusing to load it")
            raise YamlSyntaxError(
                f"{self.name}: {problem}", problem=problem,
                line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
            )

    def convert(self, node: Any, key_mark: Any = None) -> Node:
        self.budget -= 1
        if self.budget < 0:
            self._spend(node)
        mark = node.start_mark
        line, col = mark.line + 1, mark.column + 1
        if key_mark is not None:
            kl, kc = key_mark.line + 1, key_mark.column + 1
        else:
            kl = kc = None
        cls = node.__class__
        scalar_node = self._scalar_node
        if cls is scalar_node:
            tag, text = node.tag, node.value
            # (positional: value, line, column, key_line, key_column, tag, file, raw)
            return Node(text if tag == _STR_TAG else self._scalar(node), line, col, kl, kc, tag, None,
                        None if node.style else text)
        if isinstance(node, self._mapping_node):
            self._enter(node)
            out: dict[str, Node] = {}
            #: a duplicated key's first line; the value of a key seen once holds it
            first_seen: dict[str, int] = {}
            pairs = node.value
            for k_node, _ in pairs:
                if k_node.tag == _MERGE_TAG:
                    pairs = self._flatten_merge(node)
                    break
            for k_node, v_node in pairs:
                if k_node.__class__ is scalar_node and k_node.tag == _STR_TAG:
                    skey = k_node.value  # a plain string key: the common case
                else:
                    key = self._scalar(k_node) if isinstance(k_node, scalar_node) else None
                    skey = "" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
                km = k_node.start_mark
                key_line, key_col = km.line + 1, km.column + 1
                if skey in out:
                    first = first_seen.get(skey)
                    if first is None:
                        first = first_seen[skey] = out[skey].key_line  # type: ignore[assignment]
                    self.duplicates.append(Duplicate(skey, key_line, key_col, first))
                if v_node.__class__ is scalar_node:  # convert()'s scalar case, without the call
                    self.budget -= 1
                    if self.budget < 0:
                        self._spend(v_node)
                    vm, tag, text = v_node.start_mark, v_node.tag, v_node.value
                    out[skey] = Node(text if tag == _STR_TAG else self._scalar(v_node), vm.line + 1,
                                     vm.column + 1, key_line, key_col, tag, None,
                                     None if v_node.style else text)
                else:
                    out[skey] = self.convert(v_node, km)
            self.depth -= 1
            self._open.discard(id(node))
            return Node(out, line, col, kl, kc, node.tag)
        if isinstance(node, self._sequence_node):
            self._enter(node)
            items = []
            append = items.append
            for v in node.value:
                if v.__class__ is scalar_node:  # as above
                    self.budget -= 1
                    if self.budget < 0:
                        self._spend(v)
                    vm, tag, text = v.start_mark, v.tag, v.value
                    append(Node(text if tag == _STR_TAG else self._scalar(v), vm.line + 1,
                                vm.column + 1, None, None, tag, None, None if v.style else text))
                else:
                    append(self.convert(v))
            self.depth -= 1
            self._open.discard(id(node))
            return Node(items, line, col, kl, kc, node.tag)
        return Node(self._scalar(node), line, col, kl, kc, node.tag,
                    raw=node.value if not node.style else None)

    def _enter(self, node: Any) -> None:
        """Step into a mapping or sequence: refuse a cycle (an anchor used inside its own
        value) and nesting deeper than MAX_DEPTH, before either exhausts the stack. (Leaving
        it, in ``convert``: ``depth`` down by one and the node out of ``_open``.)"""
        key = id(node)
        if key in self._open:
            self._fail(node, "an anchor is used inside its own value (a recursive alias), "
                             "which no tool can expand")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(node, f"nested deeper than {MAX_DEPTH} levels")
        self._open.add(key)

    def _fail(self, node: Any, problem: str) -> None:
        mark = node.start_mark
        raise YamlSyntaxError(f"{self.name}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {problem}",
                              problem=problem, line=mark.line + 1, column=mark.column + 1)

    def _flatten_merge(self, node: Any, merging: frozenset[int] = frozenset()) -> list[tuple[Any, Any]]:
        import yaml

        for k, _ in node.value:
            if k.tag == _MERGE_TAG:
                break
        else:
            return node.value  # type: ignore[no-any-return]  # no `<<:` here: the common case
        merging = merging | {id(node)}
        if len(merging) > MAX_DEPTH:
            self._fail(node, f"merges (`<<:`) nested deeper than {MAX_DEPTH} levels")
        pairs: list[tuple[Any, Any]] = []
        merged: list[tuple[Any, Any]] = []
        for k, v in node.value:
            if k.tag == "tag:yaml.org,2002:merge":
                sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
                for src in sources:
                    if isinstance(src, yaml.MappingNode):
                        if id(src) in merging or id(src) in self._open:
                            self._fail(src, "a mapping is merged (`<<:`) into itself")
                        self._spend()
                        merged.extend(self._flatten_merge(src, merging))
            else:
                pairs.append((k, v))
        # explicit keys override merged ones
        explicit = {getattr(k, "value", None) for k, _ in pairs}
        return [p for p in merged if getattr(p[0], "value", None) not in explicit] + pairs

    def _scalar(self, node: Any) -> Any:
        tag = node.tag
        if tag == _STR_TAG:
            return node.value  # the common case, without the pure-Python constructor
        key = (tag, node.value)
        if key in self._scalars:  # ints, bools, nulls: immutable, and they repeat
            return self._scalars[key]
        value = self._construct(node)
        if isinstance(value, (bool, int, float, type(None))) and len(self._scalars) < 2_000:
            self._scalars[key] = value
        return value

    def _construct(self, node: Any) -> Any:
        import yaml

        global _CONSTRUCTOR
        if _CONSTRUCTOR is None:
            _CONSTRUCTOR = yaml.SafeLoader("")
            _CONSTRUCTOR.dispose()  # only its constructor is used
        try:
            return _CONSTRUCTOR.construct_object(node, deep=False)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            # e.g. an impossible date (2026-02-30): keep the text, as a string
            return node.value
        finally:
            # it remembers every node it built: let go of them (and of their file)
            _CONSTRUCTOR.constructed_objects.clear()
            _CONSTRUCTOR.recursive_objects.clear()


#: One pure-Python constructor for the few tags libyaml leaves to Python (ints, floats,
#: timestamps), shared by every file: a loader per file is a reference cycle (its parser
#: states are bound methods) that keeps the file's nodes alive until the cyclic collector
#: runs, and the lint run pauses that collector. Immutable scalars it made, by (tag, text).
_CONSTRUCTOR: Any = None
_SCALARS: dict[tuple[str, str], Any] = {}
