"""Real MQTT brokers for tests: a mosquitto subprocess or an amqtt subprocess, each on its own
free port of 127.0.0.1, with graceful stop, hard kill and restart on the same port.

Never the machine's own broker on 1883: every Broker binds a port of its own.

    broker = MosquittoBroker(tmp_path)          # or AmqttBroker(tmp_dir=tmp_path)
    broker.start()
    ... broker.url ...                          # "mqtt://127.0.0.1:PORT"
    ... broker.url_for("hall-a") ...            # "mqtt://hall-a:hall-a-secret@127.0.0.1:PORT"
    broker.restart()                            # same port: clients reconnect to the same address
    broker.kill()                               # SIGKILL: no goodbye, nothing saved
    broker.stop()

Both brokers run as subprocesses, amqtt included (``python -m simulators.amqtt_broker``: amqtt's
own script with one race mended): a subprocess can be killed for real (the kernel closes its
sockets, nothing runs on), leaves no thread or event loop in the test process, and restarts from
a clean interpreter, which an in-process asyncio broker cannot promise.

Secure by default, as in production: a broker runs with the password file and topic ACL that
`onestop-central broker-config` writes (central.brokerconf) for the halls `TEST_HALLS` and the
central users `central`, `central-2` and `central-3` (central's worker users; a test's
extra central-side client signs in as `central-3`, never as a running central), each user's password `password_for(user)`; no anonymous
client gets in. `tests.sync.harness.write_campus` puts those credentials into the hall files and
central.toml, so processes started with the plain `broker.url` authenticate from their files; a
plain paho client uses `broker.url_for(user)` (a URL with the credentials). `secure=False` gives an
anonymous broker without ACL (infrastructure tests only).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from central import brokerconf

__all__ = [
    "AmqttBroker",
    "Broker",
    "BrokerError",
    "CENTRAL_USERS",
    "MosquittoBroker",
    "connected_client",
    "TEST_HALLS",
    "free_port",
    "make_test_ca",
    "mosquitto_binary",
    "password_for",
    "require_mosquitto",
    "with_credentials",
]

HOST = "127.0.0.1"
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


# Every hall id a broker test uses; a secure test broker has a user (and ACL) for each.
TEST_HALLS = ("hall-a", "hall-b", "hall-c", "h1", "h2", "test-hall")
CENTRAL_USERS = tuple(brokerconf.central_users("central", workers=3))  # central, central-2, central-3


def password_for(user: str) -> str:
    """The test password of broker user `user`: each hall its own; central's workers share
    central's (as `broker-config --workers N` writes them)."""
    return f"{'central' if user in CENTRAL_USERS else user}-secret"


def with_credentials(url: str, user: str, password: str | None = None) -> str:
    """`url` with `user`'s credentials: mqtt://user:password@host:port."""
    u = urlsplit(url)
    pw = password_for(user) if password is None else password
    return f"{u.scheme}://{quote(user, safe='')}:{quote(pw, safe='')}@{u.hostname}:{u.port}"


def connected_client(port: int, user: str, *, protocol: int = 4, client_id: str = "", on_connect=None,
                     on_message=None, timeout: float = 20):
    """A plain paho client signed in as `user`, its CONNACK received (paho refuses a publish
    before it). amqtt may drop a connection while setting its session up (a subscription
    table changed under it: mended in simulators.amqtt_broker; other races may remain); paho
    then connects again, so this waits for the first successful CONNACK rather than the first
    attempt. `on_connect(client)` runs on every connection (subscribe there)."""
    import threading

    import paho.mqtt.client as paho

    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=paho.MQTTv5 if protocol == 5 else paho.MQTTv311)
    connected = threading.Event()

    def connack(cl, userdata, flags, reason, props) -> None:
        if not reason.is_failure:
            if on_connect is not None:
                on_connect(cl)
            connected.set()

    c.on_connect = connack
    if on_message is not None:
        c.on_message = on_message
    c.username_pw_set(user, password_for(user))
    c.reconnect_delay_set(min_delay=0.2, max_delay=1)
    c.connect(HOST, port)
    c.loop_start()
    if not connected.wait(timeout):
        c.loop_stop()
        raise BrokerError(f"{user} could not connect to the broker on port {port} in {timeout} s")
    return c


class BrokerError(RuntimeError):
    """A broker did not start or stop as asked; the message carries its log."""


def free_port(host: str = HOST) -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str | None:
    """Path of the mosquitto executable (PATH, then /usr/sbin), or None."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def require_mosquitto() -> str:
    """The mosquitto binary's path; else skip the test, or fail it under CI=true (where
    `make test` has installed mosquitto, so its absence is a broken setup, not a choice)."""
    path = mosquitto_binary()
    if path is not None:
        return path
    import pytest

    message = "mosquitto is not installed (apt-get install mosquitto, or run `make test`, which installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """A broker subprocess bound to 127.0.0.1:`port`; subclasses say how to launch it."""

    kind: str = ""
    supports_v5: bool = False
    # Does a persistent (clean_session=False) session get the QoS 1 messages sent while it was away?
    queues_for_offline_sessions: bool = True
    # Can a client take over (disconnect) a connected client by connecting with its client id,
    # with other (or no valid) credentials? (mosquitto: not with use_username_as_clientid)
    client_id_takeover: bool = False
    # Does the broker refuse a payload over brokerconf.MESSAGE_SIZE_LIMIT? (amqtt: no)
    limits_message_size: bool = True

    def __init__(self, tmp_dir: str | os.PathLike | None = None, port: int | None = None, *,
                 secure: bool = True, halls: tuple[str, ...] | list[str] = TEST_HALLS) -> None:
        self._own_tmp = tmp_dir is None
        self.tmp_dir = Path(tempfile.mkdtemp(prefix=f"{self.kind}-")) if tmp_dir is None else Path(tmp_dir)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = port or free_port()
        # a port free_port chose may be taken by another process before the broker binds it
        # (tests of other sessions run beside ours): the first start then moves to another one
        self._may_move = port is None
        self.log_path = self.tmp_dir / f"{self.kind}-{self.port}.log"
        self._proc: subprocess.Popen | None = None
        self.secure = secure
        self.halls = list(halls)
        self.auth: brokerconf.Written | None = None  # the files broker-config wrote (secure only)

    # -- addresses --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def url_for(self, user: str, password: str | None = None) -> str:
        """The broker's URL with `user`'s credentials (its test password unless given)."""
        return with_credentials(self.url, user, password)

    @property
    def users(self) -> dict[str, str]:
        """Every broker user of a secure broker and its password: central's, then the halls'."""
        return {u: password_for(u) for u in (*CENTRAL_USERS, *self.halls)}

    def _write_auth(self) -> brokerconf.Written:
        """Password and ACL files as `onestop-central broker-config` writes them."""
        self.auth = brokerconf.write_files(self.tmp_dir / f"{self.kind}-{self.port}-auth", self.users,
                                           self.halls, list(CENTRAL_USERS), self.port, self.host,
                                           amqtt=self.kind == "amqtt")
        return self.auth

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _ports(self) -> list[int]:
        return [self.port]

    # -- subclass hooks ---------------------------------------------------------------------
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _write_config(self) -> None:
        raise NotImplementedError

    _graceful_signal = signal.SIGTERM

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "Broker":
        """Launch the broker and wait (bounded) until every listener accepts connections. On its
        first start on a port it chose itself, a port taken meanwhile moves it to another one."""
        for attempt in range(3):
            try:
                return self._start()
            except BrokerError as e:
                if not (self._may_move and attempt < 2 and "already in use" in str(e)):
                    raise
                self.port = free_port()
                self.log_path = self.tmp_dir / f"{self.kind}-{self.port}.log"
        raise AssertionError("unreachable")

    def _start(self) -> "Broker":
        if self.running:
            raise BrokerError(f"{self.kind} on port {self.port} is already running")
        self._write_config()
        with self.log_path.open("ab") as log:
            log.write(f"==== start {time.strftime('%H:%M:%S')} ====\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp_dir,
                start_new_session=True,  # a Ctrl-C in the terminal does not reach it
            )
        self._wait_ready()
        self._may_move = False  # from now on clients know this port: a restart keeps it
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        pending = list(self._ports())
        while pending:
            if self._proc.poll() is not None:
                rc = self._proc.returncode
                self._proc = None
                raise BrokerError(f"{self.kind} exited with status {rc} before listening:\n{self.log_text()}")
            if _port_open(self.host, pending[0]):
                pending.pop(0)
                continue
            if time.monotonic() > deadline or "already in use" in self.log_text().rsplit("==== start", 1)[-1]:
                self._terminate(signal.SIGKILL)
                raise BrokerError(
                    f"{self.kind} did not listen on {self.host}:{pending[0]} within {READY_TIMEOUT:.0f} s:\n"
                    f"{self.log_text()}"
                )
            time.sleep(0.05)
        # Something else may own the port (a free_port race): the process must still be ours and alive.
        if self._proc.poll() is not None:
            rc = self._proc.returncode
            self._proc = None
            raise BrokerError(f"{self.kind} exited with status {rc} after start:\n{self.log_text()}")

    def _terminate(self, sig: int) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
            with self.log_path.open("ab") as log:
                log.write(f"==== did not stop on signal {sig} within {STOP_TIMEOUT} s; killed ====\n".encode())

    def stop(self) -> None:
        """Graceful stop (the broker closes its clients and saves what it persists). Idempotent."""
        self._terminate(self._graceful_signal)

    def kill(self) -> None:
        """Hard stop: SIGKILL, no goodbye to clients, nothing saved. Idempotent."""
        self._terminate(signal.SIGKILL)

    def restart(self, *, hard: bool = False) -> "Broker":
        """Stop (kill if `hard`) and start again on the same port(s)."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def close(self) -> None:
        """Stop and remove the temporary directory if this object made it."""
        self.stop()
        if self._own_tmp:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.url} {state}>"


class MosquittoBroker(Broker):
    """mosquitto with a generated config: secure by default (broker-config's password file, ACL,
    message_size_limit, use_username_as_clientid on every listener), anonymous with
    `secure=False` unless a password file is given, no persistence unless asked, mosquitto's
    default queue limits (max_queued_messages 1000)."""

    kind = "mosquitto"
    supports_v5 = True

    def __init__(
        self,
        tmp_dir: str | os.PathLike,
        port: int | None = None,
        conf_extra: str = "",
        password_file: str | os.PathLike | None = None,
        acl_file: str | os.PathLike | None = None,
        *,
        persistence: bool = False,
        tls: tuple[str | os.PathLike, str | os.PathLike, str | os.PathLike] | None = None,
        tls_port: int | None = None,
        binary: str | None = None,
        secure: bool = True,
        halls: tuple[str, ...] | list[str] = TEST_HALLS,
    ) -> None:
        super().__init__(tmp_dir, port, secure=secure and not password_file, halls=halls)
        self.binary = binary or mosquitto_binary()
        if self.binary is None:
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
        self.conf_extra = conf_extra
        self.password_file = Path(password_file) if password_file else None
        self.acl_file = Path(acl_file) if acl_file else None
        self.persistence = persistence
        self.persistence_dir = self.tmp_dir / f"mosquitto-{self.port}-data"
        self.tls = tuple(Path(p) for p in tls) if tls else None
        self.tls_port = (tls_port or free_port()) if tls else None
        self.conf_path = self.tmp_dir / f"mosquitto-{self.port}.conf"

    @property
    def tls_url(self) -> str | None:
        return f"mqtts://{self.host}:{self.tls_port}" if self.tls_port else None

    def _ports(self) -> list[int]:
        return [self.port] + ([self.tls_port] if self.tls_port else [])

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.conf_path)]

    def _write_config(self) -> None:
        lines = [
            "# generated by tests/brokers.py",
            "log_dest stderr",  # stderr goes to self.log_path
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # do not drop to the mosquitto user: it could not write tmp_dir
        if self.persistence:
            self.persistence_dir.mkdir(parents=True, exist_ok=True)
            lines += ["persistence true", f"persistence_location {self.persistence_dir}/"]
        else:
            lines.append("persistence false")
        tls = tuple(str(p) for p in self.tls) if self.tls else None
        if self.secure:  # exactly the settings broker-config writes, on each of our listeners
            auth = self._write_auth()
            lines += brokerconf.mosquitto_general(auth.passwd, auth.acl)
            lines += brokerconf.mosquitto_listener(self.port, self.host)
            if tls:
                lines += brokerconf.mosquitto_listener(self.tls_port, self.host, tls)
        else:
            if self.password_file:
                lines += ["allow_anonymous false", f"password_file {self.password_file}"]
            else:
                lines.append("allow_anonymous true")
            if self.acl_file:
                lines.append(f"acl_file {self.acl_file}")
            lines.append(f"listener {self.port} {self.host}")
            if tls:
                lines += [f"listener {self.tls_port} {self.host}",
                          f"cafile {tls[0]}", f"certfile {tls[1]}", f"keyfile {tls[2]}"]
        if self.conf_extra:
            lines.append(self.conf_extra)
        self.conf_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class AmqttBroker(Broker):
    """The amqtt 0.12 broker (pure Python) in a subprocess, one TCP listener, no TLS. Secure by
    default: broker-config's amqtt.yaml plugins (FileAuthPlugin with argon2 hashes,
    TopicAccessControlListPlugin with its publish and subscribe ACL).

    What amqtt 0.12 does, unlike mosquitto:
    - No client id binding: a client connecting with a connected client's id takes it over
      (disconnects it) before its own credentials are checked (`client_id_takeover`).
    - No message size limit (`limits_message_size`): central's own wire limit quarantines.
    - MQTT 3.1.1 only: a v5 CONNECT is answered "unsupported protocol version"; so no shared
      subscriptions (``$share/...`` is an ordinary filter) and no v5 properties.
    - Retained messages work, in memory only: a restart loses them (no persistence configured).
    - With ``secure=False, anonymous=True`` (every client gets in, as with mosquitto's
      allow_anonymous) amqtt marks every session anonymous and then never queues QoS 1/2
      messages for a disconnected persistent (clean_session=False) session: they are dropped.
      With ``anonymous=False`` a client must send a username (any; no password check), and a
      secure broker checks passwords: either way a persistent session gets its messages on
      reconnect (delivered with the retain flag set).
    """

    kind = "amqtt"
    supports_v5 = False
    _graceful_signal = signal.SIGINT  # the amqtt script shuts the broker down on KeyboardInterrupt

    client_id_takeover = True
    limits_message_size = False

    def __init__(self, port: int | None = None, *, tmp_dir: str | os.PathLike | None = None,
                 anonymous: bool = True, secure: bool = True,
                 halls: tuple[str, ...] | list[str] = TEST_HALLS) -> None:
        super().__init__(tmp_dir, port, secure=secure, halls=halls)
        self.anonymous = anonymous and not secure
        self.queues_for_offline_sessions = not self.anonymous
        self.conf_path = self.tmp_dir / f"amqtt-{self.port}.yaml"

    def start(self) -> "AmqttBroker":
        import importlib.util

        if importlib.util.find_spec("amqtt") is None:
            raise BrokerError(f"amqtt is not installed in {sys.prefix} (it belongs to the `test` extra)")
        return super().start()

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "simulators.amqtt_broker", "-c", str(self.conf_path)]

    def _write_config(self) -> None:
        # YAML is a superset of JSON; amqtt's BrokerConfig.from_dict is strict about field names.
        import json

        if self.secure:
            auth = self._write_auth()
            config = brokerconf.amqtt_config(auth.amqtt_passwd, auth.rules, f"{self.host}:{self.port}")
        else:
            config = {
                "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": self.anonymous}},
            }
        self.conf_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


# -- TLS test material ------------------------------------------------------------------------

def make_test_ca(tmp_dir: str | os.PathLike) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost, signed by it.

    Returns (ca_cert, server_cert, server_key) PEM paths in `tmp_dir`. Uses the `cryptography`
    package when importable, else the `openssl` command."""
    out = Path(tmp_dir) / "tls"
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "ca.pem", out / "server.pem", out / "server.key")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        _make_ca_openssl(out, *paths)
    else:
        _make_ca_cryptography(*paths)
    return tuple(str(p) for p in paths)  # type: ignore[return-value]


def _make_ca_cryptography(ca_path: Path, cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "onestop test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)


def _make_ca_openssl(out: Path, ca_path: Path, cert_path: Path, key_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("make_test_ca needs the `cryptography` package or the `openssl` command")
    ca_key = out / "ca.key"
    csr = out / "server.csr"
    ext = out / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n",
        encoding="ascii",
    )

    def run(*args: str) -> None:
        r = subprocess.run([openssl, *args], cwd=out, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stderr}")

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_path), "-days", "2",
        "-subj", "/CN=onestop test CA",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        "-addext", "subjectKeyIdentifier=hash")
    run("req", *ec, "-keyout", str(key_path), "-out", str(csr), "-subj", "/CN=localhost")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_path), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert_path), "-days", "2", "-sha256", "-extfile", str(ext))
    key_path.chmod(0o600)
