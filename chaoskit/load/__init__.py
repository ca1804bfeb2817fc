"""Load: Locust run as a subprocess, streaming one-second statistics to the runner.

Nothing here imports ``locust`` except ``stream`` and ``main``, which only ever
run inside the Locust subprocess: importing Locust monkey-patches the whole
process with gevent, which must never reach chaoskit's asyncio process.
"""
