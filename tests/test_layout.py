"""The layout holds: three wings that never import sideways, no cycle, no hidden import.

Read from the source (``ast``), not by importing: the rules are about what the code says.
- ``harness/measure`` (produces a run folder) imports neither ``analysis`` nor ``report``;
- ``harness/analysis`` (run folder → typed numbers and words) imports neither ``measure`` nor
  ``report``; ``harness/report`` (renders) reads ``analysis``'s objects, never ``measure``;
- ``results``, ``errors`` and ``files`` are the bottom: they import no wing;
- ``locustfiles`` is sealed: the harness imports only its ``protocol`` (no Locust inside);
- the app never imports the harness; no project module imports another inside a function or
  under ``TYPE_CHECKING``, and the import graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "target_app", "scenarios", "locustfiles")
WINGS = ("harness.measure", "harness.analysis", "harness.report", "harness.scan")
BOTTOM = (
    "harness.results",
    "harness.server_samples",
    "harness.errors",
    "harness.files",
    "harness.cpu_times",
    "harness.affinity",
)
# who may import whom among the wings (the data flow: measure → files → analysis → report)
ALLOWED_WINGS = {
    "harness.measure": {"harness.measure"},
    "harness.analysis": {"harness.analysis"},
    "harness.report": {"harness.report", "harness.analysis"},
    "harness.scan": {"harness.scan"},  # bench scan reads an app: it measures nothing
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {"bench": ROOT / "bench.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES or name == "bench"


def _resolve(name: str) -> str:
    """``harness.analysis.stats.compare_bins`` → ``harness.analysis.stats`` (a known module)."""
    while name and name not in SOURCES:
        name = name.rpartition(".")[0]
    return name


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, at module level?) for every project import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            top.add(id(node))
        if isinstance(node, ast.Try):  # try: import x / except ImportError at module level
            top.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if _project(name):
                found.append((_resolve(name), id(node) in top))
    return found


GRAPH = {name: {m for m, _ in _imports(path) if m and m != name} for name, path in SOURCES.items()}


def _wing(module: str) -> str | None:
    return next((w for w in WINGS if module == w or module.startswith(w + ".")), None)


# The CLI's commands (harness/cli, one module each) import their wing when the command runs,
# for start-up time (`bench report` does not load the measuring side): a choice made in the
# open, not a cycle dodged. The Typer app itself (cli.app) and bench.py import at the top.
LAZY = {m for m in SOURCES if m.startswith("harness.cli.")} - {"harness.cli.app"}


@pytest.mark.parametrize("module", sorted(set(SOURCES) - LAZY))
def test_no_project_import_is_hidden_in_a_function(module: str) -> None:
    hidden = sorted({m for m, top in _imports(SOURCES[module]) if not top})
    assert not hidden, f"{module} imports {hidden} inside a function or under a condition"


def test_wings_never_import_sideways() -> None:
    wrong = []
    for module, imported in GRAPH.items():
        wing = _wing(module)
        for target in imported:
            other = _wing(target)
            if wing and other and other not in ALLOWED_WINGS[wing]:
                wrong.append(f"{module} → {target}")
            if module in BOTTOM and other:
                wrong.append(f"{module} (bottom) → {target}")
            if module.startswith("target_app") and target.startswith("harness"):
                wrong.append(f"{module} (the app) → {target}")
    assert not wrong, wrong


def test_the_harness_sees_only_the_protocol_of_the_locust_side() -> None:
    wrong = [
        f"{module} → {target}"
        for module, imported in GRAPH.items()
        if not module.startswith("locustfiles")
        for target in imported
        if target.startswith("locustfiles") and target != "locustfiles.protocol"
    ]
    assert not wrong, wrong
    protocol = ast.parse(SOURCES["locustfiles.protocol"].read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(protocol) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(protocol) if isinstance(n, ast.ImportFrom)}
    assert not any(n.split(".")[0] in ("locust", "gevent") for n in names)


def test_the_import_graph_has_no_cycle() -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)


def test_the_rules_would_catch_a_sideways_import(tmp_path: Path) -> None:
    """The checker itself: a measure module importing the report wing is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from harness.report import charts\n", encoding="utf-8")
    assert _imports(bad) == [("harness.report.charts", False)]
