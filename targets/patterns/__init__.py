"""The case-study defences, one small module each, usable in-process.

Each one is switchable: constructed with ``enabled=False`` it does nothing, so
an experiment can show what happens without it.
"""
