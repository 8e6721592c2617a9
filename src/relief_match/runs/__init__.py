"""Runs of the job as a scheduler sees them: one directory per run, published atomically.

Bottom-layer helpers, imported by :mod:`relief_match.api` and the output
writers: :mod:`~relief_match.runs.files` (atomic writes, modes, hashes),
:mod:`~relief_match.runs.rundir` (run directories, ``latest``, listing,
retention), :mod:`~relief_match.runs.lock` (one lock per output directory),
:mod:`~relief_match.runs.manifest`, :mod:`~relief_match.runs.logs` (console
and ``run.log``, JSON lines, masking) and :mod:`~relief_match.runs.progress`
(stage timings, peak memory, spinner).
"""
