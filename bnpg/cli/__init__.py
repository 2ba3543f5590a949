"""The ``bnpg`` command: one module per subcommand.
"""

from .main import (
    build_parser,
    main,
    summary,
)

__all__ = [
    "build_parser",
    "main",
    "summary",
]
