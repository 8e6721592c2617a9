"""Synthetic city generator: contract-shaped deliveries with an answer key.

``generate(population, seed, as_of, out_dir)`` writes ``out_dir/delivery/`` (the
17 extracts of the data contract, in mixed formats and encodings, with the
defects of contract section 3) and ``out_dir/answer_key/`` (planted cases,
decoys, true person links and injected defects; design.md section 7).
"""

from __future__ import annotations

from relief_match.synth.generator import SynthReport, generate

__all__ = ["SynthReport", "generate"]
