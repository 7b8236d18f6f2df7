"""The layout's promises, read from the source with `ast`: every import statement counts,
function-level ones included, so a late import cannot hide a cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("digest", "subscriptions")

# What a model module may lean on beyond Django: pure helpers that import no model.
MODEL_HELPERS = {"digest.papers.names", "digest.mailing.periods", "subscriptions.tokens"}

# The web layer and the task modules: the only places that may queue Celery work.
QUEUEING_ALLOWED = {"digest.tasks", "digest.urls", "digest.admin", "digest.celery"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def imported_names(name: str, path: Path) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def with_parents(module: str) -> Iterator[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


@cache
def import_graph() -> dict[str, frozenset[str]]:
    modules = project_modules()
    graph = {}
    for name, path in modules.items():
        targets = {
            target
            for imported in imported_names(name, path)
            for target in with_parents(imported)
            if target in modules and target != name and not name.startswith(target + ".")
        }
        graph[name] = frozenset(targets)
    return graph


def cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def is_web_layer(module: str) -> bool:
    return module.rsplit(".", 1)[-1] in {"views", "admin", "urls"} or module in QUEUEING_ALLOWED


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}

    assert cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_imports_inside_functions():
    assert "digest.mailing.planning" in import_graph()["digest.mailing.dispatch"]


def test_no_import_cycle_among_the_projects_modules():
    assert cycles(import_graph()) == []


def test_models_import_no_service_module():
    graph = import_graph()
    models = [m for m in graph if m.startswith("digest.models") or m == "subscriptions.models"]
    leaks = {
        model: sorted(
            target
            for target in graph[model]
            if not target.startswith("digest.models")
            and target not in MODEL_HELPERS
            and not any(helper.startswith(target + ".") for helper in MODEL_HELPERS)
        )
        for model in models
    }

    assert {model: found for model, found in leaks.items() if found} == {}


def test_only_tasks_and_the_web_layer_queue_celery_work():
    graph = import_graph()
    queueing = sorted(m for m, targets in graph.items() if "digest.tasks" in targets)

    assert [m for m in queueing if not is_web_layer(m)] == []


def test_domain_code_never_imports_celery_itself():
    users = [
        name
        for name, path in project_modules().items()
        if any(n.split(".")[0] == "celery" for n in imported_names(name, path))
    ]

    assert sorted(users) == ["digest.celery", "digest.tasks"]


def test_every_folder_says_what_lives_there_and_what_it_may_import():
    packages = [p for p in project_modules().values() if p.name == "__init__.py"]
    undocumented = [
        str(p.relative_to(ROOT))
        for p in packages
        if "management" not in p.parts
        and len((ast.get_docstring(ast.parse(p.read_text())) or "").strip().splitlines()) < 2
    ]

    assert undocumented == []


def test_at_most_twelve_modules_sit_directly_in_digest():
    assert len(list((ROOT / "digest").glob("*.py"))) <= 12
