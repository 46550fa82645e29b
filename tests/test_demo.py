"""`make demo` end to end: both stand-ins, Wingman's supervisor, a draft, /send, the replies."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TIMEOUT = 90


def test_the_demo_drafts_waits_for_send_and_replies() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "standins.demo"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as demo:
        try:
            output, _ = demo.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGTERM, not SIGKILL: the demo then stops Wingman, which has a session of its own.
            demo.terminate()
            output, _ = demo.communicate(timeout=60)
            pytest.fail(f"the demo took more than {TIMEOUT} s:\n{output}")

    assert demo.returncode == 0, output
    assert "DEMO STAND-INS" in output
    rep_view, _, after = output.partition("What the customer receives")
    customer_view = after.split("\n\n", 1)[0]  # the transcript, up to the closing lines
    assert re.search(
        r"💬 Draft D\d+ for \[@Daniel Ortiz\]\(mention://user/21/Daniel%20Ortiz\)", rep_view
    )
    assert "Chatwoot notifies Daniel Ortiz" in rep_view
    # The stand-in Claude's bubbles, each its own public message, after the customer's burst.
    assert "Trail Tent 2P" in customer_view
    assert re.search(r"Aria \(AI\):\n    Thanks for your message!", customer_view), output
    assert "What would you like to know next?" in customer_view
    assert "/send" not in customer_view and "Draft D" not in customer_view
    workdir = re.search(r"in (/\S+wm-demo-\w+)\)", output)
    assert workdir is not None, output
    assert not Path(workdir.group(1)).exists(), "the demo left its temporary directory behind"
