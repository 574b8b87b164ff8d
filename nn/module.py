"""`Module`: the base of every network piece. Named parameters, gradients to zero, and a state that
can be saved to and loaded from a JSON file (atomically written, floats exact, size-limited, never pickle).
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator, Mapping

from autodiff import Value
from autodiff.files import write_atomic
from autodiff.primitives import as_real, quoted

__all__ = ["Module"]

FILE_FORMAT = "deltagrad.nn"
FILE_VERSION = 1
MAX_FILE_BYTES = 256 * 2**20  # what `load` reads at most unless told otherwise: ~5 million parameters


class Module:
    """A piece of a network that owns parameters (leaf `Value`s), possibly through sub-modules.

    Names are dotted paths relative to the module asked: an `MLP`'s ``layers.0.neurons.2.w.1``
    is ``neurons.2.w.1`` to its first `Layer`. Each parameter's ``.label`` is its name in the model it
    was built in; ``prefix`` is this module's own path there (``"layers.0."``, ``""`` for the root).
    """

    prefix: str = ""

    # ---- what a subclass provides ------------------------------------------------------------
    def _own_parameters(self) -> list[tuple[str, Value]]:
        """This module's own parameters, not its children's, as (name, Value)."""
        return []

    def _children(self) -> list[tuple[str, Module]]:
        """The sub-modules, as (name, module), in a fixed order."""
        return []

    def _set_prefix(self, prefix: str) -> None:
        """Give this module its path in the enclosing model, and label every parameter with its name."""
        self.prefix = prefix
        for name, p in self._own_parameters():
            p.label = prefix + name
        for name, child in self._children():
            child._set_prefix(f"{prefix}{name}.")

    # ---- parameters ---------------------------------------------------------------------------
    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """(dotted name, parameter) pairs in a stable order: own parameters first, then each child's."""
        yield from self._own_parameters()
        for name, child in self._children():
            for sub, p in child.named_parameters():
                yield f"{name}.{sub}", p

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of `named_parameters` (a new list, read from the model as it
        is now: a parameter or layer replaced since is seen; no names are built, so it is cheap)."""
        out: list[Value] = []
        self._collect(out, True)
        return out

    def weights(self) -> list[Value]:
        """The parameters that are not biases (names not ending in ``b``): what `nn.l2` regularizes."""
        out: list[Value] = []
        self._collect(out, False)
        return out

    def _collect(self, out: list[Value], biases: bool) -> None:
        """Append the parameters (without the biases if not ``biases``) in `named_parameters` order,
        without making the dotted names (a subclass may do its own part faster, in the same order)."""
        out += [p for name, p in self._own_parameters() if biases or name.rsplit(".", 1)[-1] != "b"]
        for _, child in self._children():
            child._collect(out, biases)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (leaf gradients accumulate across ``backward()`` calls)."""
        for p in self.parameters():
            p.grad = 0.0

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, float]:
        """``{name: value}`` for every parameter, in the order of `named_parameters`."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set every parameter from ``state`` (as `state_dict` returns it).

        The whole of ``state`` is checked first: missing or unexpected names, or a value that is not a
        finite number, raise an error and leave the model unchanged.
        """
        for p, x in self._checked_state(state, "load_state_dict"):
            p.data = x

    def _checked_state(self, state: object, who: str) -> list[tuple[Value, float]]:
        """(parameter, its new value) for every parameter, once all of ``state`` is checked."""
        if not isinstance(state, Mapping):
            raise TypeError(f"{who}: expected a mapping of parameter names to numbers (as state_dict() "
                            f"returns), got {type(state).__name__}")
        named = list(self.named_parameters())
        names = [name for name, _ in named]
        missing = [n for n in names if n not in state]
        known = set(names)  # built once: a set per name made loading quadratic (issue 18)
        unexpected = [n for n in state if n not in known]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"{len(missing)} missing ({_few(missing)})")
            if unexpected:
                parts.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
            raise ValueError(f"{who}: the parameters do not match {self!r}: " + ", ".join(parts)
                             + "; the state was made by a model of another shape")
        out = []
        for name, p in named:
            x = state[name]
            value = x if type(x) is float else as_real(x)  # a float, the usual case: one type test
            if value is None or not math.isfinite(value):
                raise ValueError(f"{who}: parameter {name!r} must be a finite number, got {quoted(x)}")
            out.append((p, value))
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write the parameters to ``path`` as JSON, atomically (`autodiff.files.write_atomic`).

        A crash or kill leaves either the old file or the new one, never half of one; a symbolic link
        is written through to its target; a read-only file is refused (`PermissionError`). Floats are
        written with ``repr``, so a save/load round trip is bit-identical.
        """
        doc = {"format": FILE_FORMAT, "version": FILE_VERSION, "model": repr(self),
               "parameters": self.state_dict()}
        write_atomic(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")

    def load(self, path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> Module:
        """Set the parameters from a file written by `save`; returns ``self``. Time is linear in the
        file's size.

        A missing file raises `FileNotFoundError`; a file larger than ``max_bytes`` (default 256 MiB,
        about 5 million parameters), one that is not a regular file (a pipe is refused, never waited
        on), not such JSON, nested too deeply, holding a number out of the float range, or holding other
        parameter names (a model of another shape) raises `ValueError`. Either way nothing changes.
        """
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"load: max_bytes must be a positive whole number of bytes, got "
                             f"{quoted(max_bytes, 40)}")
        path = os.fspath(path)
        text = _read_text(path, max_bytes)
        try:
            doc = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int,
                             parse_float=_parse_float)
        except RecursionError:
            raise ValueError(f"load: {path!r} nests JSON arrays or objects too deeply; a file written "
                             "by Module.save is two levels deep") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"load: {path!r} is not valid JSON ({e}); was it written by "
                             "Module.save?") from None
        except ValueError as e:  # from _parse_float or _reject_constant
            raise ValueError(f"load: {path!r}: {e}; a model file holds finite float64 numbers") from None
        if not (isinstance(doc, dict) and doc.get("format") == FILE_FORMAT
                and isinstance(doc.get("parameters"), dict)):
            raise ValueError(f"load: {path!r} is JSON but not a deltagrad model file (expected an "
                             f"object with \"format\": {FILE_FORMAT!r} and \"parameters\")")
        if doc.get("version") != FILE_VERSION:
            raise ValueError(f"load: {path!r} has file version {doc.get('version')!r:.40}; this "
                             f"deltagrad reads version {FILE_VERSION}")
        try:
            new = self._checked_state(doc["parameters"], "load")
        except ValueError as e:
            raise ValueError(f"{e} (file {path!r}, saved from {str(doc.get('model', '?')):.200})") from None
        for p, x in new:
            p.data = x
        return self


def _read_text(path: str, max_bytes: int) -> str:
    """The file's text, refusing what is not a regular file or is larger than ``max_bytes``."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file {path!r}; save a model there first with "
                                "model.save(path)") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ValueError(f"load: {path!r} is a folder; give the model file inside it")
        raise ValueError(f"load: {path!r} is not a regular file (a pipe, socket or device); "
                         "save the model to a file and load that")
    with os.fdopen(fd, "rb") as f:
        if st.st_size > max_bytes:
            raise ValueError(f"load: {path!r} is {st.st_size:,} bytes, over the limit of {max_bytes:,}; "
                             "pass load(path, max_bytes=...) if you trust a file this large")
        data = f.read(max_bytes + 1)  # the file may have grown since fstat
    if len(data) > max_bytes:
        raise ValueError(f"load: {path!r} is over the limit of {max_bytes:,} bytes; pass "
                         "load(path, max_bytes=...) if you trust a file this large")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"load: {path!r} is not a text (JSON) file written by Module.save") from None


def _parse_float(token: str) -> float:
    # Each number is checked as it is read, so a 401-digit one is refused with a clear error instead
    # of surfacing later as Python's bare OverflowError (or int()'s digit limit).
    x = float(token)  # JSON's grammar is a subset of float()'s; out of range gives inf, not an error
    if not math.isfinite(x):
        raise ValueError(f"the number {token[:20]}{'…' if len(token) > 20 else ''} ({len(token)} "
                         "characters) is out of the float range (about ±1.8e308)")
    return x


def _parse_int(token: str) -> int:
    _parse_float(token)
    return int(token)


def _reject_constant(token: str) -> float:
    raise ValueError(f"{token} is not a finite number")


def _few(names: list[str], k: int = 3) -> str:
    shown = ", ".join(map(repr, names[:k]))
    return shown + (f", … {len(names) - k} more" if len(names) > k else "")
