"""`make mutate`: mutation testing with cosmic-ray over the engine's table of primitives and its
executors, the checker, gradients of any order and the documents' closed forms, each file against the
tests that check it, one process at a time. Writes the kill rate and every surviving mutant into
docs/testing.md (between its `mutate:` markers).

    python tools/mutate.py              # resume an interrupted run (sessions in .mutate/)
    python tools/mutate.py --fresh      # start every session anew
    python tools/mutate.py --only autodiff/check.py
    python tools/mutate.py --fresh --changed-since main   # only the files (or their tests) changed
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = ROOT / ".mutate"
REPORT = ROOT / "docs" / "testing.md"
BEGIN, END = "<!-- mutate:begin -->", "<!-- mutate:end -->"


@dataclass(frozen=True)
class Target:
    """One file to mutate, the tests that must kill its mutants (the ones that exercise it) and, when
    only part of the file matters, the names of the functions to mutate (every def of that name)."""
    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    without: tuple[str, ...] = ()  # operators of OPERATORS not used on this file
    keyword: str = ""  # pytest -k: leaves out those files' slow tests that cannot kill a mutant here


# Left out of the engine's targets: PyTorch's comparisons (importing torch costs 2 s of CPU per mutant;
# the central differences and the exact kink and tail values check the same rules), the command line
# (subprocesses) and the million-deep chains (recursion, not arithmetic).
FAST = ("not pytorch and not command_line and not cli and not deep_chain and not adding_a_primitive "
        "and not pipe")

# Operators left out on the engine's files, to fit the run to the time (see docs/testing.md): `not` on
# a branch condition swaps a rule's two formulas or skips a whole rule (the first 10 such mutants of
# primitives.py were all killed), and numbers ±1 are mostly arities, cache sizes and message indices.
ENGINE_WITHOUT = ("core/NumberReplacer", "core/AddNot")

# The scope: extend it by adding a Target.
SCOPE = [
    # test_engine.py's checker tests only: the whole file takes ~40 s (million-node chains)
    Target("autodiff/check.py", ("tests/test_gradcheck.py", "tests/test_gradcheck_edges.py",
                                 "tests/test_functional_gc.py", *(
        f"tests/test_engine.py::test_{name}" for name in [
        "unary_rule_matches_central_difference", "binary_rule_matches_central_difference",
        "gradcheck_catches_a_wrong_rule", "gradcheck_names_only_the_inputs_that_disagree",
        "numerical_grad_is_central", "gradcheck_rejects_a_single_number"]))),
    Target("autodiff/functional.py", ("tests/test_mutants_functional.py", "tests/test_kinks.py",
                                      "tests/test_functional_edges.py", "tests/test_higher_order.py",
                                      "tests/test_functional_leaves.py", "tests/test_functional_gc.py",
                                      "tests/test_functional_errors.py")),
    # The documents' equations: each document's forward and backward pass (its δ's, gradients and
    # regularization: `_backprop`) and which weights its penalty covers. Not the symbols, tables and
    # argument checks around them.
    Target("nn/closed_form.py", ("tests/test_closed_form_agreement.py", "tests/test_closed_form_errata.py",
                                 "tests/test_closed_form_numeric.py", "tests/test_closed_form_edges.py"),
           ("_penalized", "_backprop"),
           # every number ±1 would add 128 mutants here (~30 min at 13 s each on a shared machine):
           # left out to keep the run to a coffee break; drop this line for a longer, fuller run
           without=("core/NumberReplacer",)),
    # The engine's table: every primitive's forward (on a number and on a batch) and derivative rule.
    Target("autodiff/primitives.py", ("tests/test_kinks.py", "tests/test_mutants_engine.py",
                                      "tests/test_primitives.py",
                                      "tests/test_engine_numerics.py", "tests/test_batched.py",
                                      "tests/test_engine_reference.py", "tests/test_define.py",
                                      "tests/test_batched_checks.py", "tests/test_new_primitive.py",
                                      "tests/test_mutants_primitives.py", "tests/test_numpy_scalars.py",
                                      "tests/test_define_edges.py", "tests/test_functional_leaves.py",
                                      "tests/test_batched_blas.py", "tests/test_higher_order_compiled.py"),
           # numbers ±1 add 340 mutants here, most of them arities, cache sizes and message indices
           without=ENGINE_WITHOUT, keyword=FAST),
    # The executors, each against the tests that compare it with another one and with the numbers.
    Target("autodiff/reference.py", ("tests/test_kinks.py", "tests/test_mutants_engine.py",
                                     "tests/test_mutants_executors.py",
                                     "tests/test_engine_reference.py",
                                     "tests/test_engine_finite.py", "tests/test_engine_numerics.py",
                                     "tests/test_mutants_fallback.py"),
           without=ENGINE_WITHOUT, keyword=FAST),
    Target("autodiff/eager.py", ("tests/test_kinks.py", "tests/test_mutants_executors.py",
                                 "tests/test_engine_reference.py",
                                 "tests/test_engine_finite.py"), without=ENGINE_WITHOUT, keyword=FAST),
    Target("autodiff/vectorized.py", ("tests/test_kinks.py", "tests/test_mutants_executors.py",
                                      "tests/test_mutants_engine.py", "tests/test_batched.py",
                                      "tests/test_batched_layers.py", "tests/test_engine_reference.py",
                                      "tests/test_batched_checks.py", "tests/test_mutants_backward.py",
                                      "tests/test_mutants_fallback.py"),
           without=ENGINE_WITHOUT, keyword=FAST),
    # graph.py: the walk (the topological order every executor starts from) and `rule_error`, which
    # every executor calls once a rule fails: which error is the user's (the rule's, or a batch of
    # another size than its node was built for) and where it is named
    Target("autodiff/graph.py", ("tests/test_engine_reference.py", "tests/test_graph_walk.py",
                                 "tests/test_numpy_scalars.py", "tests/test_values_by_hand.py",
                                 "tests/test_mutants_executors.py", "tests/test_mutants_fallback.py",
                                 "tests/test_engine_finite.py", "tests/test_define.py",
                                 "tests/test_define_edges.py", "tests/test_engine_numerics.py",
                                 "tests/test_mutants_graph.py"),
           ("walk", "walk_leaves", "rule_error", "_with_node", "_sizes_differ", "_stale_batch"),
           without=ENGINE_WITHOUT, keyword=FAST),
    # engine.py: only what `Value.backward()` does around the executors: pick one, add the leaves'
    # gradients to what they held, refuse a gradient that is not finite naming its node, and put every
    # gradient back when anything fails (all or nothing), and the check of the leaves before the pass
    # (what a .data set by hand may hold). Not `Value`'s forward (the table's rows are mutated in
    # primitives.py) nor the graph-building helpers.
    # Every operator here: these 80 lines make few mutants, so numbers ±1 and `not` fit the run.
    Target("autodiff/engine.py", ("tests/test_mutants_backward.py", "tests/test_engine.py",
                                  "tests/test_engine_finite.py", "tests/test_engine_reference.py",
                                  "tests/test_mutants_executors.py", "tests/test_batched.py",
                                  "tests/test_engine_numerics.py", "tests/test_batched_checks.py",
                                  "tests/test_mutants_fallback.py", "tests/test_numpy_scalars.py",
                                  "tests/test_values_by_hand.py", "tests/test_mutants_leaves.py",
                                  "tests/test_compile_leaves.py"),
           ("backward", "_backward_batched", "_add_held", "_finite", "_all_finite", "_check_gradients",
            "_check_accumulated", "_check_leaves", "_refuse_kind", "_check_sizes", "_who", "_about",
            "check_leaves", "_refuse_not_finite", "_held", "_held_checked", "held_grads",
            "check_accumulated", "grads_set_by_hand", "_batches_ok"),
           keyword=FAST),
]


@dataclass(frozen=True)
class Equivalent:
    """A mutant that cannot change what the code does, so no test can kill it. It is still run (if a
    test kills it, it counts as killed and its entry is reported as wrong), but a survivor that matches
    is left out of the kill rate and listed with its reason. Found by file, operator and code, not by
    line number (lines move): `line` is part of the original line, `mutated` part of the mutated one
    (to tell apart two mutants of one operator on one line)."""
    module: str
    operator: str
    line: str
    mutated: str
    reason: str
    near: str = ""  # part of an unchanged line of the diff's context: tells apart two lines that read alike

    def matches(self, module: str, operator: str, original: str, changed: str, context: str = "") -> bool:
        """Spaces aside: cosmic-ray writes some mutants with spaces of its own (`result[ -1]`)."""
        def bare(text: str) -> str:
            return "".join(text.split())
        return (module, operator) == (self.module, self.operator) and bare(self.line) in bare(original) \
            and bare(self.mutated) in bare(changed) and bare(self.near) in bare(context)


_UNDERFLOWED = "at the cut-off itself the formula has underflowed to exactly the 0 that the cut-off returns"
_FAST_PATH = ("a fast path switched off: the general path gives the same terms (to rounding, which the "
              "executors' contracts allow) and is only slower; speed is measured in bench/, not in tests")
_STRICT = "the two sequences have equal lengths by construction, so `strict` never fires"

# Equivalent mutants, each with why (the arguments in full: docs/testing.md). Review this list when the
# code it names changes: an entry that no longer matches any mutant is reported as stale.
EQUIVALENT = [
    Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_Gt_GtE",
               "dy = g * np.where(xd > 0, out * np.log(np.where(xd > 0, xd, 1.0)), 0.0)",
               "np.where(xd >= 0, out",
               "pow's batch rule at x = 0: the inner where has put 1 for x there, and out·log 1 = 0, the "
               "outer branch's 0 (out is finite: 0 ** y < 0 is refused by the forward)"),
    Equivalent("autodiff/primitives.py", "ReplaceAndWithOr",
               "if x.__class__ is float and g.__class__ is float and n.__class__ is float:", "or g",
               "n is a float here (a Value exponent is refused before), and every executor hands a node of "
               "one number one number as upstream, so x is a float exactly when g is"),
    *(Equivalent("autodiff/primitives.py", "ReplaceBinaryOperator_Mul_Div",
                 "sign = math.copysign(1.0, g) * math.copysign(1.0, n) *", m,
                 "±1 / ±1 = ±1 · ±1, exactly") for m in ("/ math.copysign(1.0, n)", "/ (-1.0 if")),
    Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_Lt_LtE",
               "(-1.0 if x < 0 and (n - 1) % 2 else 1.0)", "x <= 0 and",
               "x = 0 never reaches the logarithmic form: 0 ** (n − 1) cannot overflow for n >= 1, and n < 1 "
               "at 0 is refused before"),
    Equivalent("autodiff/primitives.py", "ReplaceBinaryOperator_Sub_Add",
               "(-1.0 if x < 0 and (n - 1) % 2 else 1.0)", "(n + 1) % 2",
               "n − 1 and n + 1 have the same parity (a negative base comes with an integer n)"),
    Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_GtE_Gt", "if x >= 0:", "if x > 0:",
               "sigmoid's two branches both give exactly 0.5 at x = 0 (and at −0.0)"),
    Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_GtE_Gt",
               "return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))", "where(x > 0,",
               "sigmoid's two branches both give exactly 0.5 at x = 0 (and at −0.0)"),
    *(Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_Lt_LtE", "if not -400 < xd < 400:",
                 m, f"tanh′ at |x| = 400: {_UNDERFLOWED} (4e^−800 = 0.0)")
      for m in ("-400 <= xd", "xd <= 400")),
    Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_Gt_GtE",
               "t = EXP(x * (-2.0 if xd > 0 else 2.0))", "xd >= 0",
               "this line runs only for |x| >= 1, never at 0"),
    *(Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_Lt_LtE", "if not -40 < xd < 40:",
                 m, f"φ at |x| = 40: {_UNDERFLOWED} (e^−800 = 0.0)") for m in ("-40 <= xd", "xd <= 40")),
    Equivalent("autodiff/primitives.py", "ReplaceTrueWithFalse",
               "for w, x in zip(inputs[:n], inputs[n:2 * n], strict=True):", "strict=False",
               f"{_STRICT} (n = len // 2)"),
    Equivalent("autodiff/primitives.py", "ReplaceComparisonOperator_Lt_LtE",
               "{'shorter' if len(terms) < n else 'longer'}", "len(terms) <= n",
               "the message of a rule with the wrong number of terms: it is only written when "
               "len(terms) != n, so len(terms) == n, where `<` and `<=` differ, never reaches it"),
    Equivalent("autodiff/primitives.py", "ReplaceTrueWithFalse",
               "for a, b in zip(fields, row, strict=True))", "strict=False",
               f"{_STRICT}: both are the seven fields of a row (symbol to parse_name), `_check_row` "
               "passes its own seven arguments as `row`"),
    *(Equivalent("autodiff/primitives.py", "ReplaceBinaryOperator_Add_Sub", line, "else x - y",
                 f"{what} on numbers: the last branch is reached only when x or y is NaN (between other "
                 f"floats {test} holds), and x − y is NaN as x + y is; `apply` refuses it either way")
      for line, what, test in [("return y if y > x else x if x >= y else x + y", "max", "y > x or x >= y"),
                               ("return y if y < x else x if x <= y else x + y", "min", "y < x or x <= y"),
                               ("1.0 if x > y else 0.0 if x <= y else x + y", "greater",
                                "x > y or x <= y")]),
    Equivalent("autodiff/primitives.py", "ReplaceOrWithAnd", "if _is_node(x) or _is_node(y):",
               "if _is_node(x) and _is_node(y):",
               "max/min's share: the executors hand a rule all numbers (a first-order pass) or all nodes "
               "(create_graph: the node and its parents, each a Value; a constant operand is a Value "
               "leaf), so one input a Value and the other not never reaches it: `or` and `and` agree"),
    Equivalent("autodiff/primitives.py", "ReplaceBinaryOperator_Add_Sub",
               "_np().where(x <= y, 0.0, x + y)", "0.0, x - y)",
               "greater on a batch: the inner where picks x + y only at an entry where x or y is NaN (at "
               "every other one x > y or x <= y holds and 1.0 or 0.0 is picked), and x − y is NaN there "
               "as x + y is; a NaN is refused either way"),
    Equivalent("autodiff/vectorized.py", "ReplaceComparisonOperator_Is_IsNot",
               "elif op is NEURON and g.__class__ is float:", "is not float",
               f"the inline rule of a neuron of one-number nodes: {_FAST_PATH} (such a neuron always gets "
               "one number as upstream, so the mutant never takes the inline branch)"),
    Equivalent("autodiff/vectorized.py", "ReplaceUnaryOperator_USub_UAdd", "xs = nodes[0]._a[n:-1]", "n:+1]",
               f"no neuron is grouped into a layer, each takes the table's rule: {_FAST_PATH}"),
    Equivalent("autodiff/vectorized.py", "ReplaceUnaryOperator_USub_UAdd",
               "if z._a[n:-1] == xs and is_array(z._grad):", "n:+1]",
               f"no neuron is grouped into a layer, each takes the table's rule: {_FAST_PATH}"),
    *(Equivalent("autodiff/vectorized.py", "ReplaceTrueWithFalse", line, "strict=False",
                 f"{_STRICT} (one row per neuron of the group, n weights per row, n inputs)")
      for line in ("for z, row in zip(group, GX.tolist(), strict=True):",
                   "for p, t in zip(z._a[:n], row, strict=True):",
                   "for z, t in zip(group, G.sum(axis=1).tolist(), strict=True):",
                   "for x, t in zip(xs, WG, strict=True):")),
    Equivalent("autodiff/vectorized.py", "ReplaceComparisonOperator_Gt_GtE", "if len(fresh) > 1 and all(",
               "len(fresh) >= 1",
               "the relu layer's one np.where taken for a single relu input too: np.where over one row is "
               "the relu's own np.where(d > 0, g, 0.0), the same terms to the bit"),
    Equivalent("autodiff/vectorized.py", "ReplaceComparisonOperator_Eq_NotEq",
               "Gx = WG if len(fresh) == len(xs) else", "len(fresh) != len(xs)",
               "when every input is fresh the stacked gradients are WG's rows themselves (each x._grad is "
               "its row), the same numbers; when some are not, WG has more rows than Z, the shapes "
               "differ and each relu takes its own np.where: the same terms"),
    Equivalent("autodiff/vectorized.py", "ReplaceComparisonOperator_Eq_NotEq", "if Z.shape == Gx.shape:",
               "Z.shape != Gx.shape",
               f"shapes equal (every graph the forward built): {_FAST_PATH}; unequal (a relu input's .data "
               "replaced by hand after the forward), np.where broadcasts Z against Gx as each relu's own "
               "np.where broadcasts its input against its gradient: the same terms, or a refusal of the "
               "shapes either way (named at the node the flush ran before, not at the relu)"),
    Equivalent("autodiff/vectorized.py", "ReplaceTrueWithFalse",
               "for x, t in zip(fresh, np.where(Z > 0, Gx, 0.0), strict=True):", "strict=False",
               f"{_STRICT}: np.where gives one row per row of Z, one per fresh input"),
    Equivalent("autodiff/vectorized.py", "ZeroIterationForLoop",
               "for x, t in zip(fresh, np.where(Z > 0, Gx, 0.0), strict=True):", "for x, t in []:",
               f"no relu term worked out for the layer, each relu takes its own np.where: {_FAST_PATH}"),
    Equivalent("autodiff/vectorized.py", "ReplaceBinaryOperator_Mul_Div", "with blas_threads(G.size * n):",
               "G.size / n", "the size only chooses how many BLAS threads the two products use: the "
               "products are the same; speed is measured in bench/, not in tests"),
    Equivalent("autodiff/vectorized.py", "ReplaceTrueWithFalse", "return True", "return False",
               "the fast pass's check then reports a false alarm when no batch leaf holds an array, and "
               "`Value.backward` runs the careful pass, which gives the same gradients: only slower",
               near="if not arrays:"),
    Equivalent("autodiff/vectorized.py", "ReplaceTrueWithFalse", "return True", "return False",
               "`_add` never says a term was the first: no input of a fused layer is fresh, the relu "
               f"layer's one np.where is not taken and each relu takes its own: {_FAST_PATH}",
               near="pg == 0.0"),
    Equivalent("autodiff/reference.py", "ReplaceTrueWithFalse",
               "for p, t in zip(parents, terms, strict=True):", "strict=False",
               f"{_STRICT}: `rule_result_problem` above refuses a rule whose terms do not match its "
               "parents in number, with the op and the node"),
    Equivalent("autodiff/reference.py", "ReplaceTrueWithFalse", "strict=True)]", "strict=False)]",
               "a short rule in a batch: the `pairs` zip below it refuses the short list, inside the same "
               "`try`, with the same words"),
    Equivalent("autodiff/engine.py", "ReplaceTrueWithFalse",
               "for node, g in zip(order, before, strict=True):", "strict=False",
               f"{_STRICT}: `before` holds one gradient per node of `order`"),
    Equivalent("autodiff/engine.py", "ZeroIterationForLoop",
               "for node, g in zip(order, before, strict=True):", "for node, g in []:",
               "the batched fallback's restore before it runs the pass again: `vectorized.backward` sets "
               "every node's gradient to 0 before its pass, and without `held` adds nothing held, so the "
               "re-run gives the same gradients from whatever the first pass left",
               near="vectorized.backward(order)"),
    Equivalent("autodiff/engine.py", "ReplaceBinaryOperator_Sub_Add", "return not total - total",
               "return not total + total",
               "the quick finiteness check then calls every non-zero sum not finite, and the full check it "
               "defers to (`_check_gradients`, `_check_accumulated`) finds every gradient finite and "
               "returns: only slower"),
    Equivalent("autodiff/check.py", "ReplaceTrueWithFalse", "zip(leaves, numeric, strict=True)",
               "strict=False",
               f"{_STRICT}: both lists are built from `inputs`, one entry per input"),
    Equivalent("autodiff/functional.py", "ReplaceTrueWithFalse", "zip(first[1:], v[1:], strict=True)",
               "strict=False",
               f"{_STRICT}: len(vector) is checked against the inputs above, with an error, and `first` "
               "holds one gradient per input"),
    Equivalent("autodiff/functional.py", "NumberReplacer", "result[0] if single", "result[-1]",
               "with a single input the list has one element: result[0] is result[-1]"),
    Equivalent("autodiff/functional.py", "ReplaceAndWithOr",
               "if getattr(data, \"ndim\", None) == 0 and getattr(data, \"dtype\", None) is not None \\",
               "== 0 or getattr",
               "`_leaf`: what has a dtype but not ndim 0 is an array of examples, and `data[()]` of an "
               "array is that array again, which `Value` then refuses in the same words; what has ndim 0 "
               "has a dtype"),
    Equivalent("nn/closed_form.py", "ReplaceTrueWithFalse", "for x, y in zip(X, Y, strict=True):",
               "strict=False",
               f"{_STRICT}: `_backprop` is called only by `loss` and `backprop`, after `_data` has refused "
               "an X and a Y of different lengths, in words"),
    Equivalent("nn/closed_form.py", "ReplaceTrueWithFalse", "zip(self.params, Delta, strict=True)",
               "strict=False",
               f"{_STRICT}: Delta is built as one array per entry of self.params"),
    Equivalent("autodiff/engine.py", "ReplaceAndWithOr",
               "if held and not _all_finite([node._grad for node, _ in held]):", "if held or not",
               "with no leaf holding a gradient `_all_finite([])` is True (the sum of nothing is 0), and "
               "with some the mutant sends them all to `_check_accumulated`, which raises only for a sum "
               "that is not finite, as `_all_finite` would have said: only slower"),
    Equivalent("autodiff/check.py", "ReplaceComparisonOperator_Lt_LtE", "{'+-'[h < 0]}", "h <= 0",
               "h is +eps or -eps, and eps > 0 is checked on entry: h is never 0, where < and <= differ"),
    Equivalent("autodiff/primitives.py", "ReplaceOrWithAnd",
               "return x if x.__class__ is float or is_array(x) or not hasattr(x.__class__, \"apply\")",
               "float and is_array(x) or not",
               "a float's and an array's class have no `apply`, so the last test returns them as they are "
               "either way; only a Value (which has one) gives its .data, in both"),
    Equivalent("autodiff/primitives.py", "ReplaceAndWithOr",
               "if getattr(d, \"ndim\", None) == 0 and getattr(d, \"dtype\", None) is not None \\",
               "== 0 or getattr",
               "arrays of examples are passed over just above, so what reaches here with a dtype is a numpy "
               "scalar or a 0-d array, which also have ndim 0, and what has ndim 0 has a dtype: the two "
               "tests agree on every value that gets here"),
    Equivalent("autodiff/primitives.py", "ReplaceAndWithOr",
               "if quiet is None and \"numpy\" in sys.modules:", "quiet is None or",
               "once numpy is loaded the wrapped forward is made again at every call instead of once: the "
               "same errstate around the same forward, only slower"),
    Equivalent("autodiff/engine.py", "ReplaceTrueWithFalse", "for x, d in zip(odd, held, strict=True):",
               "strict=False", f"{_STRICT}: `held` is made as one .data per leaf of `odd`"),
    Equivalent("autodiff/engine.py", "ReplaceComparisonOperator_Lt_LtE", "if len(arrays) < len(odd):",
               "len(arrays) <= len(odd)",
               "with every odd leaf holding an array, `as_float_data` is handed an empty list, which it "
               "leaves as it is, and `arrays` is made again the same: only slower"),
    Equivalent("autodiff/engine.py", "ReplaceComparisonOperator_IsNot_Is",
               "(d := n.data).__class__ is not float), None)", "(d := n.data).__class__ is float), None)",
               "the built size is then looked for in a node holding one number, never an array, so every "
               "batched leaf takes the full check node by node (`_check_sizes`), which the quick path only "
               "skips for leaves made as batches of the graph's size: only slower"),
    Equivalent("autodiff/engine.py", "ReplaceComparisonOperator_Is_IsNot",
               "if built is None or not is_array(built)", "if built is not None or",
               "with `built` None, `not is_array(None)` takes the full check anyway; with it set, every "
               "batched leaf takes the full check node by node, as above: only slower"),
    Equivalent("autodiff/engine.py", "NumberReplacer", "return _grads_by_hand[0]", "_grads_by_hand[ -1]",
               "the counter is a list of one int: its last item is its first"),
    Equivalent("autodiff/engine.py", "NumberReplacer", 'if getattr(d, "ndim", 0) == 1:',
               'getattr(d, "ndim", -1) == 1',
               "`_refuse_kind` is called only for a leaf holding an array (`is_array`: it has ndim > 0), "
               "so the default is never read"),
    Equivalent("autodiff/engine.py", "NumberReplacer", "set .grad to an array of {n[0]}, one number",
               "[ -1]", "`n` is a batch's shape, checked 1-D before: its last item is its first"),
    Equivalent("autodiff/engine.py", "ReplaceComparisonOperator_Lt_LtE", "if len(floats) < len(leaves):",
               "if len(floats) <= len(leaves):",
               "with every leaf a float made so, `_odd` gives no leaf and `_check_leaves` of none checks "
               "nothing: only slower"),
    Equivalent("autodiff/engine.py", "ReplaceBinaryOperator_Sub_Add", "if total - total:",
               "if total + total:",
               "the quick finiteness check of the one-number leaves then calls every non-zero sum not "
               "finite, and `_refuse_not_finite`, which it defers to, finds every leaf finite and "
               "returns: only slower"),
    Equivalent("autodiff/engine.py", "AddNot", "if built is None or not is_array(built)",
               "if not built is None or",
               "as `built is not None` above: every batched leaf takes the full check: only slower"),
    Equivalent("autodiff/engine.py", "NumberReplacer", 'if getattr(d, "ndim", 0) == 1:',
               'getattr(d, "ndim", 1) == 1',
               "`_refuse_kind` is called only for a leaf holding an array (`is_array`: it has ndim > 0), "
               "so the default is never read"),
]

# The operators that make the faults these files can have: a sign or an operation swapped in a
# formula, a boundary moved (< for <=: the kinks, the checker's tolerance), a constant off by one
# (exponents, indices), a condition negated or a loop skipped. Left out: bitwise and shift operators,
# floor division and modulo (none of them appear in the scope, and swapping into them only makes
# TypeErrors), exception and decorator removal, variable replacement (thousands of mutants, mostly
# type errors).
OPERATORS = [
    *(f"core/ReplaceBinaryOperator_{a}_{b}" for a, b in [
        ("Add", "Sub"), ("Sub", "Add"), ("Mul", "Div"), ("Div", "Mul"), ("Pow", "Mul")]),
    *(f"core/ReplaceComparisonOperator_{a}_{b}" for a, b in [
        ("Lt", "LtE"), ("LtE", "Lt"), ("Gt", "GtE"), ("GtE", "Gt"), ("Eq", "NotEq"), ("NotEq", "Eq"),
        ("Is", "IsNot"), ("IsNot", "Is")]),
    "core/ReplaceUnaryOperator_USub_UAdd", "core/NumberReplacer", "core/AddNot",
    "core/ReplaceTrueWithFalse", "core/ReplaceFalseWithTrue", "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd", "core/ZeroIterationForLoop",
]


def test_command(target: Target) -> str:
    """The tests of one target, stopping at the first failure (a mutant is killed by one)."""
    tests = " ".join(shlex.quote(t) for t in target.tests)
    keyword = f" -k {shlex.quote(target.keyword)}" if target.keyword else ""
    return f"{shlex.quote(sys.executable)} -m pytest -x -q -p no:cacheprovider {tests}{keyword}"


def config(target: Target) -> str:
    """The cosmic-ray session configuration (TOML) for one target; json.dumps writes TOML strings."""
    keep = "|".join(re.escape(op) for op in OPERATORS if op not in target.without)
    return "\n".join([
        "[cosmic-ray]",
        f"module-path = {json.dumps(target.module)}",
        "timeout = 120.0",
        "excluded-modules = []",
        f"test-command = {json.dumps(test_command(target))}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = [{json.dumps(f'^(?!(?:{keep})$)')}]",
        "",
        "[cosmic-ray.filters.line-filter]",
        f"lines = {{ {json.dumps(target.module)} = {json.dumps(line_ranges(target))} }}",
        "",
    ])


def line_ranges(target: Target) -> list[str]:
    """The lines of the functions to mutate ("start-end"), or the whole file."""
    tree = ast.parse((ROOT / target.module).read_text(encoding="utf-8"))
    if not target.functions:
        return [f"1-{len(tree.body) and tree.body[-1].end_lineno}"]
    found = [node for node in ast.walk(tree)
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in target.functions]
    missing = set(target.functions) - {node.name for node in found}
    if missing:
        raise SystemExit(f"{target.module} has no function {sorted(missing)}; update its Target in SCOPE")
    return [f"{node.lineno}-{node.end_lineno}" for node in sorted(found, key=lambda n: n.lineno)]


def session(target: Target) -> tuple[Path, Path]:
    stem = target.module.replace("/", "_").removesuffix(".py")
    return SESSIONS / f"{stem}.toml", SESSIONS / f"{stem}.sqlite"


def mutate(target: Target, fresh: bool) -> None:
    """Create (or resume) the target's session and run every mutant not run yet."""
    cfg, db = session(target)
    SESSIONS.mkdir(exist_ok=True)
    cfg.write_text(config(target), encoding="utf-8")
    tool = Path(sys.executable).parent
    if fresh or not db.exists():
        db.unlink(missing_ok=True)
        subprocess.run([tool / "cosmic-ray", "init", cfg, db], cwd=ROOT, check=True)
    # Filtered on every run, so that a change of a Target's operators applies to a resumed session.
    subprocess.run([tool / "cr-filter-operators", db, cfg], cwd=ROOT, check=True)
    subprocess.run([tool / "cr-filter-lines", "--config", cfg, db], cwd=ROOT, check=True)
    subprocess.run([tool / "cr-filter-pragma", db], cwd=ROOT, check=True)  # `# pragma: no mutate`
    # The baseline first: if the tests fail unmutated, every mutant would count as killed.
    if subprocess.run(test_command(target), shell=True, cwd=ROOT).returncode != 0:
        raise SystemExit(f"the tests of {target.module} fail without any mutant: fix them first")
    subprocess.run([tool / "cosmic-ray", "exec", cfg, db], cwd=ROOT, check=True)


def retry_survivors(target: Target) -> None:
    """Make the target's surviving mutants pending again (after new tests), so `exec` runs only them."""
    import sqlite3
    _, db = session(target)
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM work_results WHERE upper(test_outcome) = 'SURVIVED'")


@dataclass
class Outcome:
    """A finished session: counts, and the mutants worth reading as (line, operator, mutated line)."""
    killed: int = 0
    survived: int = 0  # survivors not known to be equivalent: the ones that measure the tests
    incompetent: int = 0
    pending: int = 0
    survivors: list = None
    equivalent: list = None  # (line, operator, mutated line, reason): survived, left out of the rate
    wrong: list = None  # (line, operator, mutated line): killed, though listed as equivalent
    seen: set = None  # the EQUIVALENT entries some mutant of this session matched


def _lines(diff: str, sign: str) -> str:
    return " ".join(x[1:].strip() for x in (diff or "").splitlines()
                    if x.startswith(sign) and not x.startswith(sign * 3))


def results(target: Target) -> Outcome:
    """What a target's session found; survivors matching EQUIVALENT are set apart with their reason."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    _, db = session(target)
    out = Outcome(survivors=[], equivalent=[], wrong=[], seen=set())
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        for item, result in work_db.completed_work_items:
            spec = item.mutations[0]
            if result.worker_outcome == WorkerOutcome.SKIPPED or spec.operator_name in target.without:
                continue  # an operator left out (also one run before it was), or `pragma: no mutate`
            op = spec.operator_name.removeprefix("core/")
            original, changed = _lines(result.diff, "-"), _lines(result.diff, "+")
            context = " ".join(x.strip() for x in (result.diff or "").splitlines() if x.startswith(" "))
            known = next((e for e in EQUIVALENT if e.matches(target.module, op, original, changed, context)),
                         None)
            if known:
                out.seen.add(known)
            if result.test_outcome == TestOutcome.SURVIVED:
                if known:
                    out.equivalent.append((spec.start_pos[0], op, changed, known.reason))
                else:
                    out.survived += 1
                    out.survivors.append((spec.start_pos[0], op, changed))
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                out.incompetent += 1
            else:
                out.killed += 1
                if known:
                    out.wrong.append((spec.start_pos[0], op, changed))
        out.pending = sum(1 for _ in work_db.pending_work_items)
    out.survivors.sort()
    out.equivalent.sort()
    return out


def _rate(killed: int, survived: int) -> str:
    return f"{100 * killed / (killed + survived):.1f}%" if killed + survived else "-"


def report(targets: list[Target]) -> str:
    lines = ["| file | tests | mutants | equivalent | killed | survived | kill rate |",
             "|---|---|---:|---:|---:|---:|---:|"]
    details, equivalents, wrong, ran, seen = [], [], [], set(), set()
    total_k = total_s = total_e = 0
    for t in targets:
        if not session(t)[1].exists():
            lines.append(f"| `{t.module}` | | not run in this checkout (no session in `.mutate/`) | | | | |")
            continue
        o = results(t)
        ran.add(t.module)
        seen |= o.seen
        e = len(o.equivalent)
        total_k, total_s, total_e = total_k + o.killed, total_s + o.survived, total_e + e
        note = f" ({o.pending} not run)" if o.pending else ""
        files: dict[str, int] = {}
        for x in t.tests:  # a file, or some of its tests (file::test): shown per file
            name, _, test = x.removeprefix("tests/").partition("::")
            files[name] = files.get(name, 0) + bool(test)
        tests = ", ".join(f"`{f}`" + (f" ({n} tests)" if n else "") for f, n in files.items())
        lines.append(f"| `{t.module}` | {tests} | {o.killed + o.survived + e}{note} | {e} | {o.killed} "
                     f"| {o.survived} | {_rate(o.killed, o.survived)} |")
        details += [f"- `{t.module}:{line}` {op}: `{code}`" for line, op, code in o.survivors]
        equivalents += [f"- `{t.module}:{line}` {op}: `{code}`: {why}"
                        for line, op, code, why in o.equivalent]
        wrong += [f"- `{t.module}:{line}` {op}: `{code}`" for line, op, code in o.wrong]
    lines.append(f"| **all** | | {total_k + total_s + total_e} | {total_e} | {total_k} | {total_s} "
                 f"| **{_rate(total_k, total_s)}** |")
    lines += ["", f"Kill rate over the mutants that can change what the code does (the {total_e} "
              f"equivalent ones left out): **{_rate(total_k, total_s)}**; counting them as survivors: "
              f"{_rate(total_k, total_s + total_e)}.",
              "", "Surviving mutants (file:line, operator, the mutated line):", ""]
    lines += details or ["- none"]
    lines += ["", "Equivalent mutants (survived as expected; `EQUIVALENT` in `tools/mutate.py`), with why "
              "no test can kill them:", ""]
    lines += equivalents or ["- none"]
    stale = [f"- `{e.module}` {e.operator}: `{e.line}`" for e in EQUIVALENT
             if e.module in ran and e not in seen]
    if stale:
        lines += ["", "Entries of `EQUIVALENT` that match no mutant any more (the code changed: review "
                  "them):", ""]
        lines += stale
    if wrong:
        lines += ["", "Listed as equivalent but killed (the entry is wrong: take it out of `EQUIVALENT`):",
                  ""]
        lines += wrong
    return "\n".join(lines)


def write_report(text: str) -> None:
    """Replace the text between the markers of docs/testing.md, atomically."""
    doc = REPORT.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{REPORT}: the markers {BEGIN} and {END} are missing; put them back")
    head, rest = doc.split(BEGIN, 1)
    new = f"{head}{BEGIN}\n{text}\n{END}{rest.split(END, 1)[1]}"
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=REPORT.parent, delete=False) as f:
        f.write(new)
    os.replace(f.name, REPORT)


def changed_files(rev: str) -> set[str]:
    """The files that differ between git revision ``rev`` and the working tree (committed or not), and
    the files git does not track yet (a new test file not committed), ignored ones aside."""
    found = set()
    for command, failed in ((["git", "diff", "--name-only", rev, "--"],
                             f"--changed-since {rev}: git cannot compare with it"),
                            (["git", "ls-files", "--others", "--exclude-standard"],
                             "--changed-since: git cannot list untracked files")):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{failed}: {done.stderr.strip()}")
        found |= set(done.stdout.splitlines())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="start every session anew")
    parser.add_argument("--only", action="append", help="mutate only this file (repeatable)")
    parser.add_argument("--retry-survivors", action="store_true",
                        help="run the surviving mutants again (after adding tests), keep the rest")
    parser.add_argument("--changed-since", metavar="REV",
                        help="mutate only the files whose code or tests differ from git revision REV")
    parser.add_argument("--list", action="store_true", help="print the files chosen and stop")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report")
    args = parser.parse_args(argv)
    unknown = set(args.only or ()) - {t.module for t in SCOPE}
    if unknown:
        raise SystemExit(f"--only {sorted(unknown)}: not in the scope; the scope is "
                         f"{[t.module for t in SCOPE]} (add a Target to SCOPE in {__file__})")
    targets = [t for t in SCOPE if not args.only or t.module in args.only]
    if args.changed_since:
        changed = changed_files(args.changed_since)
        targets = [t for t in targets
                   if t.module in changed or any(x.partition("::")[0] in changed for x in t.tests)]
    if args.list:
        print("\n".join(t.module for t in targets) or "(none)")
        return 0
    if not args.report_only:
        for t in targets:
            if args.retry_survivors and session(t)[1].exists():
                retry_survivors(t)
            mutate(t, args.fresh)
    text = report(SCOPE)
    print(text)
    missing = [t.module for t in SCOPE if not session(t)[1].exists()]
    if missing:  # the report is the whole scope's score: a new checkout has only the files it ran
        print(f"{REPORT.name} left as it is: no session in {SESSIONS.name}/ for {', '.join(missing)}, so "
              "the figures above are not the scope's score (run those files too, or copy their sessions "
              "here, then --report-only)", file=sys.stderr)
        return 0
    write_report(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
