"""The import graph of ``facecolab``, drawn from the source with ``ast``: no cycle (between
modules, and between the layers: a subpackage counts as one), no import from a lower layer to
a higher one, a ground floor that imports nothing of ours above it, and no import of our
modules hidden in a function except in the command-line dispatch, in each app script's
``main`` (its model side, once the arguments are checked) and for the TensorFlow-only pipeline
(docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "facecolab"
# The layers, lowest first: a module imports only from its own layer and the ones before it.
# A subpackage is one layer; a top-level module is its own.
LAYERS = [
    {"constants", "fsutil", "console"},
    {"data"},
    {"measures"},
    {"models"},
    {"config"},
    {"modelfiles"},
    {"viz"},
    {"workflows"},
    {"apps"},
    {"cli"},
    {"facecolab", "__main__"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
# Modules that import no facecolab module outside this set: every layer may import them.
GROUND_FLOOR = {f"facecolab.{name}" for name in LAYERS[0]}
# Where an import of our own modules may sit inside a function: the command-line dispatch
# (parsers and handlers are imported only for the subcommand that runs, so `facecolab --help`
# imports no Keras) ...
LAZY_IMPORTERS = {"facecolab.cli.main"}
# ... the `main` of each app script (`python -m facecolab.apps.<name>`), which imports the
# apps' model side once its arguments are checked, so the app's `--help` imports no Keras ...
APP_SCRIPTS = ("face_parsing", "recolour", "portrait", "webcam")
LAZY_IN_FUNCTION = {
    (f"facecolab.apps.{app}", "main"): {"facecolab.apps.inference"} for app in APP_SCRIPTS
}
# ... and modules that are themselves an optional heavy dependency: tf.data needs TensorFlow,
# which a JAX or PyTorch Keras install may lack (training and evaluation pick tf.data or the
# numpy loader by backend).
LAZY_TARGETS = {"facecolab.data.tf_pipeline"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The facecolab modules an import statement loads (a ``from X import name`` of a
    submodule ``name`` loads ``X.name``)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        targets = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names
        ]
    return [target for target in targets if target in MODULES]


def imports(module: str) -> tuple[set[str], list[tuple[str, int, str]]]:
    """``(modules imported at module level, [(module imported in a function, line, the
    outermost function's name)])``."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    top, lazy = set(), []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found = imported_modules(module, child)
                if function:
                    lazy.extend((target, child.lineno, function) for target in found)
                else:
                    top.update(found)
            if function is None and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
            elif function is None and isinstance(child, ast.Lambda):
                visit(child, "<lambda>")
            else:
                visit(child, function)

    visit(tree, None)
    return top, lazy


GRAPH = {module: imports(module)[0] for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first = last), or ``None``."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def walk(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := walk(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def unit(module: str) -> str:
    """The layer unit of a module: ``facecolab.data.readers.base`` → ``data``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_the_graph_is_drawn_from_every_module():
    assert {
        "facecolab.cli.main",
        "facecolab.workflows.train",
        "facecolab.data.readers.base",
    } <= set(GRAPH)
    assert "facecolab.constants" in GRAPH["facecolab.measures.metrics"]


def test_no_import_cycle_between_modules():
    assert find_cycle(GRAPH) is None, " → ".join(find_cycle(GRAPH))


def test_every_module_is_in_a_layer():
    assert {unit(module) for module in MODULES} <= set(RANK), set(map(unit, MODULES)) - set(RANK)


def test_no_import_from_a_lower_layer_to_a_higher_one():
    upward = [
        f"{module} → {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if RANK[unit(target)] > RANK[unit(module)]
    ]
    assert not upward, upward


def test_no_import_cycle_between_units():
    """The subpackages and the modules beside them form a layered graph."""
    units: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        units.setdefault(unit(module), set()).update(
            unit(target) for target in targets if unit(target) != unit(module)
        )
    assert find_cycle(units) is None, " → ".join(find_cycle(units))


def test_the_top_level_stays_small_and_every_subpackage_says_what_it_holds():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    for init in PACKAGE.glob("*/__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(docstring) > 80, f"{init}: no docstring saying what the subpackage holds"
        if init.parent.name not in {"models", "cli"}:
            assert "import" in docstring, f"{init}: the docstring says nothing of its imports"


@pytest.mark.parametrize("module", sorted(GROUND_FLOOR))
def test_ground_floor_imports_nothing_above_it(module):
    assert GRAPH[module] <= GROUND_FLOOR, GRAPH[module] - GROUND_FLOOR


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_hidden_import_of_our_modules(module):
    _, lazy = imports(module)
    if module in LAZY_IMPORTERS:
        return
    hidden = [
        f"line {line} ({function}): {target}"
        for target, line, function in lazy
        if target not in LAZY_TARGETS | LAZY_IN_FUNCTION.get((module, function), set())
    ]
    assert not hidden, f"{module} imports inside functions: {hidden}"


def test_the_allowed_lazy_imports_are_there():
    """Every allowance is used: an app script whose `main` no longer imports its model side
    lazily, or that was renamed, must leave the list."""
    for (module, function), targets in LAZY_IN_FUNCTION.items():
        found = {target for target, _, name in imports(module)[1] if name == function}
        assert found == targets, (module, function, found)


@pytest.mark.parametrize(
    "module", ["facecolab.cli.main", "facecolab.cli.prepare", "facecolab.measures.score"]
)
def test_command_lines_without_models_import_no_keras(module):
    """``facecolab`` (until a subcommand needs models), ``data_prep/load_data.py`` and
    ``f1_score.py`` start fast and run without TensorFlow."""
    code = f"import sys, {module}; print(sorted({{'keras', 'tensorflow'}} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_help_imports_no_keras():
    """The dispatch is lazy: listing the subcommands loads neither Keras nor TensorFlow."""
    code = (
        "import sys\n"
        "from facecolab.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({'keras', 'tensorflow'} & set(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "usage: facecolab" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"


# Every command line that runs a model: its --help (and any usage error) is answered before
# Keras or TensorFlow is imported.
COMMANDS = ("train", "evaluate", "predict", "uncertainty", "export", "webcam", "demo")
HELP_COMMANDS = [
    ["-m", "facecolab", *command, "--help"]
    for command in ([], *([name] for name in (*COMMANDS, "prepare", "score")))
] + [["-m", f"facecolab.apps.{app}", "--help"] for app in APP_SCRIPTS]


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c[1:-1]))
def test_help_imports_no_backend(command):
    """``--help`` of every command and app, run as the user runs it, loads neither Keras nor
    TensorFlow (so it answers in a fraction of a second)."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{command[1]!r}, *{command[2:]!r}]\n"
        "try:\n"
        f"    runpy.run_module({command[1]!r}, run_name='__main__', alter_sys=True)\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "print(sorted({'keras', 'tensorflow'} & set(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "usage:" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
