"""The urgent lane over real Tor: time from "send" on the no-JavaScript form to the duty
officer's alert (``aryz duty watch``'s hook running), in a private Tor network on this
machine (tests/onion/network.py).

``aryz serve`` publishes the intake and staff onions; ``aryz duty watch`` runs inside the
network with the courier credential (client-authorised to the staff onion) and a hook that
notes the time it ran; a browser with JavaScript off (tests/onion/browser_form.py) sends
``--runs`` reports with the urgent consent one after another. For each, the latency is the
hook's time minus the moment "send" was pressed (one clock: the same machine). Each send
waits a random part of the interval first, so sends fall anywhere between two polls.

The watch polls every ``--interval`` seconds (5 here, so the run is short; the default is
60 s): a report waits on average half an interval, at most one, for the next poll. The
baseline is the "send" itself (the form post through Tor, sealing both records included).

    python -m tests.benchmarks.bench_urgent [--runs 10] [--interval 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from service.server.cli.demo import write_demo_registry
from service.server.storage import migrate
from tests.benchmarks.report import Table, ratio, say
from tests.onion.deployment import OnionDeployment
from tests.onion.keyfiles import read_client_private_file
from tests.onion.network import PrivateTorNetwork

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {
    "narrative.text": "Benchmark: held since last night.",
    "country": "KZ",
    "urgent.shown": "1",
    "urgent.consent": "yes",
    "urgent.region": "KZ-75",
    "urgent.place_type": "ivs",
    "urgent.since": "last night",
    "urgent.needs": ["lawyer"],
}


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.9 * len(ordered)) - 1)]


def _send(network: PrivateTorNetwork, deployment: OnionDeployment) -> tuple[float, float]:
    result = network.run(
        [
            sys.executable,
            "-m",
            "tests.onion.browser_form",
            "send",
            deployment.intake_host,
            str(deployment.client.socks_port),
            json.dumps(FIELDS),
        ],
        {**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    pressed, took = result.stdout.split()[1:3]
    return float(pressed), float(took)


def _alerts(path: Path) -> list[float]:
    if not path.exists():
        return []
    return [float(line) for line in path.read_text().split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    say(f"Urgent lane over Tor: Python {platform.python_version()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="aryz-bench-urgent-") as tmp:
        work = Path(tmp)
        write_demo_registry(work / "registry")
        registry = work / "registry" / "registry.toml"
        started = time.perf_counter()
        network = PrivateTorNetwork.start()
        say(f"private Tor network up in {time.perf_counter() - started:.1f} s")
        watch = None
        try:
            onion_dir = work / "onion"
            onion_dir.mkdir()
            url = f"sqlite:///{onion_dir / 'aryz.sqlite3'}"
            migrate.upgrade(url)
            deployment = OnionDeployment(network, onion_dir, url, registry)
            auth = work / "courier.auth_private"
            added = deployment.aryz("onion", "client", "add", "kz-courier", "--out", str(auth))
            if added.returncode != 0:
                raise RuntimeError(added.stderr)
            deployment.start()
            try:
                # As the end-to-end test does: the staff descriptor is out (tor answers
                # "client authorisation missing") before the courier's key is added.
                deployment.wait_reachable(deployment.staff_host, want=0xF4)
                service_id, secret = read_client_private_file(auth)
                with deployment.client.control() as control:
                    control.add_client_auth(service_id, secret, permanent=True)
                for host in (deployment.staff_host, deployment.intake_host):
                    code = deployment.wait_reachable(host)
                    if code != 0:
                        raise RuntimeError(f"an onion did not answer (SOCKS {code:#04x})")
                alerts = work / "alerts.txt"
                keys = work / "registry"
                watch = network.popen(
                    [
                        sys.executable, "-m", "service", "duty", "watch",
                        "--key", str(keys / "duty-keys" / "kz-coalition.json"),
                        "--dir", str(work / "duty"),
                        "--server", f"http://{deployment.staff_host}",
                        "--credential", str(keys / "couriers" / "kz-coalition.json"),
                        "--proxy", deployment.socks_url,
                        "--interval", str(args.interval),
                        "--on-urgent", f"sh -c 'cat >/dev/null; date +%s.%N >> {alerts}'",
                    ],
                    {**os.environ, **deployment.env},
                    work / "watch.stdout",
                    work / "watch.stderr",
                )  # fmt: skip
                latencies: list[float] = []
                sends: list[float] = []
                phases = random.Random(17)  # noqa: S311 - timing jitter, not a secret
                for run in range(args.runs):
                    # A person does not press "send" in step with the watch's polls: a
                    # random wait spreads the sends over the interval (seeded, repeatable).
                    time.sleep(phases.uniform(0, args.interval))
                    pressed, took = _send(network, deployment)
                    sends.append(took)
                    deadline = time.monotonic() + 3 * args.interval + 120
                    while len(_alerts(alerts)) <= run:
                        if time.monotonic() > deadline or watch.poll() is not None:
                            raise RuntimeError(
                                "no alert: " + (work / "watch.stderr").read_text()[-2000:]
                            )
                        time.sleep(0.05)  # waiting for the hook; bounded by the deadline
                    latencies.append(_alerts(alerts)[run] - pressed)
                    say(f"run {run + 1}: alert {latencies[-1]:.2f} s after send")
            finally:
                if watch is not None:
                    watch.terminate()
                    watch.wait(timeout=20)
                deployment.stop()
        finally:
            network.stop()
    send_median = statistics.median(sends)
    table = Table()
    table.section("baseline: the no-JavaScript form's send through Tor (both seals included)")
    table.add("send, median", f"{send_median:.2f} s", "1.000x")
    table.add("send, p90", f"{p90(sends):.2f} s", ratio(p90(sends), send_median))
    table.section(f"send -> duty watch alert (hook ran), polling every {args.interval:g} s")
    table.add(
        f"median of {args.runs}",
        f"{statistics.median(latencies):.2f} s",
        ratio(statistics.median(latencies), send_median),
    )
    table.add(f"p90 of {args.runs}", f"{p90(latencies):.2f} s", ratio(p90(latencies), send_median))
    table.add("fastest", f"{min(latencies):.2f} s", ratio(min(latencies), send_median))
    say(table.render())
    say(
        "With the default 60 s interval, add on average 30 s (at most 60 s) of waiting "
        "for the next poll in place of the figures' share of the short interval."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
