"""Effective receptive fields on the device: measures, impulse ERF on any back end, heat maps."""
