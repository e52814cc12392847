"""Instrumentors that record other agent frameworks' runs through framescope's one codec.

Each integration sits on top of framescope (nothing in the core imports it) and ships as an
extra: ``pip install 'framescope[crewai]'`` for :mod:`framescope.integrations.crewai`.
"""
