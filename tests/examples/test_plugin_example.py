"""The nginx example's own pytest file, run as its user would run it: the plugin's
``chaos_system`` on a third-party program, a passing test and the defence's teeth."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.examples.conftest import EXAMPLES, ROOT, require
from tests.integration.plugin.test_plugin import environment, pytest_command
from tests.integration.runner.conftest import assert_nothing_left


def test_the_nginx_example_tests_pass_through_the_plugin(pair_dir: Path) -> None:
    require("nginx")
    (pair_dir / "pytest.ini").write_text("[pytest]\n")
    module = EXAMPLES / "nginx" / "test_nginx.py"
    done = subprocess.run(pytest_command(pair_dir, module), cwd=ROOT,
                          env=environment(pair_dir), capture_output=True, text=True,
                          timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "2 passed" in output, output
    journals = sorted((pair_dir / "reports").glob("*/journal.json"))
    assert len(journals) == 2  # one system per chaos_system call, each with its journal
    assert_nothing_left(pair_dir)
