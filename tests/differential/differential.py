#!/usr/bin/env python3
"""Differential test of `aetherctl crypto` against independent implementations.

Fresh random inputs every run (seeded from os.urandom unless --seed is given; the seed is
printed first so any run can be replayed with --seed N):

  Ed25519  vs libsodium (PyNaCl): pubkey and signature byte-identical, libsodium accepts
           our signatures, we accept libsodium's; corrupted signature / message / key
           (one random bit flipped) and wrong key: decisions compared.
  BLS      vs py_ecc G2ProofOfPossession: SkToPk, Sign and Aggregate byte-identical,
           Verify and FastAggregateVerify decisions compared on valid and corrupted input.
  KZG      vs c-kzg's Python binding (ckzg), setup from ../shared/vectors/kzg: commitment
           and blob proof byte-identical, verify decisions (and rejections of malformed
           field elements / points) compared.
  VRF      vs a small pure-Python ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381) written here,
           itself checked against RFC 9381 appendix B.3 before use: pi, beta, decisions.

All requests go through one `aetherctl crypto --batch 64` process. Malformed lines are
mixed in; each must yield {"error": ...} without disturbing the following answers.

Exit status 0 only if every case agrees; the last line is always
`differential: N passed, M failed`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import ckzg
import nacl.exceptions
import nacl.signing
from py_ecc.bls import G2ProofOfPossession as PyEccBls
from py_ecc.bls.g2_primitives import (
    G1_to_pubkey,
    pubkey_to_G1,
    signature_to_G2,
    subgroup_check,
)
from py_ecc.optimized_bls12_381 import neg

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SETUP = REPO_ROOT.parent / "shared" / "vectors" / "kzg" / "trusted_setup.txt"
BATCH = 64

BLS_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
FIELD_ELEMENTS_PER_BLOB = 4096


# ---------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    """One request line and what its answer must be."""

    label: str
    line: bytes
    # Returns None when the answer agrees, else a description of the disagreement.
    check: Callable[[Any], str | None]
    # For the failure report: what the reference expected.
    expected: Any


def request(op: str, **fields: Any) -> bytes:
    return json.dumps({"op": op, **fields}, separators=(",", ":")).encode()


def expect_exact(expected: dict) -> Callable[[Any], str | None]:
    def check(answer: Any) -> str | None:
        return None if answer == expected else "answer differs from the reference"

    return check


def expect_error() -> Callable[[Any], str | None]:
    def check(answer: Any) -> str | None:
        if isinstance(answer, dict) and set(answer) == {"error"} and isinstance(answer["error"], str):
            return None
        return 'expected {"error": "..."}'

    return check


def expect_outcome(outcome: tuple) -> Callable[[Any], str | None]:
    """outcome is ("valid", bool) or ("error",): the reference returned or raised."""
    if outcome[0] == "error":
        return expect_error()
    return expect_exact({"valid": outcome[1]})


def flip_bit(data: bytes, rng: random.Random, bit: int | None = None) -> bytes:
    if bit is None:
        bit = rng.randrange(len(data) * 8)
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def random_message(rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    length = [0, 1, rng.randint(2, 64), rng.randint(65, 512), rng.randint(513, 4096)][kind]
    return rng.randbytes(length)


def changed_message(message: bytes, rng: random.Random) -> bytes:
    return flip_bit(message, rng) if message else b"\x00"


def shorten(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# ---------------------------------------------------------------------------------------
# Ed25519 vs libsodium


def sodium_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def ed25519_cases(rng: random.Random, count: int) -> tuple[list[Case], list[Case]]:
    """Returns (verifications that must open the input, the other cases)."""
    cases: list[Case] = []
    keys = []
    for _ in range(count):
        seed = rng.randbytes(32)
        signing = nacl.signing.SigningKey(seed)
        keys.append((seed, bytes(signing.verify_key), signing))

    verifies: list[Case] = []
    for index, (seed, public_key, signing) in enumerate(keys):
        message = random_message(rng)
        signature = signing.sign(message).signature
        tag = f"ed25519 key {index} (msg {len(message)} B)"

        cases.append(Case(f"{tag}: pubkey vs libsodium", request("ed25519_pubkey", secret=seed.hex()),
                          expect_exact({"pubkey": public_key.hex()}), public_key.hex()))

        def check_sign(answer: Any, public_key=public_key, message=message, signature=signature) -> str | None:
            if answer != {"sig": signature.hex()}:
                return "signature differs from libsodium's"
            return None

        cases.append(Case(f"{tag}: sign byte-identical to libsodium, libsodium accepts ours",
                          request("ed25519_sign", secret=seed.hex(), msg=message.hex()),
                          check_sign, signature.hex()))

        def verify_case(label: str, key: bytes, msg: bytes, sig: bytes) -> Case:
            decision = sodium_verify(key, msg, sig)
            return Case(f"{tag}: verify {label} (libsodium: {decision})",
                        request("ed25519_verify", pubkey=key.hex(), msg=msg.hex(), sig=sig.hex()),
                        expect_exact({"valid": decision}), {"valid": decision})

        verifies.append(verify_case("libsodium's signature", public_key, message, signature))
        for extra in range(3):  # more valid items, so that whole batches of valid ones exist
            extra_message = random_message(rng)
            verifies.append(verify_case(f"libsodium's signature on extra msg {extra} ({len(extra_message)} B)",
                                        public_key, extra_message, signing.sign(extra_message).signature))
        verifies.append(verify_case("flipped signature bit", public_key, message, flip_bit(signature, rng)))
        verifies.append(verify_case("changed message", public_key, changed_message(message, rng), signature))
        verifies.append(verify_case("flipped pubkey bit", flip_bit(public_key, rng), message, signature))
        other = keys[(index + 1) % len(keys)][1]
        if other != public_key:
            verifies.append(verify_case("under another key", other, message, signature))

    # The verifications are laid out so that, with --batch 64 and stdin read from a file
    # (batches then close only every 64 verifications or at 1 MiB input boundaries), the
    # first batch holds only valid signatures (combined check succeeds), the second holds
    # one invalid signature among valid ones (the backend must isolate it), and the rest
    # is a random mixture.
    valid = [case for case in verifies if case.expected == {"valid": True}]
    invalid = [case for case in verifies if case.expected != {"valid": True}]
    first = min(BATCH, len(valid) // 2)
    second = valid[first:first + BATCH - 1]
    second.insert(rng.randrange(len(second) + 1), invalid.pop(rng.randrange(len(invalid))))
    rest = valid[first + BATCH - 1:] + invalid
    rng.shuffle(rest)
    return valid[:first] + second, cases + rest


def ed25519_post_checks(case: Case, answer: Any) -> str | None:
    """libsodium must accept the signature aetherctl produced (even if bytes differ)."""
    if not case.label.endswith("libsodium accepts ours") or not isinstance(answer, dict):
        return None
    request_fields = json.loads(case.line)
    seed = bytes.fromhex(request_fields["secret"])
    message = bytes.fromhex(request_fields["msg"])
    try:
        signature = bytes.fromhex(answer.get("sig", ""))
    except ValueError:
        return "sig is not hex"
    public_key = bytes(nacl.signing.SigningKey(seed).verify_key)
    if len(signature) != 64 or not sodium_verify(public_key, message, signature):
        return "libsodium rejects aetherctl's signature"
    return None


# ---------------------------------------------------------------------------------------
# BLS vs py_ecc


def raised_or_returned(function: Callable[[], Any]) -> tuple:
    try:
        return ("ok", function())
    except Exception as error:  # py_ecc: ValidationError, ValueError...; ckzg: RuntimeError
        return ("error", type(error).__name__)


def bls_cases(rng: random.Random, key_count: int) -> list[Case]:
    cases: list[Case] = []
    secrets = [rng.randrange(1, BLS_ORDER) for _ in range(key_count)]
    public_keys = [PyEccBls.SkToPk(secret) for secret in secrets]
    common_message = random_message(rng)
    common_signatures = []

    def verify_case(label: str, key: bytes, msg: bytes, sig: bytes) -> Case:
        decision = PyEccBls.Verify(key, msg, sig)
        return Case(f"{label} (py_ecc: {decision})",
                    request("bls_verify", pubkey=key.hex(), msg=msg.hex(), sig=sig.hex()),
                    expect_exact({"valid": decision}), {"valid": decision})

    for index, (secret, public_key) in enumerate(zip(secrets, public_keys)):
        secret_hex = secret.to_bytes(32, "big").hex()
        message = random_message(rng)
        signature = PyEccBls.Sign(secret, message)
        common_signatures.append(PyEccBls.Sign(secret, common_message))
        tag = f"bls key {index} (msg {len(message)} B)"
        cases.append(Case(f"{tag}: SkToPk", request("bls_pubkey", secret=secret_hex),
                          expect_exact({"pubkey": public_key.hex()}), public_key.hex()))
        cases.append(Case(f"{tag}: Sign", request("bls_sign", secret=secret_hex, msg=message.hex()),
                          expect_exact({"sig": signature.hex()}), signature.hex()))
        cases.append(Case(f"{tag}: Sign (common msg)", request("bls_sign", secret=secret_hex, msg=common_message.hex()),
                          expect_exact({"sig": common_signatures[-1].hex()}), common_signatures[-1].hex()))
        cases.append(verify_case(f"{tag}: Verify valid", public_key, message, signature))
        sig_bit = rng.randrange(96 * 8)
        cases.append(verify_case(f"{tag}: Verify sig bit {sig_bit} flipped", public_key, message,
                                 flip_bit(signature, rng, sig_bit)))
        cases.append(verify_case(f"{tag}: Verify changed message", public_key, changed_message(message, rng), signature))
        key_bit = rng.randrange(48 * 8)
        cases.append(verify_case(f"{tag}: Verify pubkey bit {key_bit} flipped", flip_bit(public_key, rng, key_bit),
                                 message, signature))
        other = public_keys[(index + 1) % key_count]
        cases.append(verify_case(f"{tag}: Verify under another key", other, message, signature))

    # Secret-key range: 0 and >= r are rejected by py_ecc; r - 1 is the largest valid key.
    for label, secret in [("sk = 0", 0), ("sk = r", BLS_ORDER), ("sk = 2^256-1", 2**256 - 1), ("sk = r-1", BLS_ORDER - 1)]:
        outcome = raised_or_returned(lambda secret=secret: PyEccBls.SkToPk(secret))
        expected = expect_error() if outcome[0] == "error" else expect_exact({"pubkey": outcome[1].hex()})
        cases.append(Case(f"bls SkToPk {label} (py_ecc: {outcome[0]})",
                          request("bls_pubkey", secret=secret.to_bytes(32, "big").hex()), expected, outcome))

    # Aggregate.
    aggregate = PyEccBls.Aggregate(common_signatures)
    cases.append(Case(f"bls Aggregate of {key_count}", request("bls_aggregate", sigs=[s.hex() for s in common_signatures]),
                      expect_exact({"sig": aggregate.hex()}), aggregate.hex()))
    single = PyEccBls.Aggregate(common_signatures[:1])
    cases.append(Case("bls Aggregate of 1", request("bls_aggregate", sigs=[common_signatures[0].hex()]),
                      expect_exact({"sig": single.hex()}), single.hex()))
    outcome = raised_or_returned(lambda: PyEccBls.Aggregate([]))
    cases.append(Case(f"bls Aggregate of 0 (py_ecc: {outcome[0]})", request("bls_aggregate", sigs=[]),
                      expect_error() if outcome[0] == "error" else expect_exact({"sig": outcome[1].hex()}), outcome))
    # Aggregate with one corrupted input. The IETF Aggregate (and py_ecc) only decompress
    # (on-curve check); aetherctl parses signatures with blst's subgroup check. Where the
    # flipped point is on the curve but outside G2 the two deliberately differ, so the
    # reference for that sub-case is "py_ecc Aggregate after py_ecc's subgroup_check".
    corrupt_bit = rng.randrange(96 * 8)
    corrupted = flip_bit(common_signatures[-1], rng, corrupt_bit)
    outcome = raised_or_returned(lambda: PyEccBls.Aggregate(common_signatures[:-1] + [corrupted]))
    note = ""
    if outcome[0] == "ok" and not subgroup_check(signature_to_G2(corrupted)):
        outcome = ("error", "not in G2 (py_ecc Aggregate itself would accept it)")
        note = ", off-subgroup point: reference adds subgroup_check"
    cases.append(Case(f"bls Aggregate with sig bit {corrupt_bit} flipped (py_ecc: {outcome[0]}{note})",
                      request("bls_aggregate", sigs=[s.hex() for s in common_signatures[:-1] + [corrupted]]),
                      expect_error() if outcome[0] == "error" else expect_exact({"sig": outcome[1].hex()}), outcome))

    # FastAggregateVerify.
    def fav_case(label: str, keys: list[bytes], msg: bytes, sig: bytes) -> Case:
        decision = PyEccBls.FastAggregateVerify(keys, msg, sig)
        return Case(f"bls FastAggregateVerify {label} (py_ecc: {decision})",
                    request("bls_fast_aggregate_verify", pubkeys=[k.hex() for k in keys], msg=msg.hex(), sig=sig.hex()),
                    expect_exact({"valid": decision}), {"valid": decision})

    cases.append(fav_case(f"all {key_count} signers", public_keys, common_message, aggregate))
    shuffled = public_keys[:]
    rng.shuffle(shuffled)
    cases.append(fav_case("all signers, keys shuffled", shuffled, common_message, aggregate))
    cases.append(fav_case("one signer missing", public_keys[:-1], common_message, aggregate))
    cases.append(fav_case("one extra key (signer listed twice)", public_keys + public_keys[:1], common_message, aggregate))
    cases.append(fav_case("wrong message", public_keys, changed_message(common_message, rng), aggregate))
    cases.append(fav_case("no keys", [], common_message, aggregate))
    cases.append(fav_case("a pubkey bit flipped", public_keys[:-1] + [flip_bit(public_keys[-1], rng)],
                          common_message, aggregate))
    cancelling = [public_keys[0], G1_to_pubkey(neg(pubkey_to_G1(public_keys[0])))]
    cases.append(fav_case("keys summing to infinity", cancelling, common_message, common_signatures[0]))
    return cases


# ---------------------------------------------------------------------------------------
# KZG vs ckzg


def random_blob(rng: random.Random) -> bytes:
    elements = []
    for _ in range(FIELD_ELEMENTS_PER_BLOB):
        if rng.random() < 0.5:
            elements.append(b"\x00" + rng.randbytes(31))
        else:
            elements.append((rng.getrandbits(256) % BLS_ORDER).to_bytes(32, "big"))
    return b"".join(elements)


def ckzg_outcome(function: Callable[[], Any]) -> tuple:
    try:
        return ("valid", bool(function()))
    except Exception as error:  # ckzg raises RuntimeError / ValueError on bad input
        return ("error", type(error).__name__)


def kzg_cases(rng: random.Random, blob_count: int, setup: Any) -> list[Case]:
    cases: list[Case] = []
    blobs = [random_blob(rng) for _ in range(blob_count)]
    commitments = [ckzg.blob_to_kzg_commitment(blob, setup) for blob in blobs]
    proofs = [ckzg.compute_blob_kzg_proof(blob, c, setup) for blob, c in zip(blobs, commitments)]

    def verify_case(label: str, blob: bytes, commitment: bytes, proof: bytes) -> Case:
        outcome = ckzg_outcome(lambda: ckzg.verify_blob_kzg_proof(blob, commitment, proof, setup))
        return Case(f"{label} (ckzg: {outcome})",
                    request("kzg_verify_blob_proof", blob=blob.hex(), commitment=commitment.hex(), proof=proof.hex()),
                    expect_outcome(outcome), outcome)

    for index, (blob, commitment, proof) in enumerate(zip(blobs, commitments, proofs)):
        tag = f"kzg blob {index}"
        other = (index + 1) % blob_count
        cases.append(Case(f"{tag}: commitment", request("kzg_commit", blob=blob.hex()),
                          expect_exact({"commitment": commitment.hex()}), commitment.hex()))
        cases.append(Case(f"{tag}: blob proof",
                          request("kzg_compute_blob_proof", blob=blob.hex(), commitment=commitment.hex()),
                          expect_exact({"proof": proof.hex()}), proof.hex()))
        cases.append(verify_case(f"{tag}: verify valid", blob, commitment, proof))
        cases.append(verify_case(f"{tag}: verify with blob {other}'s proof", blob, commitment, proofs[other]))
        cases.append(verify_case(f"{tag}: verify with blob {other}'s commitment", blob, commitments[other], proof))
        element = rng.randrange(FIELD_ELEMENTS_PER_BLOB)
        replacement = (rng.getrandbits(256) % BLS_ORDER).to_bytes(32, "big")
        changed = blob[: 32 * element] + replacement + blob[32 * element + 32:]
        cases.append(verify_case(f"{tag}: verify with element {element} changed", changed, commitment, proof))
        proof_bit = rng.randrange(48 * 8)
        cases.append(verify_case(f"{tag}: verify with proof bit {proof_bit} flipped", blob, commitment,
                                 flip_bit(proof, rng, proof_bit)))
        # A non-canonical field element (>= r): c-kzg rejects the blob.
        bad_value = rng.choice([BLS_ORDER, BLS_ORDER + rng.randrange(2**64), 2**256 - 1])
        non_canonical = blob[: 32 * element] + bad_value.to_bytes(32, "big") + blob[32 * element + 32:]
        outcome = raised_or_returned(lambda: ckzg.blob_to_kzg_commitment(non_canonical, setup))
        cases.append(Case(f"{tag}: commitment of blob with element {element} >= r (ckzg: {outcome[0]})",
                          request("kzg_commit", blob=non_canonical.hex()),
                          expect_error() if outcome[0] == "error" else expect_exact({"commitment": outcome[1].hex()}),
                          outcome))
    return cases


# ---------------------------------------------------------------------------------------
# ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite 0x03), pure Python reference

P25519 = 2**255 - 19
L25519 = 2**252 + 27742317777372353535851937790883648493
D25519 = (-121665 * pow(121666, -1, P25519)) % P25519
SQRT_M1 = pow(2, (P25519 - 1) // 4, P25519)
SUITE = b"\x03"


def _add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P25519
    b = (y1 + x1) * (y2 + x2) % P25519
    c = 2 * t1 * t2 * D25519 % P25519
    d = 2 * z1 * z2 % P25519
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P25519, g * h % P25519, f * g % P25519, e * h % P25519)


def _mul(scalar: int, point):
    result = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _neg(point):
    x, y, z, t = point
    return (-x % P25519, y, z, -t % P25519)


def _encode(point) -> bytes:
    x, y, z, _ = point
    zi = pow(z, -1, P25519)
    x, y = x * zi % P25519, y * zi % P25519
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(data: bytes):
    """RFC 8032 section 5.1.3, strict: y >= p and x = 0 with the sign bit set fail."""
    value = int.from_bytes(data, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= P25519:
        return None
    u = (y * y - 1) % P25519
    v = (D25519 * y * y + 1) % P25519
    x = u * pow(v, 3, P25519) * pow(u * pow(v, 7, P25519), (P25519 - 5) // 8, P25519) % P25519
    if v * x * x % P25519 == u:
        pass
    elif v * x * x % P25519 == (-u) % P25519:
        x = x * SQRT_M1 % P25519
    else:
        return None
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = P25519 - x
    return (x, y, 1, x * y % P25519)


def _is_identity(point) -> bool:
    x, y, z, _ = point
    return x % P25519 == 0 and (y - z) % P25519 == 0


_BASE = _decode((4 * pow(5, -1, P25519) % P25519).to_bytes(32, "little"))


def _expand(seed: bytes) -> tuple[int, bytes]:
    digest = hashlib.sha512(seed).digest()
    scalar = bytearray(digest[:32])
    scalar[0] &= 248
    scalar[31] &= 127
    scalar[31] |= 64
    return int.from_bytes(scalar, "little"), digest[32:]


def _encode_to_curve(salt: bytes, alpha: bytes):
    for counter in range(256):
        digest = hashlib.sha512(SUITE + b"\x01" + salt + alpha + bytes([counter]) + b"\x00").digest()
        point = _decode(digest[:32])
        if point is not None:
            return _mul(8, point)
    raise AssertionError("encode_to_curve failed")


def _challenge(*points) -> int:
    data = SUITE + b"\x02" + b"".join(_encode(p) for p in points) + b"\x00"
    return int.from_bytes(hashlib.sha512(data).digest()[:16], "little")


def _beta(gamma) -> bytes:
    return hashlib.sha512(SUITE + b"\x03" + _encode(_mul(8, gamma)) + b"\x00").digest()


def vrf_public_key(seed: bytes) -> bytes:
    return _encode(_mul(_expand(seed)[0], _BASE))


def vrf_prove(seed: bytes, alpha: bytes) -> tuple[bytes, bytes]:
    x, nonce_key = _expand(seed)
    public = _mul(x, _BASE)
    h = _encode_to_curve(_encode(public), alpha)
    gamma = _mul(x, h)
    k = int.from_bytes(hashlib.sha512(nonce_key + _encode(h)).digest(), "little") % L25519
    c = _challenge(public, h, gamma, _mul(k, _BASE), _mul(k, h))
    s = (k + c * x) % L25519
    return _encode(gamma) + c.to_bytes(16, "little") + s.to_bytes(32, "little"), _beta(gamma)


def vrf_verify(public_key: bytes, alpha: bytes, pi: bytes) -> bytes | None:
    public = _decode(public_key)
    if public is None or _is_identity(_mul(8, public)):
        return None
    gamma = _decode(pi[:32])
    if gamma is None:
        return None
    c = int.from_bytes(pi[32:48], "little")
    s = int.from_bytes(pi[48:80], "little")
    if s >= L25519:
        return None
    h = _encode_to_curve(public_key, alpha)
    u = _add(_mul(s, _BASE), _neg(_mul(c, public)))
    v = _add(_mul(s, h), _neg(_mul(c, gamma)))
    return _beta(gamma) if _challenge(public, h, gamma, u, v) == c else None


RFC9381_B3 = [  # (sk, pk, alpha, pi, beta), RFC 9381 appendix B.3 examples 16-18
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f479d97"
     "27d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
     "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff"
     "66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed5933bf0864a62558b3ed7f2fea45c92a465"
     "301b3bbf5e3e54ddf2d935be3b67926da3ef39226bbc355bdc9850112c8f4b02",
     "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb"
     "5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf8096bb474e53895c362d8628ee9f9ea3c0"
     "e52c7a5c691b6c18c9979866568add7a2d41b00b05081ed0f58ee5e31b3a970e",
     "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45"
     "2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f"),
]


def check_vrf_reference() -> None:
    for sk, pk, alpha, pi, beta in RFC9381_B3:
        seed, alpha_bytes = bytes.fromhex(sk), bytes.fromhex(alpha)
        assert vrf_public_key(seed).hex() == pk, "python VRF reference: pk"
        got_pi, got_beta = vrf_prove(seed, alpha_bytes)
        assert (got_pi.hex(), got_beta.hex()) == (pi, beta), "python VRF reference: prove"
        assert vrf_verify(bytes.fromhex(pk), alpha_bytes, got_pi) == got_beta, "python VRF reference: verify"


# Points no valid VRF key may be: identity, a point of order 8, y = p (non-canonical y).
VRF_BAD_KEYS = [
    ("identity", "01" + "00" * 31),
    ("order-8 point", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    ("non-canonical y = p", "ed" + "ff" * 30 + "7f"),
]


def vrf_cases(rng: random.Random, count: int) -> list[Case]:
    cases: list[Case] = []
    proofs = []
    for index in range(count):
        seed = rng.randbytes(32)
        alpha = random_message(rng)
        public_key = vrf_public_key(seed)
        pi, beta = vrf_prove(seed, alpha)
        proofs.append((public_key, alpha, pi))
        tag = f"vrf key {index} (alpha {len(alpha)} B)"

        def verify_case(label: str, key: bytes, msg: bytes, proof: bytes) -> Case:
            output = vrf_verify(key, msg, proof)
            expected = {"valid": output is not None, "beta": output.hex() if output else None}
            return Case(f"{tag}: verify {label} (reference: {output is not None})",
                        request("vrf_verify", pubkey=key.hex(), alpha=msg.hex(), pi=proof.hex()),
                        expect_exact(expected), expected)

        cases.append(Case(f"{tag}: pubkey", request("vrf_pubkey", secret=seed.hex()),
                          expect_exact({"pubkey": public_key.hex()}), public_key.hex()))
        cases.append(Case(f"{tag}: prove", request("vrf_prove", secret=seed.hex(), alpha=alpha.hex()),
                          expect_exact({"pi": pi.hex(), "beta": beta.hex()}), {"pi": pi.hex(), "beta": beta.hex()}))
        cases.append(verify_case("valid", public_key, alpha, pi))
        cases.append(verify_case("pi bit flipped", public_key, alpha, flip_bit(pi, rng)))
        cases.append(verify_case("changed alpha", public_key, changed_message(alpha, rng), pi))
        cases.append(verify_case("pubkey bit flipped", flip_bit(public_key, rng), alpha, pi))
    public_key, alpha, pi = proofs[0]
    for name, key in VRF_BAD_KEYS:
        output = vrf_verify(bytes.fromhex(key), alpha, pi)
        expected = {"valid": output is not None, "beta": output.hex() if output else None}
        cases.append(Case(f"vrf verify with {name} as public key (reference: {output is not None})",
                          request("vrf_verify", pubkey=key, alpha=alpha.hex(), pi=pi.hex()),
                          expect_exact(expected), expected))
    return cases


# ---------------------------------------------------------------------------------------
# Malformed lines


def malformed_lines(rng: random.Random) -> list[tuple[str, bytes]]:
    seed_hex = rng.randbytes(32).hex()
    return [
        ("not JSON", b"this is not json"),
        ("empty line", b""),
        ("JSON array", b"[1,2,3]"),
        ("not UTF-8", b'{"op":"ed25519_pubkey","secret":"\xff\xfe"}'),
        ("unknown op", request("no_such_op", secret=seed_hex)),
        ("missing op", json.dumps({"secret": seed_hex}).encode()),
        ("missing field", request("ed25519_sign", secret=seed_hex)),
        ("bad hex", request("ed25519_pubkey", secret="zz" * 32)),
        ("0x prefix", request("ed25519_pubkey", secret="0x" + seed_hex[2:])),
        ("short secret", request("ed25519_pubkey", secret=seed_hex[:62])),
        ("odd-length hex", request("ed25519_sign", secret=seed_hex, msg="abc")),
        ("short verify sig", request("ed25519_verify", pubkey=seed_hex, msg="", sig="00" * 63)),
        ("field of wrong type", json.dumps({"op": "bls_pubkey", "secret": 5}).encode()),
        ("bls sigs not a list", request("bls_aggregate", sigs="00" * 96)),
        ("short blob", request("kzg_commit", blob="00" * 1000)),
        ("truncated JSON", request("ed25519_pubkey", secret=seed_hex)[:-2]),
    ]


# ---------------------------------------------------------------------------------------
# Driver


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aetherctl", default=os.environ.get("AETHERCTL", str(REPO_ROOT / "target/debug/aetherctl")),
                        help="path of the aetherctl binary (default: $AETHERCTL or target/debug/aetherctl)")
    parser.add_argument("--count", type=int, default=32,
                        help="Ed25519 keys; VRF uses count/4, BLS count/10 (min 2), KZG count/16 (min 2) (default 32)")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: fresh from os.urandom)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case with its answer")
    parser.add_argument("--trusted-setup", default=str(DEFAULT_SETUP), help="c-kzg trusted_setup.txt for ckzg")
    args = parser.parse_args()
    if args.count < 2:
        parser.error("--count must be at least 2")

    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(8), "big")
    print(f"differential: seed {seed} (replay with --seed {seed} --count {args.count})", flush=True)
    rng = random.Random(seed)
    started = time.monotonic()

    aetherctl = Path(args.aetherctl)
    if not os.access(aetherctl, os.X_OK):
        print(f"differential: {aetherctl} is not an executable (build it: cargo build -p aetherctl)", file=sys.stderr)
        print("differential: 0 passed, 1 failed")
        return 2
    if not Path(args.trusted_setup).is_file():
        print(f"differential: trusted setup {args.trusted_setup} not found", file=sys.stderr)
        print("differential: 0 passed, 1 failed")
        return 2

    check_vrf_reference()
    setup = ckzg.load_trusted_setup(args.trusted_setup, 0)

    counts = {
        "ed25519": args.count,
        "bls": max(2, args.count // 10),
        "kzg": max(2, args.count // 16),
        "vrf": max(2, args.count // 4),
    }
    ed25519_head, ed25519_rest = ed25519_cases(rng, counts["ed25519"])
    groups = {
        "ed25519": ed25519_rest,
        "bls": bls_cases(rng, counts["bls"]),
        "kzg": kzg_cases(rng, counts["kzg"], setup),
        "vrf": vrf_cases(rng, counts["vrf"]),
    }
    reference_done = time.monotonic()

    # Interleave the groups and put each malformed line before a random real request
    # (so "the following line is still answered" is checked for each).
    cases: list[Case] = list(ed25519_head)
    pools = [list(group) for group in groups.values()]
    while any(pools):
        pool = rng.choice([p for p in pools if p])
        take = rng.randint(1, 8)
        cases.extend(pool[:take])
        del pool[:take]
    for label, line in malformed_lines(rng):
        position = rng.randrange(len(cases))  # always before an existing real request
        cases.insert(position, Case(f"malformed: {label}", line, expect_error(), {"error": "..."}))

    # stdin is a file, not a pipe: aetherctl then closes partial Ed25519 batches only at
    # its 1 MiB read-buffer boundaries, so a seed replays the same batches exactly.
    with tempfile.TemporaryFile() as stdin:
        for case in cases:
            stdin.write(case.line + b"\n")
        stdin.seek(0)
        run = subprocess.run([str(aetherctl), "crypto", "--batch", str(BATCH)], stdin=stdin,
                             capture_output=True, timeout=600)
    tool_done = time.monotonic()

    failures: list[str] = []
    if run.returncode != 0:
        failures.append(f"aetherctl exited with status {run.returncode}; stderr: {run.stderr.decode(errors='replace')[-2000:]}")
    answers = run.stdout.split(b"\n")
    if answers and answers[-1] == b"":
        answers.pop()
    else:
        failures.append("aetherctl output does not end with a newline")
    if len(answers) != len(cases):
        failures.append(f"aetherctl wrote {len(answers)} lines for {len(cases)} requests")

    passed = failed = 0
    by_group: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        group = case.label.split()[0].rstrip(":")
        tally = by_group.setdefault(group, [0, 0])
        if index >= len(answers):
            problem, answer = "no answer", None
        else:
            try:
                answer = json.loads(answers[index])
                problems = [p for p in (case.check(answer), ed25519_post_checks(case, answer)) if p]
                problem = "; ".join(problems) or None
            except ValueError:
                answer, problem = answers[index].decode(errors="replace"), "answer is not JSON"
        if args.verbose:
            print(f"  [{'ok' if problem is None else 'FAIL'}] {case.label}: {shorten(answer, 120)}")
        if problem is None:
            passed += 1
            tally[0] += 1
            continue
        failed += 1
        tally[1] += 1
        failures.append(
            f"case {index}: {case.label}: {problem}\n"
            f"    request:  {shorten(case.line.decode(errors='replace'))}\n"
            f"    expected: {shorten(case.expected)}\n"
            f"    got:      {shorten(answer)}"
        )

    finished = time.monotonic()
    print("differential: cases per group: "
          + ", ".join(f"{group} {p + f}" + (f" ({f} failed)" if f else "") for group, (p, f) in sorted(by_group.items())))
    print(f"differential: {len(cases)} lines through one aetherctl process; reference {reference_done - started:.1f} s, "
          f"aetherctl {tool_done - reference_done:.1f} s, total {finished - started:.1f} s")
    if failures:
        print(f"differential: DISAGREEMENT (seed {seed}, replay with --seed {seed} --count {args.count})")
        for failure in failures:
            print(failure)
        if failed == 0:
            failed = 1  # a process-level failure (exit status, line count) is a failed case too
    print(f"differential: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
