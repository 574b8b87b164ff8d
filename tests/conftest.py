"""Shared test helpers. `require` skips a test whose real component is missing, except under CI
(``CI`` set), where a missing component must fail the run instead of hiding behind a skip."""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(available: bool, what: str, how: str) -> None:
    """Skip (locally) or fail (in CI) when ``what`` is not available; ``how`` says how to get it."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if IN_CI:
        pytest.fail(f"CI is set and {message}", pytrace=False)
    pytest.skip(message)


def require_torch():
    """Import and return torch, or skip/fail as `require` does."""
    try:
        import torch
    except ImportError:
        torch = None
    require(torch is not None, "PyTorch", "pip install torch==2.13.0 (CPU wheel) into .venv")
    torch.set_default_dtype(torch.float64)
    return torch


def require_dot() -> str:
    path = shutil.which("dot")
    require(path is not None, "graphviz `dot`", "apt-get install graphviz")
    return path


def require_chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Chromium", "apt-get install chromium chromium-driver")
    return path
