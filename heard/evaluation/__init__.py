"""Offline evaluations of Heard's analysis components against shared corpora."""
