"""``python -m bnpg``: the same as the ``bnpg`` command (see :mod:`bnpg.cli`)."""

import sys

from bnpg.cli import main

if __name__ == "__main__":
    sys.exit(main())
