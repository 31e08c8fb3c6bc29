"""Children of the demo die with it, even when it is killed with SIGKILL."""

import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PARENT = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from gridsight.processes import ChildProcess
child = ChildProcess("sleeper", ["sleep", "60"], Path({log!r})).start()
print(child.proc.pid, flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie has exited; only its reaping is left


def test_child_is_terminated_when_parent_is_killed(tmp_path):
    code = PARENT.format(repo=str(REPO), log=str(tmp_path / "sleep.log"))
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    assert alive(child_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 5
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child_pid), "child outlived its SIGKILLed parent"
