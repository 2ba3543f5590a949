"""Module paths of the flat layout that preceded the layer subpackages, kept importable.

Before the layer subpackages, every module sat directly in ``bnpg/`` (``bnpg.gaps``, ``bnpg.sampled``, ...).
Each now lives in the subpackage of its layer; :data:`MOVED` maps every old path to the new one, and
:func:`install` makes ``import bnpg.gaps`` and ``from bnpg.sampled import agreement`` give the
module at its new home (the same module object, so monkeypatching either name patches both).

>>> import bnpg
>>> from bnpg.gaps import nash_gap
>>> nash_gap is bnpg.exact.gaps.nash_gap
True
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["MOVED", "install"]

#: Old module path -> its home in the layered package.
MOVED = {
    "bnpg._fast": "bnpg.backends.numba_kernels",
    "bnpg.game": "bnpg.model.game",
    "bnpg.dag": "bnpg.model.dag",
    "bnpg.policy": "bnpg.model.policy",
    "bnpg.evaluation": "bnpg.exact.evaluation",
    "bnpg.gaps": "bnpg.exact.gaps",
    "bnpg.objective": "bnpg.exact.objective",
    "bnpg.constants": "bnpg.theory.constants",
    "bnpg.sharpened": "bnpg.theory.sharpened",
    "bnpg.telescoping": "bnpg.theory.telescoping",
    "bnpg.witnesses": "bnpg.theory.witnesses",
    "bnpg.bounds": "bnpg.theory.symbolic.bounds",
    "bnpg.audit": "bnpg.theory.symbolic.audit",
    "bnpg.convergence": "bnpg.dynamics.convergence",
    "bnpg.curvature": "bnpg.dynamics.curvature",
    "bnpg.finite_differences": "bnpg.dynamics.finite_differences",
    "bnpg.episodes": "bnpg.sampling.episodes",
    "bnpg.sampled": "bnpg.sampling.estimators",
    "bnpg.sampled_dynamics": "bnpg.sampling.ascent",
    "bnpg.verdict": "bnpg.paper.verdict",
    "bnpg.report": "bnpg.paper.report",
    "bnpg.statements": "bnpg.paper.catalogue",
    "bnpg.coordination": "bnpg.games.coordination",
    "bnpg.instances": "bnpg.experiments.instances",
    "bnpg.sweeps": "bnpg.experiments.sweeps",
    "bnpg.results": "bnpg.experiments.results",
    "bnpg.studies": "bnpg.experiments.studies",
}


#: Module attributes that the import system sets from the spec and that must keep their values.
_IDENTITY = ("__name__", "__spec__", "__loader__", "__package__", "__file__", "__path__", "__cached__")


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path (or a module below one) and loads the module at its new home."""

    @staticmethod
    def _target(fullname: str) -> str | None:
        for old, new in MOVED.items():
            if fullname == old or fullname.startswith(old + "."):
                return new + fullname[len(old):]
        return None

    def find_spec(self, fullname, path=None, target=None):
        new = self._target(fullname)
        if new is None or importlib.util.find_spec(new) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(self._target(spec.name))
        self._kept = {k: module.__dict__[k] for k in _IDENTITY if k in module.__dict__}
        return module

    def exec_module(self, module):
        # the import system stamped the old name on the module: give it back its own
        module.__dict__.update(self._kept)


def install() -> None:
    """Put the alias finder on :data:`sys.meta_path` (once)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
    # ``bnpg.objective`` is also the function L_lambda: register the module under its old path now,
    # so that importing it does not rebind the package's attribute to the module.
    sys.modules.setdefault("bnpg.objective", importlib.import_module(MOVED["bnpg.objective"]))
