"""state_dict / load_state_dict and save / load: bit-identical round trips, atomic writes, and every
load failure (missing file, malformed JSON, wrong shapes, missing keys) leaving the model unchanged."""

from __future__ import annotations

import json
import os
import struct

import pytest

import nn


def _bits(model):
    return [struct.pack("<d", p.data) for p in model.parameters()]


def test_state_dict_round_trip():
    a, b = nn.MLP(3, [4, 2], rng=0), nn.MLP(3, [4, 2], rng=1)
    state = a.state_dict()
    assert list(state) == [n for n, _ in a.named_parameters()]
    b.load_state_dict(state)
    assert _bits(a) == _bits(b)
    state["layers.0.neurons.0.w.0"] = 123.0        # a copy: changing it does not touch the model
    assert a.layers[0].neurons[0].w[0].data != 123.0


def test_save_load_bit_identical(tmp_path):
    a = nn.MLP(3, [5, 2], activation="tanh", rng=0)
    a.layers[0].neurons[0].b.data = 0.1 + 0.2          # 0.30000000000000004
    a.layers[1].neurons[1].w[4].data = 5e-324           # the smallest subnormal
    a.layers[1].neurons[0].w[0].data = -1.7976931348623157e308
    path = tmp_path / "model.json"
    a.save(path)
    b = nn.MLP(3, [5, 2], activation="tanh", rng=9)
    assert b.load(str(path)) is b
    assert _bits(a) == _bits(b)
    doc = json.loads(path.read_text())
    assert doc["format"] == "deltagrad.nn" and doc["model"] == repr(a)
    assert list(doc["parameters"]) == [n for n, _ in a.named_parameters()]
    assert [f.name for f in tmp_path.iterdir()] == ["model.json"]   # no temporary file left
    a.save(path)                                                       # overwriting works
    assert _bits(nn.MLP(3, [5, 2], rng=3).load(path)) == _bits(a)


def _must_fail_unchanged(model, path, error, message):
    before = _bits(model)
    with pytest.raises(error, match=message):
        model.load(path)
    assert _bits(model) == before


def test_missing_file(tmp_path):
    _must_fail_unchanged(nn.MLP(2, [2, 1], rng=0), tmp_path / "nope.json", FileNotFoundError, "no such file")


@pytest.mark.parametrize("text, message", [
    ("", "not valid JSON"),
    ('{"format": "deltagrad.nn", "version": 1, "parameters": {', "not valid JSON"),
    ("[1, 2, 3]", "not a deltagrad model file"),
    ('{"parameters": {}}', "not a deltagrad model file"),
    ('{"format": "deltagrad.nn", "version": 99, "parameters": {}}', "version 99"),
    ('{"format": "deltagrad.nn", "version": 1, "parameters": []}', "not a deltagrad model file"),
])
def test_malformed(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    _must_fail_unchanged(nn.MLP(2, [2, 1], rng=0), path, ValueError, message)


def test_binary_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe\x00\x80garbage")
    _must_fail_unchanged(nn.MLP(2, [2, 1], rng=0), path, ValueError, "not a text")


def test_wrong_shape(tmp_path):
    path = tmp_path / "small.json"
    nn.MLP(2, [3, 1], rng=0).save(path)
    _must_fail_unchanged(nn.MLP(2, [4, 1], rng=1), path, ValueError, "missing")
    _must_fail_unchanged(nn.MLP(2, [2, 1], rng=1), path, ValueError, "unexpected")
    _must_fail_unchanged(nn.MLP(3, [3, 1], rng=1), path, ValueError, r"saved from MLP\(2, \[3, 1\]")


def _edit(path, change):
    doc = json.loads(path.read_text())
    change(doc["parameters"])
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("change, message", [
    (lambda p: p.pop("layers.1.neurons.0.b"), "1 missing .*layers.1.neurons.0.b"),
    (lambda p: p.update({"layers.9.neurons.0.b": 1.0}), "unexpected .*layers.9"),
    (lambda p: p.update({"layers.0.neurons.0.w.0": "1.0"}), "must be a finite number"),
    (lambda p: p.update({"layers.0.neurons.0.w.0": None}), "must be a finite number"),
    (lambda p: p.update({"layers.0.neurons.0.w.0": True}), "must be a finite number"),
    (lambda p: p.update({"layers.1.neurons.0.w.0": [1.0]}), "must be a finite number"),
])
def test_mismatched_keys_and_values(tmp_path, change, message):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], rng=0).save(path)
    _edit(path, change)
    _must_fail_unchanged(nn.MLP(2, [3, 1], rng=1), path, ValueError, message)


def test_nan_in_file(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [1], rng=0).save(path)
    path.write_text(path.read_text().replace(next(iter(json.loads(path.read_text())["parameters"]
                                                       .values())).__repr__(), "NaN", 1))
    _must_fail_unchanged(nn.MLP(2, [1], rng=1), path, ValueError, "NaN")


def test_load_state_dict_failures_change_nothing():
    m = nn.MLP(2, [2, 1], rng=0)
    good = m.state_dict()
    for bad in ({**good, "extra": 1.0}, {k: v for k, v in list(good.items())[1:]},
                {**good, "layers.1.neurons.0.b": float("inf")}):
        before = _bits(m)
        with pytest.raises(ValueError):
            m.load_state_dict(bad)
        assert _bits(m) == before
    with pytest.raises(TypeError, match="mapping"):
        m.load_state_dict(list(good.values()))


def test_atomic_write_survives_a_crash(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    old = nn.MLP(2, [3, 1], rng=0)
    old.save(path)
    saved = path.read_bytes()

    def crash_midway(fd):  # the bytes are written to the temporary file; the crash comes before rename
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(os, "fsync", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        nn.MLP(2, [3, 1], rng=5).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == saved
    assert os.listdir(tmp_path) == ["model.json"]          # the temporary file was removed
    assert _bits(nn.MLP(2, [3, 1], rng=7).load(path)) == _bits(old)


def test_crash_on_first_save_leaves_no_file(tmp_path, monkeypatch):
    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        nn.MLP(2, [1], rng=0).save(tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


def test_standalone_neuron_and_layer_save(tmp_path):
    n = nn.Neuron(3, "tanh", rng=0)
    n.save(tmp_path / "n.json")
    assert _bits(nn.Neuron(3, "tanh", rng=1).load(tmp_path / "n.json")) == _bits(n)
    layer = nn.Layer(2, 2, rng=0)
    layer.save(tmp_path / "l.json")
    assert _bits(nn.Layer(2, 2, rng=4).load(tmp_path / "l.json")) == _bits(layer)
    with pytest.raises(ValueError):
        nn.Neuron(2, rng=0).load(tmp_path / "n.json")


def test_save_into_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.MLP(2, [1], rng=0).save(tmp_path / "no" / "m.json")
    assert os.listdir(tmp_path) == []


def test_saved_file_is_readable_and_keeps_its_mode(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [1], rng=0).save(path)
    assert os.stat(path).st_mode & 0o777 == 0o644
    os.chmod(path, 0o600)
    nn.MLP(2, [1], rng=1).save(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
