"""The seams between modules, read from the source with `ast`: no import cycles (counting imports inside
functions), no module importing another's underscore names, and Value's private slots written only by
the node module and the executors."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autodiff", "nn", "viz", "deltagrad")
SLOTS = {"_grad", "_op", "_a", "_b"}
SLOT_WRITERS = {"autodiff.engine", "autodiff.eager", "autodiff.vectorized", "autodiff.compiled"}


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def imports(name: str, tree: ast.Module, known: set[str]):
    """(imported module, imported names) for every import in the module, at any depth."""
    package = name if name in PACKAGES else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] +
                                ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub, []) if sub in known else (base, [alias.name])


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges = {name: set() for name in mods}
    for name, tree in mods.items():
        for target, _ in imports(name, tree, set(mods)):
            if target in mods and target != name:
                edges[name].add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(edges[child]))))
                path.append(child)
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_even_through_imports_inside_functions():
    edges = graph()
    assert "autodiff.reference" in edges["autodiff.steps"]       # the reader sees real imports
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_no_private_names_imported_across_modules():
    mods = modules()
    bad = []
    for name, tree in mods.items():
        package = name.split(".")[0]
        aliases = {}
        for target, names in imports(name, tree, set(mods)):
            if target.split(".")[0] not in PACKAGES:
                continue
            if any(private(part) for part in target.split(".")) and target.split(".")[0] != package:
                bad.append(f"{name} imports the private module {target}")
            bad += [f"{name} imports {target}.{n}" for n in names if private(n)]
            if not names:
                aliases[target.rsplit(".", 1)[-1]] = target
        for node in ast.walk(tree):   # engine._x through an imported module
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and private(node.attr)):
                bad.append(f"{name} uses {aliases[node.value.id]}.{node.attr}")
    assert not bad, "\n".join(bad)


def test_only_the_node_module_and_the_executors_write_value_slots():
    bad = []
    for name, tree in modules().items():
        if name in SLOT_WRITERS:
            continue
        for node in ast.walk(tree):
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and sub.attr in SLOTS:
                        bad.append(f"{name}:{node.lineno} writes .{sub.attr}")
    assert not bad, "\n".join(bad)
