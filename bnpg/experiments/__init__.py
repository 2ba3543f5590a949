"""The experiments layer: instances of the studies (:mod:`~bnpg.experiments.instances`), sweeps
over many instances in worker processes or on a Dask cluster with a resumable store
(:mod:`~bnpg.experiments.sweeps`), result files (:mod:`~bnpg.experiments.results`) and
the studies behind the book's chapters (:mod:`bnpg.experiments.studies`).
"""

from .instances import (
    Instance,
    check_product_theta,
    common_start,
    concentrated_policy,
    correlation_instance,
    instance_rng,
    lemma_instance,
)
from .results import (
    RESULT_EXTENSIONS,
    atomic_write,
    atomic_write_text,
    check_output_path,
    collate,
    load_instance,
    load_results,
    save_instance,
    save_results,
)
from .sweeps import (
    CONNECT_TIMEOUT,
    SCHEDULER_VARIABLE,
    STORE_FORMAT,
    StoreError,
    SweepOptions,
    read_store,
    run_sweep,
    sweep_options,
)

__all__ = [
    "CONNECT_TIMEOUT",
    "Instance",
    "RESULT_EXTENSIONS",
    "SCHEDULER_VARIABLE",
    "STORE_FORMAT",
    "StoreError",
    "SweepOptions",
    "atomic_write",
    "atomic_write_text",
    "check_output_path",
    "check_product_theta",
    "collate",
    "common_start",
    "concentrated_policy",
    "correlation_instance",
    "instance_rng",
    "lemma_instance",
    "load_instance",
    "load_results",
    "read_store",
    "run_sweep",
    "save_instance",
    "save_results",
    "sweep_options",
]
