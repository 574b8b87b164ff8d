"""Module.load on hostile files (issue 18, items 5 and 8): a size limit, pipes refused rather than
waited on, deep nesting and out-of-range numbers as clear errors; the model is unchanged each time."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap

import pytest

import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAD = '{"format": "deltagrad.nn", "version": 1, "parameters": '


def _bits(model):
    return [struct.pack("<d", p.data) for p in model.parameters()]


def _refused(path, message, **kw):
    model = nn.MLP(2, [2, 1], rng=0)
    before = _bits(model)
    with pytest.raises(ValueError, match=message) as info:
        model.load(path, **kw)
    assert _bits(model) == before
    assert str(path) in str(info.value)
    return info.value


def test_a_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.json"
    nn.MLP(2, [2, 1], rng=0).save(path)
    size = path.stat().st_size
    _refused(path, f"{size:,} bytes, over the limit of {size - 1:,}", max_bytes=size - 1)
    nn.MLP(2, [2, 1], rng=3).load(path, max_bytes=size)          # exactly at the limit is fine
    path.write_text(HEAD + "{" + " " * (nn.module.MAX_FILE_BYTES // 8) + "}}")
    _refused(path, "over the limit", max_bytes=nn.module.MAX_FILE_BYTES // 16)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_bytes must be a positive whole number"):
            nn.MLP(2, [2, 1], rng=0).load(path, max_bytes=bad)


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    # In a child process: the old code blocked forever in open(), which the timeout turns into a failure.
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        import nn
        try:
            nn.MLP(2, [1], rng=0).load({str(fifo)!r})
        except ValueError as e:
            print(e)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "is not a regular file" in result.stdout, result.stderr


def test_a_folder_is_refused(tmp_path):
    _refused(tmp_path, "is a folder")


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json(tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_text(HEAD + "[" * depth + "]" * depth + "}")
    _refused(path, "not a deltagrad model file" if depth < 1000 else "nests JSON .* too deeply")


@pytest.mark.parametrize("number", ["1" * 401, "-" + "9" * 401, "1" * 5000, "1e400", "2" + "0" * 400 + ".5"])
def test_a_number_out_of_the_float_range(tmp_path, number):
    path = tmp_path / "huge.json"
    names = [n for n, _ in nn.MLP(2, [2, 1], rng=0).named_parameters()]
    path.write_text(HEAD + "{" + ", ".join(f'"{n}": {number if i == 0 else 0.5}'
                                           for i, n in enumerate(names)) + "}}")
    _refused(path, r"out of the float range")


def test_nan_and_infinity_are_refused(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(HEAD + '{"a": NaN}}')
    _refused(path, "NaN is not a finite number")


def test_load_state_dict_with_an_int_beyond_the_float_range():
    model = nn.MLP(2, [2, 1], rng=0)
    state = model.state_dict()
    before = _bits(model)
    state[next(iter(state))] = 10 ** 400          # was a bare OverflowError from math.isfinite
    with pytest.raises(ValueError, match="must be a finite number"):
        model.load_state_dict(state)
    assert _bits(model) == before
