"""Which room may import which: one table, checked on every module's source (AST).

The code is arranged by the machine that runs it (README, Layout). A room's imports say
which machine's software it needs, so they are the architecture: the air-gapped desk must
install and run without the server's stack, the shared contract must not lean on any
program, and only one small module tree may touch each dangerous library.

Every ``import`` counts, at module level or inside a function, except those under
``if TYPE_CHECKING:`` (they never run). ``service/cli.py`` is the ``aryz`` dispatcher that
names each room's commands; it alone may import every room.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_ONLY = ("sqlalchemy", "alembic", "psycopg", "stem", "httpx")


@dataclass(frozen=True)
class Rule:
    room: str  # a module prefix
    may_not: tuple[str, ...]  # module prefixes (rooms or libraries) it must not import
    why: str


RULES = (
    Rule(
        "service.common",
        ("service.server", "service.desk", "service.field", "service.cli", "onion", "service.text"),
        "the shared contract runs on every machine and leans on no program",
    ),
    Rule(
        "service.common",
        (*SERVER_ONLY, "uvicorn", "fastapi"),
        "the shared contract needs no server stack (webkit may use starlette and jinja2)",
    ),
    Rule(
        "service.desk",
        ("service.server", "service.field", "service.cli", "onion", *SERVER_ONLY),
        "the air-gapped desk installs without the server's stack; its local web app may use "
        "fastapi, starlette, jinja2 and uvicorn only",
    ),
    Rule(
        "service.field",
        ("service.server", "service.desk", "service.cli", "sqlalchemy", "alembic", "psycopg"),
        "the courier's and intermediaries' laptop runs neither the server nor the desk",
    ),
    Rule(
        "service.server",
        ("service.desk", "service.field", "service.cli"),
        "the server never needs the desk's or the field tools' code",
    ),
    Rule(
        "onion",
        ("service.server", "service.desk", "service.field", "service.cli"),
        "tor handling serves the server and the courier machine alike",
    ),
)
# Libraries only one module tree may import.
OWNERS = {
    "nacl": ("service.common.crypto",),
    "stem": ("onion",),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports (module, or module.name)
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(n) for n in ast.walk(node))
    return hidden


def imports_of(path: Path) -> Iterator[Import]:
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _type_checking_nodes(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            yield Import(module, source, node.lineno)
            for alias in node.names:
                yield Import(module, f"{source}.{alias.name}", node.lineno)


def product_files() -> list[Path]:
    return sorted(p for top in ("service", "onion") for p in (ROOT / top).rglob("*.py"))


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for imp in imports_of(path):
            for rule in RULES:
                if _under(imp.module, rule.room):
                    for banned in rule.may_not:
                        if _under(imp.target, banned):
                            found.append(f"{path.relative_to(ROOT)}:{imp.line} {imp.target}")
            library = imp.target.split(".")[0]
            owners = OWNERS.get(library)
            if owners and not any(_under(imp.module, o) for o in owners):
                found.append(f"{path.relative_to(ROOT)}:{imp.line} {imp.target} (owned)")
    return sorted(set(found))


def test_every_room_keeps_to_its_imports() -> None:
    assert violations(product_files()) == []


def _room_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "onion":
        return "onion"
    if parts[:2] == ["service", "desk"] and len(parts) > 2:
        return ".".join(parts[:3])  # the desk's sub-rooms are rooms of their own
    return ".".join(parts[:2])


def import_graph(files: list[Path]) -> dict[str, set[str]]:
    modules = {_module_name(p) for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in files:
        for imp in imports_of(path):
            target = imp.target
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != imp.module and not imp.module.startswith(target + "."):
                graph[imp.module].add(target)  # a package's own __init__ is not a cycle
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module within one room (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if _room_of(w) != _room_of(v):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_no_import_cycles_within_a_room() -> None:
    assert cycles(import_graph(product_files())) == []


# Calls only one module may make: the durable private-file writer and the untrusted-text
# policy each live in one place (a fix to one copy would not reach the others).
ONE_PLACE = {
    "os.fsync": ("service.common.files",),
    "unicodedata.category": (
        "service.common.text",
        "service.common.crypto.token",  # reads digits of any script into a token
    ),
}


def calls_outside(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = ast.unparse(node.func)
                owners = ONE_PLACE.get(name)
                if owners is not None and module not in owners:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_fsync_and_the_text_policy_live_in_one_module_each() -> None:
    assert calls_outside(product_files()) == []


def test_a_stray_fsync_is_found(tmp_path: Path) -> None:
    global ROOT
    path = tmp_path / "service/desk/bad.py"
    path.parent.mkdir(parents=True)
    path.write_text("import os\nos.fsync(3)\n")
    saved, ROOT = ROOT, tmp_path
    try:
        assert calls_outside([path]) == ["service/desk/bad.py:2 os.fsync"]
    finally:
        ROOT = saved


# --- the checks can fail ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("service/desk/casework/bad.py", "from service.server.settings import Settings\n"),
        ("service/desk/web/bad.py", "def f():\n    import sqlalchemy\n"),
        ("service/common/bad.py", "from service.desk import errors\n"),
        ("service/common/contract/bad.py", "from ..crypto import keys\nimport nacl.bindings\n"),
        ("service/field/bad.py", "from service.server.courier import schemas\n"),
        ("service/server/bad.py", "import stem.control\n"),
        ("onion/bad.py", "from service.server.settings import Settings\n"),
    ],
)
def test_a_violation_is_found(tmp_path: Path, where: str, source: str) -> None:
    global ROOT
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source)
    saved, ROOT = ROOT, tmp_path
    try:
        assert violations([path]) != []
    finally:
        ROOT = saved


def test_type_checking_imports_do_not_count(tmp_path: Path) -> None:
    global ROOT
    path = tmp_path / "service/desk/ok.py"
    path.parent.mkdir(parents=True)
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sqlalchemy\n")
    saved, ROOT = ROOT, tmp_path
    try:
        assert violations([path]) == []
    finally:
        ROOT = saved


def test_a_cycle_is_found() -> None:
    graph = {
        "service.desk.inbox.a": {"service.desk.inbox.b"},
        "service.desk.inbox.b": {"service.desk.inbox.a"},
    }
    assert cycles(graph) == [["service.desk.inbox.a", "service.desk.inbox.b"]]
    graph["service.desk.inbox.b"] = {"service.desk.store.c"}
    assert cycles(graph | {"service.desk.store.c": {"service.desk.inbox.a"}}) == []  # across rooms


def test_every_package_docstring_names_its_modules() -> None:
    missing = []
    for init in sorted(p for p in product_files() if p.name == "__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        for child in sorted(init.parent.iterdir()):
            is_module = child.suffix == ".py" and not child.name.startswith("_")
            is_package = child.is_dir() and (child / "__init__.py").exists()
            if (is_module or is_package) and f"``{child.name}" not in doc:
                missing.append(str(child.relative_to(ROOT)))
    assert missing == []
