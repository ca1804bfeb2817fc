"""nginx's resilience as a user writes it for their own system: the chaoskit pytest plugin.

Run from the repository: ``.venv/bin/pytest examples/nginx/test_nginx.py``. The
topology and locustfile are this folder's; nothing else is needed.
"""

import pytest

from chaoskit.testing import SteadyStateViolation

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def nginx(chaos_system):
    return chaos_system("topology.yaml")  # started once for the module, stopped after it


def test_a_dead_app_costs_no_page(nginx):
    with nginx.load("locustfile.py", users=10) as load:
        load.wait(3)
        with nginx.instance_kill(service="app", zone="b"):
            load.wait(6)
            nginx.assert_steady(load, success_ratio=0.99, p99_ms=500, window=5)


def test_without_next_upstream_a_dead_app_costs_pages(chaos_system):
    # The defence's teeth: the same fault, nginx no longer retrying the next upstream.
    naive = chaos_system("topology.yaml", disable=("next_upstream",))
    with naive.load("locustfile.py", users=10) as load:
        load.wait(3)
        with naive.instance_kill(service="app", zone="b"):
            load.wait(6)
            with pytest.raises(SteadyStateViolation, match=r"load\.success_ratio"):
                naive.assert_steady(load, success_ratio=0.99, window=5)
