"""A small, safe expression language for building graphs of `Value`s from text:
``parse_expression("n = x*w + b; o = tanh(n)", x=2, w=-3, b=6.88)``.  The text is read with Python's
`ast` module and checked against a whitelist; nothing is ever run by ``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping

from autodiff.engine import Value
from autodiff.primitives import PRIMITIVES, quoted

__all__ = ["parse_expression", "ParsedExpression", "ExpressionError", "FUNCTIONS", "ALLOWED",
           "MAX_LENGTH", "MAX_OPERATORS"]

class _Functions(Mapping):
    """The table's primitives by ``parse_name``, read from the table at each use, so that a primitive
    defined later (`autodiff.primitives.define` with ``parse_name=``) is a function of the language."""

    def __getitem__(self, name: str) -> Callable:
        for p in PRIMITIVES.values():
            if p.parse_name == name:
                return p
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter([p.parse_name for p in PRIMITIVES.values() if p.parse_name])

    def __len__(self) -> int:
        return sum(1 for p in PRIMITIVES.values() if p.parse_name)


#: The functions of the language: every primitive of the table with a ``parse_name``.
FUNCTIONS: Mapping[str, Callable] = _Functions()

_BINARY: dict[type, tuple[str, Callable]] = {
    ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub), ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv), ast.Pow: ("**", operator.pow),
}
_UNARY: dict[type, tuple[str, Callable]] = {ast.USub: ("-", operator.neg), ast.UAdd: ("+", lambda x: x)}



def allowed() -> str:
    """What the language allows, for error messages (with the functions the table has now)."""
    one = " ".join(name for name, f in FUNCTIONS.items() if f.arity == 1)
    two = " ".join(name for name, f in FUNCTIONS.items() if f.arity == 2)
    more = [f"{name} of {f.arity}" for name, f in FUNCTIONS.items() if f.arity > 2]
    more += [f"{name} of one or more" for name, f in FUNCTIONS.items() if f.arity == -1]
    return ("allowed: numbers (2, 0.5, 1e-3), names, + - * / **, unary minus, parentheses, "
            f"{one} of one argument, {two} of two, {''.join(m + ', ' for m in more)}and "
            "`name = expression` statements separated by ; or new lines")


#: What the language allows with the built-in functions (`allowed()` also lists those defined later).
ALLOWED = allowed()

# Limits checked on the raw text BEFORE `ast.parse`, which itself overflows the C stack on deep input.
# Every level of an expression's tree needs an operator, a call or a bracket, so counting those bounds
# the depth of the tree.
MAX_LENGTH = 10_000
MAX_OPERATORS = 1_000

# What people try, said plainly for the error message.
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access is not allowed", ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambdas are not allowed", ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed", ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed", ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "`and`/`or` are not allowed", ast.IfExp: "conditional expressions are not allowed",
    ast.List: "lists are not allowed", ast.Tuple: "tuples are not allowed", ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed", ast.JoinedStr: "strings are not allowed",
    ast.NamedExpr: "`:=` is not allowed", ast.Await: "`await` is not allowed",
    ast.Yield: "`yield` is not allowed", ast.YieldFrom: "`yield` is not allowed",
    ast.AugAssign: "augmented assignments like `+=` are not allowed (use a new name)",
    ast.AnnAssign: "annotated assignments are not allowed", ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed", ast.FunctionDef: "function definitions are not allowed",
    ast.AsyncFunctionDef: "function definitions are not allowed",
    ast.ClassDef: "class definitions are not allowed", ast.For: "loops are not allowed",
    ast.While: "loops are not allowed", ast.If: "`if` statements are not allowed",
}


class ExpressionError(ValueError):
    """The text is not a valid expression, or cannot be computed with the values given.

    ``line`` and ``column`` (both from 1) point at the offending part when there is one; the message
    starts with them and says what is allowed or what to do.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message)
        self.line, self.column = line, column


class ParsedExpression:
    """The graph an expression built: ``root`` (the last statement's value) and its named nodes.

    ``leaves`` maps each input name to its leaf `Value` (labelled with the name), in order of first
    use; a name assigned a plain number (``c = 2``) is a leaf too.  ``nodes`` maps each name assigned
    a computation (``n = x*w + b``) to its node, labelled with the name.  Unpacks as ``root, leaves``.
    """

    __slots__ = ("root", "leaves", "nodes", "positions")

    def __init__(self, root: Value, leaves: dict[str, Value], nodes: dict[str, Value],
                 positions: dict[Value, tuple[int, int, str]] | None = None):
        self.root, self.leaves, self.nodes = root, leaves, nodes
        #: every node the text made -> (line, column, the source text that made it)
        self.positions = positions or {}

    def backward(self) -> None:
        """``root.backward()``; an error from a derivative rule (an infinite slope, say) is raised as
        an `ExpressionError` pointing at the part of the text whose node failed."""
        try:
            self.root.backward()
        except (ValueError, ArithmeticError) as e:
            raise self.error_at(e) from None

    def error_at(self, error: Exception) -> ExpressionError:
        """``error`` (raised about a node, in ``error.node``) as an ExpressionError at its position."""
        where = self.positions.get(getattr(error, "node", None))
        if where is None:
            return ExpressionError(str(error))
        line, column, segment = where
        return ExpressionError(f"`{segment}`: {error}", line, column)

    def __iter__(self) -> Iterator:
        return iter((self.root, self.leaves))

    def __repr__(self) -> str:
        return f"ParsedExpression(root={self.root!r}, leaves={list(self.leaves)}, nodes={list(self.nodes)})"


def parse_expression(text: str, /, **values: float) -> ParsedExpression:
    """Build the graph of ``text`` with the given values for its names and return its root and leaves.

        root, leaves = parse_expression("tanh(x1*w1 + x2*w2 + b)", x1=2, x2=0, w1=-3, w2=1, b=6.88)
        root.backward()
        leaves["w1"].grad            # x1 (1 - tanh(n)^2) = 2 (1 - 0.7071^2) = 1.0

    Grammar: numbers (``2``, ``0.5``, ``1e-3``), names, ``+ - * / **``, unary minus, parentheses and
    the calls of one argument ``exp log tanh sigmoid relu sqrt abs sin cos softplus leaky_relu elu
    gelu`` and of two, ``maximum minimum`` (the table's primitives with a ``parse_name``); several
    statements separated by ``;`` or new lines, each ``name = expression`` except perhaps the last.
    Constant sub-expressions are computed as plain numbers, so ``x ** (1/2)`` is the one-input node
    ``x ** 0.5``.
    Raises `ExpressionError` (a ValueError) naming the line and column of anything else, a name
    without a value, or a computation out of its domain (``log(0)``, a division by zero, an overflow).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_expression needs the expression as a str, got {type(text).__name__}")
    given = {unicodedata.normalize("NFKC", k): _number(k, v) for k, v in values.items()}
    lines, shifts = _dedent(text)
    source = "\n".join(lines)
    _check_size(source)
    try:
        # Every warning of Python's parser is silenced, whatever its category and the caller's filters:
        # each is about text outside the grammar, which the whitelist below refuses with its own message
        # (invalid escapes in strings: a DeprecationWarning up to 3.11, a SyntaxWarning from 3.12;
        # "invalid decimal literal" in `1if x else 2`: DeprecationWarning on 3.10, SyntaxWarning after).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="exec")
    except SyntaxError as e:
        line = e.lineno or 1
        column = (e.offset or 1) + (shifts[line - 1] if line <= len(shifts) else 0)
        raise ExpressionError(f"{e.msg} ({allowed()})", line, column) from None
    except (RecursionError, MemoryError):  # a backstop for the limits above, when the stack is deep
        raise ExpressionError("the expression is nested too deeply for Python's parser; name some "
                              "parts with assignments (n = ...; o = tanh(n))") from None
    except ValueError as e:  # null bytes, on Pythons that do not make them a SyntaxError
        raise ExpressionError(f"{e} ({allowed()})") from None
    return _Builder(lines, shifts, given).build(tree)


def _number(name: str, v: object) -> float:
    try:
        x = float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else math.nan
    except OverflowError:  # an int beyond the floats
        x = math.inf
    if not math.isfinite(x):
        raise ExpressionError(f"the value of {name} must be a finite real number, got {quoted(v)}")
    return x


def _dedent(text: str) -> tuple[list[str], list[int]]:
    """Each line without its leading blanks (indentation means nothing here) and how many were cut."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    stripped = [line.lstrip(" \t\f") for line in lines]
    return stripped, [len(a) - len(b) for a, b in zip(lines, stripped, strict=True)]


def _check_size(source: str) -> None:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(source):,} characters long; the limit is "
                              f"{MAX_LENGTH:,} (split the work, or build the graph in Python)")
    count = sum(source.count(c) for c in "+-*/([{~%@<>&|^")
    if count > MAX_OPERATORS:
        raise ExpressionError(f"the expression has {count:,} operators and brackets; the limit is "
                              f"{MAX_OPERATORS:,} (nested that deep it would not fit a diagram either)")


class _Builder:
    """Checks a parsed tree against the whitelist, then computes it statement by statement, iteratively."""

    def __init__(self, lines: list[str], shifts: list[int], values: dict[str, float]):
        self.lines, self.shifts, self.values = lines, shifts, values
        self.leaves: dict[str, Value] = {}
        self.nodes: dict[str, Value] = {}
        self.positions: dict[Value, tuple[int, int, str]] = {}

    # ---- where things are ----------------------------------------------------------------------
    def where(self, node: ast.AST) -> tuple[int | None, int | None]:
        line = getattr(node, "lineno", None)
        if line is None:
            return None, None
        # col_offset counts UTF-8 bytes; people count characters.
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        chars = len(text.encode("utf-8")[:node.col_offset].decode("utf-8", errors="replace"))
        return line, chars + 1 + self.shifts[line - 1]

    def segment(self, node: ast.AST) -> str:
        s = ast.get_source_segment("\n".join(self.lines), node) or type(node).__name__
        s = " ".join(s.split())
        return s if len(s) <= 40 else s[:37] + "..."

    def error(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, *self.where(node))

    # ---- the whitelist -------------------------------------------------------------------------
    def check(self, tree: ast.Module) -> None:
        """Refuse the first construct, in reading order, that is not in the grammar."""
        if not tree.body:
            raise ExpressionError(f"the expression is empty; write one, e.g. tanh(x*w + b) ({allowed()})")
        for i, stmt in enumerate(tree.body):
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise self.error(stmt, f"`{self.segment(stmt)}`: assign to one plain name, "
                                     f"e.g. n = x*w + b ({allowed()})")
                self.check_name(stmt.targets[0])
            elif isinstance(stmt, ast.Expr):
                if i != len(tree.body) - 1:
                    raise self.error(stmt, f"the value of `{self.segment(stmt)}` is not used; give it "
                                     "a name (n = ...) or make it the last statement")
            else:
                raise self.refused(stmt)
            stack = [stmt.value]
            while stack:
                node = stack.pop()
                if isinstance(node, ast.BinOp):
                    if type(node.op) not in _BINARY:
                        raise self.error(node, f"the operator in `{self.segment(node)}` is not "
                                         f"allowed ({allowed()})")
                    stack += [node.right, node.left]
                elif isinstance(node, ast.UnaryOp):
                    if type(node.op) not in _UNARY:
                        raise self.error(node, f"the operator in `{self.segment(node)}` is not "
                                         f"allowed ({allowed()})")
                    stack.append(node.operand)
                elif isinstance(node, ast.Call):
                    self.check_call(node)
                    stack += node.args
                elif isinstance(node, ast.Name):
                    self.check_name(node)
                elif isinstance(node, ast.Constant):
                    self.check_constant(node)
                else:
                    raise self.refused(node)

    def refused(self, node: ast.AST) -> ExpressionError:
        what = _REFUSED.get(type(node), f"{type(node).__name__} is not part of the language")
        return self.error(node, f"`{self.segment(node)}`: {what} ({allowed()})")

    def check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else self.segment(node.func)
            raise self.error(node, f"`{name}(...)` is not an allowed function; the functions are "
                             f"{', '.join(FUNCTIONS)} ({allowed()})")
        n = FUNCTIONS[node.func.id].arity   # -1: any number of arguments (one or more)
        if (node.keywords or any(isinstance(a, ast.Starred) for a in node.args)
                or (len(node.args) != n if n != -1 else not node.args)):
            example = f"{node.func.id}({', '.join('xyz'[:n] if n != -1 else 'xyz')})"
            count = {1: "exactly one argument", -1: "one or more arguments"}.get(n, f"exactly {n} arguments")
            raise self.error(node, f"`{self.segment(node)}`: {node.func.id} takes {count}, without "
                             f"keywords, e.g. {example}")

    def check_name(self, node: ast.Name) -> None:
        if node.id in FUNCTIONS:
            n = FUNCTIONS[node.id].arity
            raise self.error(node, f"{node.id} is a function; call it, e.g. "
                             f"{node.id}({', '.join('xyz'[:n] if n != -1 else 'xyz')}), and use another "
                             "name for values")

    def check_constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            what = "strings" if isinstance(v, (str, bytes)) else f"`{self.segment(node)}`"
            raise self.error(node, f"{what} {'are' if what == 'strings' else 'is'} not allowed, "
                             f"only real numbers ({allowed()})")
        try:
            ok = math.isfinite(float(v))
        except OverflowError:
            ok = False
        if not ok:
            raise self.error(node, f"the number {self.segment(node)} is too large for a float "
                             "(the largest is about 1.8e308)")

    # ---- names ---------------------------------------------------------------------------------
    def check_names(self, tree: ast.Module) -> None:
        """Every name used has a value or an earlier assignment; each name is assigned at most once
        and never both given a value and assigned.  Missing values are reported all together."""
        assigned_later = {s.targets[0].id: s for s in tree.body if isinstance(s, ast.Assign)}
        defined: set[str] = set(self.values)
        missing: dict[str, ast.Name] = {}
        for stmt in tree.body:
            functions = set()
            for node in ast.walk(stmt.value):  # ast.walk is iterative (a queue), safe at any depth
                if isinstance(node, ast.Call):
                    functions.add(node.func)
                elif isinstance(node, ast.Name) and node not in functions and node.id not in defined:
                    if node.id in assigned_later:
                        raise self.error(node, f"{node.id} is used before it is assigned; assign it "
                                         "in an earlier statement")
                    first = missing.setdefault(node.id, node)
                    if (node.lineno, node.col_offset) < (first.lineno, first.col_offset):
                        missing[node.id] = node  # ast.walk goes breadth first; report reading order
            if isinstance(stmt, ast.Assign):
                target = stmt.targets[0]
                if target.id in self.values:
                    raise self.error(target, f"{target.id} is given a value and also assigned; "
                                     "use another name for one of them")
                if target.id in defined:
                    raise self.error(target, f"{target.id} is assigned twice; use a new name for "
                                     "the second one")
                defined.add(target.id)
                del assigned_later[target.id]
        if missing:
            names = sorted(missing, key=lambda k: (missing[k].lineno, missing[k].col_offset))
            first = missing[names[0]]
            raise self.error(first, f"no value given for {', '.join(names)}; give each a number, "
                             f"e.g. {names[0]}=0.5")

    # ---- computing -----------------------------------------------------------------------------
    def build(self, tree: ast.Module) -> ParsedExpression:
        self.check(tree)
        self.check_names(tree)
        scope: dict[str, Value] = {}
        result: Value | float = 0.0
        for stmt in tree.body:
            result = self.compute(stmt.value, scope)
            if isinstance(stmt, ast.Assign):
                name = stmt.targets[0].id
                if isinstance(result, Value):
                    if result.label:
                        raise self.error(stmt, f"`{self.segment(stmt)}` only gives {result.label} "
                                         "another name; assign a computation, e.g. "
                                         f"{name} = {result.label} * 2")
                    result.label = name
                    self.nodes[name] = result
                else:
                    result = Value(result, name)
                    self.leaves[name] = result
                scope[name] = result
        root = result if isinstance(result, Value) else Value(result)
        return ParsedExpression(root, self.leaves, self.nodes, self.positions)

    def leaf(self, node: ast.Name, scope: dict[str, Value]) -> Value:
        if node.id not in scope:
            scope[node.id] = self.leaves[node.id] = Value(self.values[node.id], node.id)
        return scope[node.id]

    def compute(self, expr: ast.expr, scope: dict[str, Value]) -> Value | float:
        """Post-order walk with an explicit stack: no recursion, whatever the depth of the tree.
        Plain numbers stay floats until they meet a Value, so constants fold."""
        results: list[Value | float] = []
        stack: list[tuple[ast.expr, bool]] = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            if isinstance(node, ast.Constant):
                results.append(float(node.value))
            elif isinstance(node, ast.Name):
                results.append(self.leaf(node, scope))
            elif not ready:
                stack.append((node, True))
                children = ([node.right, node.left] if isinstance(node, ast.BinOp) else
                            [node.operand] if isinstance(node, ast.UnaryOp) else node.args[::-1])
                stack += [(child, False) for child in children]
            elif isinstance(node, ast.BinOp):
                b, a = results.pop(), results.pop()
                results.append(self.apply(node, _BINARY[type(node.op)][1], a, b))
            elif isinstance(node, ast.UnaryOp):
                results.append(self.apply(node, _UNARY[type(node.op)][1], results.pop()))
            else:
                n = len(node.args)
                args = results[-n:]
                del results[-n:]
                results.append(self.apply(node, FUNCTIONS[node.func.id], *args))
        assert len(results) == 1, "the post-order walk leaves exactly the expression's value"
        return results[0]

    def apply(self, node: ast.expr, f: Callable, *args: Value | float) -> Value | float:
        """One operation; on two plain numbers it runs through a throwaway Value so that the engine's
        own checks (division by zero, negative base, overflow) apply to constants too."""
        try:
            if all(not isinstance(a, Value) for a in args) and f not in FUNCTIONS.values():
                out = f(Value(args[0]), *args[1:]).data
            else:
                out = f(*args)
        except (ValueError, ArithmeticError, TypeError) as e:  # TypeError: a user's primitive's forward
            raise self.error(node, f"`{self.segment(node)}` cannot be computed: {e}") from None
        number = out.data if isinstance(out, Value) else out
        if isinstance(out, Value):  # remember where each node this operation made came from
            where = (*self.where(node), self.segment(node))
            stack = [out]
            while stack:
                v = stack.pop()
                if v not in self.positions and not any(v is a for a in args):
                    self.positions[v] = where
                    stack.extend(v.parents)
        if not math.isfinite(number):
            raise self.error(node, f"`{self.segment(node)}` gives {number} (a float overflow); use "
                             "smaller inputs")
        return out
