"""The planter: planted cases and decoys added to a synthetic city."""

from __future__ import annotations

from relief_match.synth.decoys import Decoys
from relief_match.synth.planted_cases import PlantedCases


class Planter(PlantedCases, Decoys):
    """Adds the planted cases (:meth:`plant_all`) and decoys (:meth:`decoy_all`) to a city."""
