"""The Locust subprocess: ``python -m chaoskit.load.main <locust arguments>``.

It is Locust's own command line (``locust.main.main`` parses ``sys.argv``,
loads the locustfile given by ``-f`` the usual way, runs and exits), with
``chaoskit.load.stream`` imported first so its listeners are on
``locust.events`` before the environment is created.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # Importing locust monkey-patches with gevent as its first act, as under the
    # `locust` command; stream's listeners must be on locust.events before
    # locust.main creates the Environment (which fires events.init).
    import locust.main

    import chaoskit.load.stream  # noqa: F401

    # locust.main.main() reads sys.argv itself; argv[0] only names the program in messages.
    sys.argv = ["locust", *args]
    locust.main.main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
