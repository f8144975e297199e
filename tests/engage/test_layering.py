"""The house rules of CONVENTIONS.md, checked on the source: imports flow one way between the apps, and
no module imports another that imports it back (not even from inside a function)."""

import ast
import re
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


def test_outside_accounts_only_the_engines_door_is_imported():
    # accounts/engine/__init__.py is the one door; its modules are the engine's own business.
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if not name.startswith("accounts.")
        for target in targets
        if target.startswith("accounts.engine.")
    )
    assert wrong == []


APP_TEMPLATES = ROOT / "templates"
_LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")
_INCLUDE = re.compile(r"""{%\s*(?:include|extends)\s+["']([a-z_]+)/""")


def _tag_libraries() -> dict[str, str]:
    """{tag library name: the app that defines it}."""
    return {path.stem: app for app in MAY_IMPORT for path in (ROOT / app).glob("templatetags/*.py")
            if path.stem != "__init__"}


def test_no_page_loads_a_tag_or_a_template_of_an_app_above_it():
    # A page of accounts may draw what billing gives it, never what collections (above it) does: an app above
    # puts its card on the page through the panels it registers (engage/panels.py).
    libraries = _tag_libraries()
    wrong = []
    for path in APP_TEMPLATES.rglob("*.html"):
        app = path.relative_to(APP_TEMPLATES).parts[0]
        if app not in MAY_IMPORT:
            continue  # base.html, includes/, setup/: the roof's own
        text = path.read_text()
        for names in _LOAD.findall(text):
            for library in names.split():
                owner = libraries.get(library)
                if owner and owner != app and owner not in MAY_IMPORT[app]:
                    wrong.append(f"{path.relative_to(ROOT)} loads {library} of {owner}")
        for other in _INCLUDE.findall(text):
            if other in MAY_IMPORT and other != app and other not in MAY_IMPORT[app]:
                wrong.append(f"{path.relative_to(ROOT)} includes a template of {other}")
    assert wrong == []


def test_no_app_reads_the_tables_of_an_app_above_it_through_reverse_relations():
    # A foreign key from an app above (accounts.Account.status_type) gives the model below a reverse accessor
    # (status_type.accounts, counter__count): using it is an import that the graph cannot see.
    from django.apps import apps

    wrong = []
    for model in apps.get_models():
        app = model._meta.app_label
        if app not in MAY_IMPORT:
            continue
        for field in model._meta.get_fields():
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            below = field.related_model._meta.app_label
            name = field.remote_field.related_name
            if below not in MAY_IMPORT[app] or not name or name.endswith("+"):
                continue
            pattern = re.compile(rf"\.{name}\b|\b{name}__|[\"']{name}[\"']")
            for path in (ROOT / below).rglob("*.py"):
                if "migrations" not in path.parts and pattern.search(path.read_text()):
                    wrong.append(f"{path.relative_to(ROOT)} uses {model.__name__}'s reverse relation {name}")
    assert wrong == []


def test_statuses_names_no_app_above_it():
    # Not by import, and not by an app label in a string either: what holds a type or reason is asked of the
    # apps that use them (statuses/usage.py).
    above = {app for app in MAY_IMPORT if app not in ("statuses", "engage")}
    wrong = []
    for path in (ROOT / "statuses").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value in above or node.value.split(".")[0] in above
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert wrong == []
