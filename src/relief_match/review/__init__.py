"""Caseworkers' review outcomes: finding ids, the outcome store, import, suppression, hit rates."""
