"""The studies behind the book's chapters, one module each; the command line runs them at larger scale.

* :mod:`bnpg.experiments.studies.lemmas`: Lemmas 2 and 3 on random (game, DAG, lambda, start) instances;
* :mod:`bnpg.experiments.studies.lemma3_search`: an adversarial search for large optimality gaps under Lemma 3;
* :mod:`bnpg.experiments.studies.sharpness_search`: the worst reward, in closed form, against the sharpened Lemmas 2
  and 3 (:mod:`bnpg.theory.sharpened`) on multi-state games;
* :mod:`bnpg.experiments.studies.correlation`: product, chain and full DAGs from the same starting joint policies;
* :mod:`bnpg.experiments.studies.sampling`: the theorems' dynamics with sampled gradients against the exact ones;
* :mod:`bnpg.experiments.studies.predecessor`: the tabular experiment of Chen and Zhang (ICML 2023), rerun exactly
  (:mod:`bnpg.experiments.studies.torch_normal` replays their starting parameters).

Every study is pure and deterministic given its arguments (see :mod:`bnpg.experiments.instances`), and returns a
dictionary of arrays that :func:`bnpg.experiments.results.save_results` writes.
"""

__all__ = ["correlation", "lemma3_search", "lemmas", "predecessor", "sampling", "sharpness_search", "torch_normal"]
