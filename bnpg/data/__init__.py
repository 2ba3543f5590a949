"""Data shipped with the package: the results of the book's long runs, read wherever bnpg is installed.

* ``lemma3-search.json``: every record of the adversarial search for Lemma 3
  (:func:`bnpg.experiments.studies.lemma3_search.save_lemma3_search`, about 18 minutes on one core);
* ``lemma3-worst.npz``: the point of that search with the largest optimality gap relative to the
  lemma's bound (:func:`bnpg.experiments.results.save_instance`);
* ``predecessor-runs.npz``: every run of Chen and Zhang's tabular experiment, with and without the
  barrier (:func:`bnpg.experiments.studies.predecessor.predecessor_study`, ``python -m bnpg predecessor --out
  bnpg/data/predecessor-runs.npz``, about eight minutes on one core);
* ``sampling-runs.npz``: the theorems' dynamics on the book's games, exact and with sampled gradients
  (:func:`bnpg.experiments.studies.sampling.sampling_study`, ``python -m bnpg sampling --out
  bnpg/data/sampling-runs.npz``, about seven minutes on one core);
* ``predecessor-reference.npz``: what their own torch code records on the CPU for a few seeds,
  every iteration (:func:`bnpg.experiments.studies.predecessor.compare_with_reference`), against which the chapter
  checks the reproduction.

:func:`path` gives the file's location through :mod:`importlib.resources`, so notebooks find it
from any working directory, in a checkout or in an installed package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["FILES", "path"]

#: The files shipped here.
FILES = ("lemma3-search.json", "lemma3-worst.npz", "predecessor-runs.npz", "predecessor-reference.npz",
         "sampling-runs.npz")


def path(name: str) -> Path:
    """The location of the shipped file ``name`` (one of :data:`FILES`).

    >>> path("lemma3-search.json").name
    'lemma3-search.json'
    """
    if name not in FILES:
        raise ValueError(f"name must be one of {FILES}, got {name!r}")
    return Path(str(resources.files(__name__).joinpath(name)))
