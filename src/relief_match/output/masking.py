"""Re-export of :func:`relief_match.privacy.mask_id` until its last importers move."""

from relief_match.privacy import mask_id

__all__ = ["mask_id"]
