"""Starting and stopping the real node processes the simulators drive, and waiting for them.

An `EdgeProcess` runs `onestop-edge` as a child process: its own process group (so a Ctrl-C in
the terminal reaches only the simulator, which then stops the edge with SIGTERM), and on Linux a
parent-death signal (so the edge never outlives a simulator that was killed). Its stderr is the
simulator's stderr: the edge's errors stay visible. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .client import Client

if TYPE_CHECKING:
    from central import brokerconf

STOP_TIMEOUT = 15.0  # seconds an edge gets to stop after SIGTERM before it is killed


class ProcessError(Exception):
    """A node process could not be started or did not become healthy; the message says why."""


def edge_command() -> list[str]:
    """How to run `onestop-edge`: the console script next to this Python, else `python -m`."""
    script = Path(sys.executable).with_name("onestop-edge")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "edge.cli"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (a socket in TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def split_hostport(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def proc_memory(pid: int) -> dict[str, float]:
    """Resident memory of a process from /proc/<pid>/status, in MB: `rss` now, `hwm` its peak."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out["rss" if key == "VmRSS" else "hwm"] = int(value.split()[0]) / 1024  # kB → MB
    return out


def proc_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def stop_process(proc: subprocess.Popen | None, timeout: float = STOP_TIMEOUT) -> tuple[int | None, bool]:
    """SIGTERM, wait up to `timeout` s, then SIGKILL. Returns (exit code, killed)."""
    if proc is None:
        return None, False
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout), False
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(5), True
    return proc.returncode, False


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux sends the parent-death signal when the THREAD that forked the child ends, not the
    # process: start children from a thread that lives as long as they should (the main one)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EdgeProcess:
    """One `onestop-edge` child process."""

    def __init__(self, config: Path, data_dir: Path, host: str, port: int, *,
                 clock_start: str | None = None, clock_speed: float | None = None,
                 log_level: str = "info", sync: bool = False, broker: str | None = None,
                 stdout: int | IO | None = subprocess.DEVNULL, stderr: int | IO | None = None) -> None:
        self.config = Path(config)
        self.data_dir = Path(data_dir)
        self.host, self.port = host, port
        self.clock_start, self.clock_speed = clock_start, clock_speed
        self.log_level = log_level
        self.sync = sync  # False: --no-sync, the hall on its own (no broker, no central)
        self.simulate = False  # True: --simulate (MockFactory pins, pty readers, /sim and /api/sim)
        self.broker = broker  # --broker URL (with sync on)
        self.cpus: str | None = None  # e.g. "0": run pinned to these cores (`taskset -c`; it execs, same pid)
        self.stdout, self.stderr = stdout, stderr
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def args(self) -> list[str]:
        cmd = [*edge_command(), "--config", str(self.config), "--data-dir", str(self.data_dir),
               "--http", f"{self.host}:{self.port}", "--log-level", self.log_level]
        if self.clock_start:
            cmd += ["--clock-start", self.clock_start]
        if self.clock_speed:
            cmd += ["--clock-speed", repr(float(self.clock_speed))]
        if not self.sync:
            cmd.append("--no-sync")
        elif self.broker:
            cmd += ["--broker", self.broker]
        if self.simulate:
            cmd.append("--simulate")
        return ["taskset", "-c", self.cpus, *cmd] if self.cpus else cmd

    def start(self) -> None:
        try:
            self.proc = subprocess.Popen(
                self.args(), stdin=subprocess.DEVNULL, stdout=self.stdout, stderr=self.stderr,
                process_group=0, preexec_fn=_child_setup,
            )
        except OSError as e:
            raise ProcessError(f"cannot start onestop-edge ({' '.join(edge_command())}): {e}") from None

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def wait_healthy(self, timeout: float = 30.0, stop: threading.Event | None = None) -> dict:
        """Wait until GET /api/health answers 200; returns its body (an empty dict when `stop`
        was set meanwhile). Raises ProcessError when the process exits first or `timeout`
        seconds pass."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        with Client(self.host, self.port, timeout=2.0) as c:
            while True:
                code = self.poll()
                if code is not None:
                    raise ProcessError(f"onestop-edge exited with code {code} before it answered "
                                       f"(its messages are above)")
                try:
                    status, body = c.request("GET", "/api/health")
                    if status == 200:
                        return body
                except OSError:
                    pass
                if time.monotonic() >= deadline:
                    raise ProcessError(f"onestop-edge did not answer on {self.base_url} within {timeout:.0f} s")
                if stop is None:
                    time.sleep(delay)
                elif stop.wait(delay):
                    return {}
                delay = min(delay * 2, 0.25)

    def memory(self) -> dict[str, float]:
        return proc_memory(self.pid)

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int | None, bool]:
        """SIGTERM, wait up to `timeout` s, then SIGKILL. Returns (exit code, killed)."""
        return stop_process(self.proc, timeout)

    def __enter__(self) -> "EdgeProcess":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def signal_name(code: int | None) -> str:
    """'0', '1', or 'SIGKILL' for a negative Popen return code."""
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return str(code)


def describe_exit(code: int | None, killed: bool) -> str:
    if killed:
        return f"did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM and was killed ({signal_name(code)})"
    return f"stopped on SIGTERM with exit code {signal_name(code)}"



def central_command() -> list[str]:
    """How to run `onestop-central`: the console script next to this Python, else `python -m`."""
    script = Path(sys.executable).with_name("onestop-central")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "central.cli"]


class Child:
    """Any other child process of a simulator (broker, central): own process group, parent-death
    signal, output to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict | None = None) -> None:
        self.name, self.cmd, self.log, self.env = name, cmd, Path(log), env
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "Child":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as f:
            try:
                self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                             env=self.env, process_group=0, preexec_fn=_child_setup)
            except OSError as e:
                raise ProcessError(f"cannot start {self.name} ({self.cmd[0]}): {e}") from None
        return self

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def tail(self, n: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def wait_port(self, host: str, port: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.poll() is not None:
                raise ProcessError(f"{self.name} exited with code {self.poll()}: {self.tail()}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((host, port)) == 0:
                    return
            if time.monotonic() > deadline:
                raise ProcessError(f"{self.name} did not listen on {host}:{port} within {timeout:.0f} s "
                                   f"(log {self.log})")
            time.sleep(0.05)

    def wait_http(self, host: str, port: int, path: str = "/api/health", timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        with Client(host, port, timeout=2.0) as c:
            while True:
                if self.poll() is not None:
                    raise ProcessError(f"{self.name} exited with code {self.poll()}: {self.tail()}")
                try:
                    status, body = c.request("GET", path)
                    if status == 200:
                        return body
                except OSError:
                    c.close()
                if time.monotonic() > deadline:
                    raise ProcessError(f"{self.name} did not answer on http://{host}:{port}{path} within "
                                       f"{timeout:.0f} s (log {self.log})")
                time.sleep(0.1)

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int | None, bool]:
        return stop_process(self.proc, timeout)


def start_broker(work: Path, port: int | None = None, prefer: str = "mosquitto",
                 auth: "brokerconf.Written | None" = None) -> tuple[Child, int, int]:
    """A private MQTT broker on 127.0.0.1 (never 1883 unless asked): the `mosquitto` binary when
    installed, else the embedded amqtt broker (MQTT 3.1.1 only). With `auth` (the files
    `central.brokerconf.write_files` wrote) it runs broker-config's security settings: no
    anonymous client, per-hall passwords and ACL, and on mosquitto `message_size_limit` and
    `use_username_as_clientid`. Returns (process, port, the MQTT protocol level clients must use:
    5 for mosquitto, 4 for amqtt)."""
    import shutil

    from central import brokerconf

    work.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    if binary and prefer == "mosquitto":
        conf = work / "mosquitto.conf"
        lines = ["persistence false", "max_queued_messages 10000"] + (["user root"] if os.geteuid() == 0 else [])
        if auth is not None:
            lines += brokerconf.mosquitto_general(auth.passwd, auth.acl) + brokerconf.mosquitto_listener(port, "127.0.0.1")
        else:
            lines += ["allow_anonymous true", f"listener {port} 127.0.0.1"]
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        child = Child("mosquitto", [binary, "-c", str(conf)], work / "broker.log").start()
        protocol = 5
    else:
        import json

        conf = work / "amqtt.yaml"  # YAML is a superset of JSON
        if auth is not None:
            config = brokerconf.amqtt_config(auth.amqtt_passwd, auth.rules, f"127.0.0.1:{port}")
        else:
            # allow_anonymous false: every node sends a username (any, no password check) and then
            # amqtt keeps QoS 1 messages for its persistent session while it is away
            config = {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}},
            }
        conf.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        child = Child("amqtt broker", [sys.executable, "-m", "simulators.amqtt_broker", "-c", str(conf)],
                      work / "broker.log").start()
        protocol = 4
    child.wait_port("127.0.0.1", port)
    return child, port, protocol
