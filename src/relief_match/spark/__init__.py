"""The Spark engine: the same job on Apache Spark, from the same schema, rule and model files.

``run --engine spark`` ingests on Spark (:mod:`.ingest`: the same readers and
validators inside Spark tasks, parquet in the staging location, Spark tables
named as in DuckDB), runs the checks' SQL translated to Spark SQL
(:mod:`.checks`, :mod:`relief_match.rules.dialects`), and collects the small
results into the run's DuckDB database, where review, rank and output run by
the same code as on the DuckDB engine (:mod:`.engine`). pyspark is an optional
extra: ``pip install 'relief-match[spark]'``.
"""
