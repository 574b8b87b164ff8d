"""The `deltagrad` command: gradients, diagrams, step-through, checks and demos from the shell."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("deltagrad: no subcommands yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
