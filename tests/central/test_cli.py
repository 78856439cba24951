"""central.cli: `onestop-central keygen` and the signing key central needs to start."""

from __future__ import annotations

import stat

from central.cli import main
from sync.contract import wire
from sync.contract.signing import Signer, Trust
from tests.central.data import write_config


def test_cli_keygen_writes_a_private_key_only_its_owner_reads(tmp_path, capsys):
    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    key, pub = tmp_path / "keys" / "central.key", tmp_path / "keys" / "central.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    signer = Signer.from_file(key)
    public = pub.read_text().strip()
    assert public == signer.public_key and f'public_key = "{public}"' in capsys.readouterr().out
    topic = wire.config_topic("h-a")
    assert Trust([public]).open(topic, signer.seal(topic, b"x")) == b"x"
    # an existing key is kept unless --force
    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 2
    assert "--force" in capsys.readouterr().err
    assert Signer.from_file(key).public_key == public
    assert main(["keygen", "--out", str(tmp_path / "keys"), "--force"]) == 0
    assert Signer.from_file(key).public_key != public


def test_cli_central_does_not_start_without_its_signing_key(tmp_path, capsys):
    central = write_config(tmp_path)
    assert main(["--config", str(central), "--db", f"sqlite:///{tmp_path}/c.db"]) == 2
    assert "field $.central.signing_key" in capsys.readouterr().err
    central.write_text(central.read_text().replace('halls = ["halls/*.toml"]',
                                                   'halls = ["halls/*.toml"]\nsigning_key = "nope.key"', 1))
    assert main(["--config", str(central), "--db", f"sqlite:///{tmp_path}/c.db"]) == 2
    err = capsys.readouterr().err
    assert "nope.key" in err and "cannot read the signing key" in err
