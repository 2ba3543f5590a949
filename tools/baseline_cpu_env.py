"""Print the environment that holds numpy, numba and OpenBLAS to a baseline CPU, as shell assignments.

Usage: eval "$(python tools/baseline_cpu_env.py)"; then run the suite as usual.

* ``NPY_DISABLE_CPU_FEATURES``: every SIMD extension numpy dispatches to beyond its compiled
  baseline and that this CPU has (on x86_64 with numpy 2: X86_V3, X86_V4, AVX512_*), so numpy's
  sums and products take the baseline code path;
* ``NUMBA_CPU_NAME=generic``: numba compiles its kernels for a generic CPU of the architecture;
* ``OPENBLAS_CORETYPE``: OpenBLAS's kernels for an old core (Nehalem on x86_64, ARMV8 on aarch64).

A result that changes under these settings depends on the CPU's rounding.
"""

from __future__ import annotations

import platform
import shlex

try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
except ImportError:  # numpy 1.x
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__

CORETYPES = {"x86_64": "Nehalem", "amd64": "Nehalem", "aarch64": "ARMV8", "arm64": "ARMV8"}

features = " ".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f))
assignments = {"NPY_DISABLE_CPU_FEATURES": features, "NUMBA_CPU_NAME": "generic"}
coretype = CORETYPES.get(platform.machine().lower())
if coretype:
    assignments["OPENBLAS_CORETYPE"] = coretype
print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in assignments.items()))
