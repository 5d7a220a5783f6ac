"""What ``onion.balance`` writes for Onionbalance: the backend torrc from the shipped
template, ``ob_config``, and the front's ``config.yaml`` (read back with PyYAML, as
Onionbalance reads it). The same files run for real in ``test_onionbalance.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from onion.balance import backend_torrc, write_balancer_config, write_ob_config
from onion.errors import OnionKeyError
from onion.keys import create_key, load_key
from onion.torrc import check_torrc, parse
from tests.support import run_aryz

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "tor" / "onionbalance"


def test_backend_torrc_keeps_the_template_and_places_this_backend(tmp_path: Path) -> None:
    template = parse((TEMPLATE / "backend.torrc").read_text())
    lines = backend_torrc(template, tmp_path / "inst", tmp_path / "intake.sock")
    assert ("HiddenServiceDir", str(tmp_path / "inst")) in lines
    assert ("HiddenServicePort", f"80 unix:{tmp_path / 'intake.sock'}") in lines
    assert ("HiddenServiceOnionBalanceInstance", "1") in lines
    assert ("HiddenServicePoWDefensesEnabled", "1") in lines  # the defence is on backends
    check_torrc(lines, allow_public=True)  # no single-hop, v3 only
    with pytest.raises(OnionKeyError):
        backend_torrc([k for k in template if k[0] != "HiddenServiceOnionBalanceInstance"],
                      tmp_path / "inst", tmp_path / "s")  # fmt: skip


def test_balancer_config_reads_as_onionbalance_reads_it(tmp_path: Path) -> None:
    master = create_key(tmp_path / "master")
    instances = [create_key(tmp_path / f"i{n}").hostname for n in (1, 2)]
    out = tmp_path / "config.yaml"
    assert write_balancer_config(out, tmp_path / "master", instances) == master.hostname
    assert out.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(out.read_text())
    (service,) = config["services"]
    assert service["key"] == str(tmp_path / "master" / "hs_ed25519_secret_key")
    assert [i["address"] for i in service["instances"]] == instances
    with pytest.raises(OnionKeyError):
        write_balancer_config(out, tmp_path / "master", [*instances] * 5)  # over 8
    with pytest.raises(OnionKeyError):
        write_balancer_config(out, tmp_path / "master", ["x.onion"])


def test_the_commands_write_an_instance_and_the_front_config(tmp_path: Path) -> None:
    master = create_key(tmp_path / "master").hostname
    made = run_aryz("onion", "instance", str(tmp_path / "inst"), "--master", master)
    assert made.returncode == 0, made.stderr
    instance = load_key(tmp_path / "inst").hostname
    assert instance in made.stdout
    ob_config = (tmp_path / "inst" / "ob_config").read_text()
    assert ob_config == f"MasterOnionAddress {master}\n"
    out, master_dir = str(tmp_path / "c.yaml"), str(tmp_path / "master")
    balanced = run_aryz("onion", "balance", "--instance", instance, "--out", out,
                        "--master-dir", master_dir)  # fmt: skip
    assert balanced.returncode == 0, balanced.stderr
    assert master in balanced.stdout
    with pytest.raises(OnionKeyError):
        write_ob_config(tmp_path / "inst", "not-an-onion")
