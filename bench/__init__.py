"""Benchmarks for the "prove it" figures: sync and app, printed, never asserted."""
