"""Benchmark: Aryz against its anchors — raw libsodium, SecureDrop's GnuPG, and the KDFs
of SecureDrop and GlobaLeaks — in one run on one machine.

Run from the repository root::

    .venv/bin/python -m tests.benchmarks.bench_anchors               # 1 GiB (the default)
    .venv/bin/python -m tests.benchmarks.bench_anchors --size-mib 64 # a quick run

Figures, not verdicts: every sealing throughput is set against raw libsodium secretstream
measured in the same run (the physical limit of this machine for this cipher), every
derivation against Aryz's own. Nothing is asserted against a time; what can fail is
correctness: the GnuPG output is decrypted once and its SHA-256 compared with the source.

What the anchors are, from their sources (read, not copied):

* SecureDrop, up to its move to Sequoia (``securedrop/crypto_util.py``, ``CryptoUtil.encrypt``):
  python-gnupg ``gpg.encrypt(stream, fingerprint, always_trust=True, armor=False)`` to the
  journalist's key, which must be RSA of at least 4096 bits; no cipher or compression
  option, so gpg's defaults (here: AES-256, the key's first compression preference, ZLIB
  at level 6). Current SecureDrop (``redwood/src/lib.rs``, ``encrypt``) uses Sequoia
  instead: armoured, uncompressed. ``gpg --compress-algo none`` below is the nearest gpg
  equivalent of that (without the armour, which only adds a third to the size).
* SecureDrop's codename hash: scrypt N=2^14, r=8, p=1 (``hash_codename``; a login derives
  two such hashes, with the id pepper and the key pepper).
* GlobaLeaks (``backend/globaleaks/utils/crypto.py``, ``_GCE.ALGORITM_CONFIGURATION``):
  Argon2id with ``memlimit = 1 << 27`` (128 MiB) and ``opslimit = 16`` for
  ``hash_password``; ``derive_key`` uses the same memory and ``opslimit + 1`` (17). Both
  through PyNaCl ``argon2id.kdf``, like Aryz.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import nacl
from nacl.pwhash import argon2id

from service.common.crypto.envelope import CHUNK_SIZE
from service.common.crypto.keys import generate_box_keypair
from service.common.crypto.token import PRODUCTION_LIMITS, derive, generate_token
from service.field.client import READ_SIZE, seal_file
from tests.benchmarks.bench_intake import (
    MIB,
    bench_raw_secretstream,
    bench_sealer,
    write_plaintext,
)
from tests.benchmarks.report import Table, rate, ratio, say, timed

FULL_MIB = 1024
REPEATS = 3  # in-memory runs: best of three, interleaved
GPG_TIMEOUT = 1800.0  # seconds; a bound, not an expectation
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
GLOBALEAKS_MEMLIMIT = 1 << 27
GLOBALEAKS_HASH_OPSLIMIT = 16
GLOBALEAKS_KDF_OPSLIMIT = 17


# --- GnuPG -----------------------------------------------------------------------------


class Gpg:
    """gpg with a throwaway home directory and one fresh RSA-4096 encryption key."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(mode=0o700)
        self.run(
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Aryz benchmark <bench@example.invalid>",
            "rsa4096",
            "sign,encr",
            "never",
        )
        listing = self.run("--with-colons", "--list-keys").stdout
        self.fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--quiet", *args],
            capture_output=True,
            text=True,
            timeout=GPG_TIMEOUT,
            check=True,
            env={**os.environ, "GNUPGHOME": str(self.home)},
        )

    def encrypt(self, source: Path, out: Path, *options: str) -> float:
        """Seconds for ``gpg --encrypt`` as SecureDrop called it (binary, trusted key)."""
        with timed() as elapsed:
            self.run(
                "--trust-model",
                "always",
                *options,
                "--recipient",
                self.fingerprint,
                "--output",
                str(out),
                "--encrypt",
                str(source),
            )
        return elapsed()

    def decrypt_sha256(self, sealed: Path) -> str:
        out = sealed.with_suffix(".plain")
        self.run(
            "--pinentry-mode", "loopback", "--passphrase", "", "-o", str(out), "-d", str(sealed)
        )
        digest = file_sha256(out)
        out.unlink()
        return digest

    def stop_agent(self) -> None:
        subprocess.run(
            ["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"],
            capture_output=True,
            check=False,
            timeout=30,
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(MIB):
            digest.update(block)
    return digest.hexdigest()


# --- derivations -----------------------------------------------------------------------


def median_ms(work: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        with timed() as elapsed:
            work()
        samples.append(elapsed() * 1000)
    return statistics.median(samples)


def derivations(runs: int) -> list[tuple[str, float, int]]:
    """(label, median ms, memory per derivation in bytes) for each scheme."""
    salt = os.urandom(argon2id.SALTBYTES)
    secret = generate_token().encode()

    def aryz() -> object:
        return derive(generate_token(), PRODUCTION_LIMITS)

    def scrypt() -> object:
        return hashlib.scrypt(secret, salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)

    def globaleaks(opslimit: int) -> Callable[[], object]:
        return lambda: argon2id.kdf(
            32, secret, salt, opslimit=opslimit, memlimit=GLOBALEAKS_MEMLIMIT
        )

    return [
        (
            f"Aryz token: Argon2id {PRODUCTION_LIMITS.memlimit // MIB} MiB, "
            f"{PRODUCTION_LIMITS.opslimit} passes",
            median_ms(aryz, runs),
            PRODUCTION_LIMITS.memlimit,
        ),
        (
            "SecureDrop codename: scrypt N=2^14, r=8, p=1",
            median_ms(scrypt, runs),
            128 * SCRYPT_N * SCRYPT_R * SCRYPT_P,
        ),
        (
            f"GlobaLeaks hash_password: Argon2id 128 MiB, {GLOBALEAKS_HASH_OPSLIMIT} passes",
            median_ms(globaleaks(GLOBALEAKS_HASH_OPSLIMIT), runs),
            GLOBALEAKS_MEMLIMIT,
        ),
        (
            f"GlobaLeaks derive_key: Argon2id 128 MiB, {GLOBALEAKS_KDF_OPSLIMIT} passes",
            median_ms(globaleaks(GLOBALEAKS_KDF_OPSLIMIT), runs),
            GLOBALEAKS_MEMLIMIT,
        ),
    ]


# --- main ------------------------------------------------------------------------------


def sealing(table: Table, work: Path, size_mib: int) -> bool:
    """Fill the sealing half of the table; return whether the gpg round trip verified."""
    size = size_mib * MIB
    block = os.urandom(CHUNK_SIZE)
    piece = block * (READ_SIZE // CHUNK_SIZE)
    raw_runs, sealer_runs = [], []
    for _ in range(REPEATS):
        raw_runs.append(bench_raw_secretstream(block, size // CHUNK_SIZE))
        sealer_runs.append(bench_sealer(piece, size // READ_SIZE))
    base = size_mib / min(raw_runs)

    source = work / "plaintext.bin"
    source_sha256 = write_plaintext(source, size_mib)
    coalition = {"keys": [{"public_key": generate_box_keypair().public.hex()}]}
    secrets = derive(generate_token(), PRODUCTION_LIMITS)
    with timed() as seal_elapsed:
        sealed = seal_file(source, coalition, secrets, work)
    sealed_mib = sealed.stat().st_size / MIB
    sealed.unlink()

    table.section(f"sealing a {size_mib} MiB file (random bytes, as photos and video are)")
    table.add(
        f"raw secretstream push, in memory (best of {REPEATS})",
        rate(size_mib, min(raw_runs)),
        "1.000x",
    )
    table.add(
        f"Aryz Sealer, in memory (best of {REPEATS})",
        rate(size_mib, min(sealer_runs)),
        ratio(size_mib / min(sealer_runs), base),
    )
    table.add(
        "Aryz seal_file, file to file",
        rate(size_mib, seal_elapsed()),
        ratio(size_mib / seal_elapsed(), base),
    )
    table.add("  output size", f"{sealed_mib:,.1f} MiB")

    gpg = Gpg(work / "gnupg")
    try:
        verified = True
        for label, options in (
            ("gpg --encrypt, default compression (SecureDrop before Sequoia)", ()),
            ("gpg --encrypt --compress-algo none", ("--compress-algo", "none")),
        ):
            out = work / "sealed.gpg"
            seconds = gpg.encrypt(source, out, *options)
            table.add(label, rate(size_mib, seconds), ratio(size_mib / seconds, base))
            table.add("  output size", f"{out.stat().st_size / MIB:,.1f} MiB")
            if not options:  # one decryption proves the file was really encrypted
                verified = gpg.decrypt_sha256(out) == source_sha256
            out.unlink()
    finally:
        gpg.stop_agent()
    source.unlink()
    say(f"baseline (raw secretstream) = {base:,.1f} MiB/s")
    return verified


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=FULL_MIB, help=f"default {FULL_MIB}")
    parser.add_argument("--kdf-runs", type=int, default=5, help="derivations per scheme")
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.kdf_runs < 1:
        parser.error("sizes and counts must be positive")
    if shutil.which("gpg") is None:
        parser.error("gpg is not installed")
    version = subprocess.run(["gpg", "--version"], capture_output=True, text=True, check=True)
    say(
        f"Aryz anchors benchmark: {args.size_mib} MiB, Python {platform.python_version()}, "
        f"PyNaCl {nacl.__version__}, {version.stdout.splitlines()[0]}, {os.cpu_count()} CPUs"
    )
    table = Table()
    with timed() as total, tempfile.TemporaryDirectory(prefix="aryz-anchors-") as tmp:
        verified = sealing(table, Path(tmp), args.size_mib)
        results = derivations(args.kdf_runs)
        table.section(f"deriving a secret from what the person holds (median of {args.kdf_runs})")
        aryz_ms = results[0][1]
        for label, ms, memory in results:
            table.add(label, f"{ms:,.0f} ms, {memory / MIB:,.0f} MiB", ratio(ms, aryz_ms))
    say()
    say(table.render())
    say()
    say("Sealing ratios are against raw secretstream; derivation ratios against Aryz's.")
    say(f"total run time {total():.0f} s")
    if not verified:
        say("FAILED: the gpg output did not decrypt to the source file")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
