"""The bundled target services: a miniature streaming platform with case-study defences.

Every service runs on its own (``python -m targets.<service>``), reads the
chaoskit environment contract (see :mod:`targets.common.config`) and imports
nothing from ``chaoskit``. Each defence lives in :mod:`targets.patterns` and is
switched off through ``CHAOSKIT_DISABLE``.
"""
