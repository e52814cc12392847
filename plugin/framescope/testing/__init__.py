"""Test support shipped with framescope: helpers for tests and benchmarks, never used by the runtime.

Nothing in the runtime imports this package; it exists so that test doubles have one
explicit home instead of hiding inside the modules they stand in for.
"""
