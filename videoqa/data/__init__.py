"""Benchmark datasets: one file per benchmark, all producing the schema of
:mod:`videoqa.data.schema`, registered in :data:`videoqa.data.registry.DATASETS`."""
