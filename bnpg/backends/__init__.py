"""The compiled kernels (numba) of the exact gradient and the dynamics
(:mod:`~bnpg.backends.numba_kernels`), and the one choice between them and the numpy reference
(:mod:`~bnpg.backends.choice`: the cost rule, the ``BNPG_BACKEND`` default, the plans).
"""

from .choice import (
    AUTO_COMPILE_SECONDS,
    BACKENDS,
    ENVIRONMENT_VARIABLE,
    CompiledKernel,
    compiled_kernel,
    configured_backend,
    numpy_seconds,
    plan_for,
    resolve_backend,
)

__all__ = [
    "AUTO_COMPILE_SECONDS",
    "BACKENDS",
    "ENVIRONMENT_VARIABLE",
    "CompiledKernel",
    "compiled_kernel",
    "configured_backend",
    "numpy_seconds",
    "plan_for",
    "resolve_backend",
]
