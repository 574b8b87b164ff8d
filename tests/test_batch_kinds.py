"""`batch` and `batch_columns` refuse what a batched leaf's ``.data`` refuses, in the same words (issue
17, a fresh tester's items 3 and 6): bools, strings and complex numbers were taken as floats (1+2j as
1.0, with only numpy's ComplexWarning), and a masked array on a leaf was "an array of float64; a batch
holds floats"."""

import re
import warnings

import numpy as np
import pytest

import autodiff
import nn
from autodiff.batched import batch, batch_columns

REFUSED = {   # what is given -> how the message names it
    "bool array": (np.array([True, False]), "an array of bool; a batch holds floats"),
    "bool list": ([True, False], "an array of bool; a batch holds floats"),
    "str array": (np.array(["1", "2"]), "an array of <U1; a batch holds floats"),
    "str list": (["1", "2"], "an array of <U1; a batch holds floats"),
    "bytes": (np.array([b"1", b"2"]), "an array of |S1; a batch holds floats"),
    "complex": (np.array([1 + 2j, 3.0]), "an array of complex128; a batch holds floats"),
    "complex list": ([1 + 2j, 3.0], "an array of complex128; a batch holds floats"),
    "dates": (np.array(["2026-01-01", "2026-01-02"], dtype="datetime64[D]"),
              "an array of datetime64[D]; a batch holds floats"),
    "masked": (np.ma.array([1.0, 2.0], mask=[0, 1]),
               "a masked array (numpy.ma) of float64; a batch holds a plain numpy array of floats"),
}
FLOAT_FIX = r"a float array \(np.asarray\(x, dtype=float\)\)"
PLAIN_FIX = (r"one \(x.filled\(value\) to fill a masked array's masked entries, else "
             r"np.asarray\(x, dtype=float\)\)")


def fix(kind: str) -> str:
    return PLAIN_FIX if kind == "masked" else FLOAT_FIX


def columns(given):
    """``given`` as the one column of a 2-D array of its kind (a list of lists for a list)."""
    if isinstance(given, list):
        return [[v] for v in given]
    return given.reshape(-1, 1)


@pytest.mark.parametrize("kind", REFUSED)
def test_batch_and_batch_columns_refuse_what_a_batched_leaf_refuses_in_its_words(kind):
    given, what = REFUSED[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no ComplexWarning on the way: refused before any conversion
        with pytest.raises(TypeError, match=f"^batch: values is {re.escape(what)}: give {fix(kind)}$"):
            batch(given)
        with pytest.raises(TypeError, match=f"^batch_columns: rows is {re.escape(what)}: give {fix(kind)}$"):
            batch_columns(columns(given))
    x = batch([1.0, 2.0], "x")
    y = nn.mean(x * x)
    x.data = given if isinstance(given, np.ndarray) else np.array(given)
    with pytest.raises(TypeError, match=f"^backward: the Value 'x' holds {re.escape(what)}: "
                                        f"set .data to {fix(kind)}$"):
        y.backward()
    with pytest.raises(TypeError, match=f"^forward_steps: the Value 'x' holds {re.escape(what)}: "):
        autodiff.forward_steps(y)


def test_another_ndarray_subclass_is_named_by_its_class():
    class Tagged(np.ndarray):
        pass
    given = np.array([1.0, 2.0]).view(Tagged)
    with pytest.raises(TypeError, match=r"^batch: values is a .*Tagged \(a subclass of numpy's ndarray\) of "
                                        r"float64; a batch holds a plain numpy array of floats: give one"):
        batch(given)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8, np.float32, np.float16, np.longdouble,
                                   np.float64])
def test_ints_and_floats_of_every_width_stay_taken_as_float64(dtype):
    given = np.array([1, 2, 3], dtype=dtype)
    x = batch(given)
    assert x.data.dtype == np.float64 and x.data.tolist() == [1.0, 2.0, 3.0]
    cols = batch_columns(np.array([[1, 2], [3, 4]], dtype=dtype))
    assert [c.data.dtype for c in cols] == [np.float64] * 2 and cols[1].data.tolist() == [2.0, 4.0]
    assert batch([1, 2.5]).data.tolist() == [1.0, 2.5]
