"""Locust files for the bundled targets (run by chaoskit as a subprocess, ``--host`` given)."""
