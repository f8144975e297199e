"""The house rules of CONVENTIONS.md, checked on the source: imports flow one way between the apps, and
no module imports another that imports it back (not even from inside a function)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Each app may import the apps listed after it; engage's roof (urls, api) may import every app.
MAY_IMPORT = {
    "reporting": {"dunning", "accounts", "billing", "provisioning", "statuses", "engage"},
    "dunning": {"accounts", "billing", "provisioning", "statuses", "engage"},
    "accounts": {"billing", "provisioning", "statuses", "engage"},
    "billing": {"statuses", "engage"},
    "provisioning": {"statuses", "engage"},
    "statuses": {"engage"},
    "engage": set(),
}
ROOF = {"engage.urls", "engage.api"}


def modules() -> dict[str, Path]:
    found = {}
    for app in MAY_IMPORT:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict) -> set[str]:
    """Project modules that `name` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                found.add(candidate)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_imports_flow_one_way_between_the_apps():
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        for target in targets
        if name not in ROOF
        and (app := name.split(".")[0]) != (other := target.split(".")[0])
        and other not in MAY_IMPORT[app]
    )
    assert wrong == []


def test_no_module_imports_one_that_imports_it_back():
    edges = graph()
    cycles = []

    def visit(node, path, on_path):
        for nxt in edges[node]:
            if nxt in on_path:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt, path + [nxt], on_path | {nxt})
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start], {start})
    assert cycles == []
