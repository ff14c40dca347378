#!/usr/bin/env python3
"""An independent verifier for signledger logs, written from docs/FORMAT.md, docs/BUNDLE.md and
docs/BACKENDS.md alone (no signledger source was read while writing it).

Python 3.11 standard library only; signatures are checked with the `openssl` command-line tool.

Inputs (detected from the path):
  * an evidence bundle directory (docs/BUNDLE.md: manifest.json, entries.jsonl, checkpoint, log.vkey)
  * a tlog-proof file (docs/BUNDLE.md "Proof files")
  * a SQLite database file as SQLiteBackend writes it (FORMAT.md §2, §2.5, §2.6, §3; BACKENDS.md)
  * a consistency proof JSON {"size1","size2","path"} (FORMAT.md §5) with --old-checkpoint/--checkpoint

Exit status: 0 everything verified; 1 verification failed (one line on stdout:
"FAIL <kind> at entry <index>: <detail>", or "at checkpoint"/"at bundle" when no entry is concerned);
2 usage, input or environment error (one line on stderr).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import decimal
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
import zlib

MAX_SAFE = 2**53 - 1
HEX_RE = re.compile(r"^[0-9a-f]*$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HASHES = {"sha256": 32, "sha512": 64, "sha3-256": 32, "sha3-512": 64}
BODY_KEYS = ["dataDigest", "id", "index", "ledger", "metadata", "prev", "timestamp", "type", "v"]
LINE_KEYS = ["body", "data", "hash", "id", "index", "salt", "signatures"]


class Failure(Exception):
    """Tampering or a failed check: exit 1."""

    def __init__(self, kind: str, where: int | str | None, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.where = where
        self.detail = detail

    def line(self) -> str:
        if isinstance(self.where, int):
            at = f"at entry {self.where}"
        elif self.where is None:
            at = "at log"
        else:
            at = f"at {self.where}"
        return f"FAIL {self.kind} {at}: {self.detail}"


class UsageError(Exception):
    """Unreadable input, bad options, missing tools: exit 2."""


# ---------------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------------


def entry_hash(alg: str, data: bytes) -> bytes:
    if alg == "sha256":
        return hashlib.sha256(data).digest()
    if alg == "sha512":
        return hashlib.sha512(data).digest()
    if alg == "sha3-256":
        return hashlib.sha3_256(data).digest()
    if alg == "sha3-512":
        return hashlib.sha3_512(data).digest()
    raise UsageError(f"unknown hash algorithm {alg!r}")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


EMPTY_ROOT = sha256(b"")


# ---------------------------------------------------------------------------------------------
# Strict JSON and RFC 8785 (JCS)
# ---------------------------------------------------------------------------------------------


class JsonError(ValueError):
    pass


def _pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise JsonError(f"duplicate member name {k!r}")
        out[k] = v
    return out


def _bad_constant(name):
    raise JsonError(f"{name} is not JSON")


def _finite_float(s: str) -> float:
    f = float(s)
    if f != f or f in (float("inf"), float("-inf")):
        raise JsonError(f"number {s} is not finite as an IEEE double")
    return f


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_float=_finite_float, parse_int=_finite_float, parse_constant=_bad_constant
)


def _check_strings(v, depth=0):
    if depth > 1000:
        raise JsonError("nesting too deep")
    if isinstance(v, str):
        for ch in v:
            if 0xD800 <= ord(ch) <= 0xDFFF:
                raise JsonError("lone surrogate in a string")
    elif isinstance(v, list):
        for x in v:
            _check_strings(x, depth + 1)
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_strings(k, depth + 1)
            _check_strings(x, depth + 1)


def parse_json(text: str | bytes):
    """Strict JSON: duplicate names, NaN/Infinity, non-finite numbers and lone surrogates rejected.
    Every number becomes a float (an IEEE double, as in ECMAScript)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonError(f"not UTF-8: {e}") from None
    try:
        v = _DECODER.decode(text)
    except JsonError:
        raise
    except (ValueError, RecursionError) as e:
        raise JsonError(str(e)) from None
    _check_strings(v)
    return v


def es_number(x: float) -> str:
    """ECMAScript Number::toString(x) for a finite double (ECMA-262 §6.1.6.1.20), as JCS requires."""
    if x != x or x in (float("inf"), float("-inf")):
        raise JsonError("non-finite number")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + es_number(-x)
    # repr() is the shortest round-tripping decimal, nearest to x (the same choice as ECMAScript).
    sign, digits, exp = decimal.Decimal(repr(x)).as_tuple()
    ds = list(digits)
    while len(ds) > 1 and ds[-1] == 0:
        ds.pop()
        exp += 1
    s = "".join(str(d) for d in ds)
    k = len(s)
    n = exp + k
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    es = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return s + "e" + es
    return s[0] + "." + s[1:] + "e" + es


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def es_string(s: str) -> str:
    """ECMAScript JSON.stringify of a string (QuoteJSONString)."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch in _ESC:
            out.append(_ESC[ch])
        elif c < 0x20 or 0xD800 <= c <= 0xDFFF:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def jcs(v) -> str:
    """RFC 8785 canonical text (as a str; encode as UTF-8 for bytes)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return es_number(float(v))
    if isinstance(v, str):
        return es_string(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        # RFC 8785 §3.2.3: member names sorted by their UTF-16 code units.
        keys = sorted(v.keys(), key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(es_string(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise JsonError(f"not a JSON value: {type(v).__name__}")


def parse_canonical(text: str | bytes, what: str):
    """Parse strictly and require the text to be exactly its own RFC 8785 form."""
    v = parse_json(text)
    t = text.decode("utf-8") if isinstance(text, bytes) else text
    if jcs(v) != t:
        raise JsonError(f"{what} is not in RFC 8785 canonical form")
    return v


def is_int(v) -> bool:
    return isinstance(v, float) and v.is_integer() and not isinstance(v, bool)


# ---------------------------------------------------------------------------------------------
# Timestamps (ECMAScript Date.prototype.toISOString)
# ---------------------------------------------------------------------------------------------


def _civil_from_days(z: int):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (1 if m <= 2 else 0), m, d)


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= 1 if m <= 2 else 0
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def iso_of_ms(ms: int) -> str:
    if not (-8.64e15 <= ms <= 8.64e15):
        raise ValueError("time out of the ECMAScript range")
    days, rem = divmod(ms, 86400000)
    y, mo, d = _civil_from_days(days)
    hh, rem = divmod(rem, 3600000)
    mi, rem = divmod(rem, 60000)
    ss, mss = divmod(rem, 1000)
    ys = f"{y:04d}" if 0 <= y <= 9999 else ("+" if y > 0 else "-") + f"{abs(y):06d}"
    return f"{ys}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}.{mss:03d}Z"


_ISO_RE = re.compile(r"^(\d{4}|[+-]\d{6})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$")


def ms_of_iso(s: str) -> int | None:
    """The ms of a toISOString() text, or None if it is not exactly one."""
    m = _ISO_RE.match(s)
    if not m:
        return None
    y = int(m.group(1))
    mo, d, hh, mi, ss, mss = (int(m.group(i)) for i in range(2, 8))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mi < 60 and ss < 60):
        return None
    ms = _days_from_civil(y, mo, d) * 86400000 + hh * 3600000 + mi * 60000 + ss * 1000 + mss
    try:
        if iso_of_ms(ms) != s:
            return None
    except ValueError:
        return None
    return ms


# ---------------------------------------------------------------------------------------------
# Base64 / hex
# ---------------------------------------------------------------------------------------------


def b64decode_strict(s: str) -> bytes:
    """RFC 4648 §4 base64 with padding, canonical (re-encodes to the same text)."""
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("not base64") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise ValueError("not canonical base64")
    return raw


def hex_of(v, length: int | None, what: str, where) -> bytes:
    if not isinstance(v, str) or not HEX_RE.match(v) or len(v) % 2:
        raise Failure("malformed_entry", where, f"{what} is not lowercase hex")
    raw = bytes.fromhex(v)
    if length is not None and len(raw) != length:
        raise Failure("malformed_entry", where, f"{what} has {len(raw)} bytes, expected {length}")
    return raw


# ---------------------------------------------------------------------------------------------
# openssl
# ---------------------------------------------------------------------------------------------

_OPENSSL_CHECKED = False


def _openssl(args: list[str], files: dict[str, bytes]) -> bool:
    global _OPENSSL_CHECKED
    if not _OPENSSL_CHECKED:
        try:
            subprocess.run(["openssl", "version"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as e:
            raise UsageError(f"the openssl command-line tool is needed for signatures: {e}") from None
        _OPENSSL_CHECKED = True
    with tempfile.TemporaryDirectory(prefix="slv-") as d:
        paths = {}
        for name, content in files.items():
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(content)
            paths[name] = p
        argv = ["openssl"] + [paths.get(a[1:], a) if a.startswith("@") else a for a in args]
        r = subprocess.run(argv, capture_output=True)
        return r.returncode == 0


def _pem(der: bytes) -> bytes:
    b = base64.b64encode(der).decode()
    lines = [b[i : i + 64] for i in range(0, len(b), 64)]
    return ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n").encode()


ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def ed25519_verify(pub32: bytes, msg: bytes, sig: bytes) -> bool:
    if len(pub32) != 32 or len(sig) != 64:
        return False
    return _openssl(
        ["pkeyutl", "-verify", "-pubin", "-inkey", "@pub.pem", "-rawin", "-in", "@msg", "-sigfile", "@sig"],
        {"pub.pem": _pem(ED25519_SPKI_PREFIX + pub32), "msg": msg, "sig": sig},
    )


# ---------------------------------------------------------------------------------------------
# Minimal DER (SubjectPublicKeyInfo, ECDSA signatures)
# ---------------------------------------------------------------------------------------------


def der_read(buf: bytes, off: int):
    """One DER TLV (definite, minimal lengths). Returns (tag, content, next offset)."""
    if off + 2 > len(buf):
        raise ValueError("truncated DER")
    tag = buf[off]
    ln = buf[off + 1]
    off += 2
    if ln & 0x80:
        n = ln & 0x7F
        if n == 0 or n > 4 or off + n > len(buf):
            raise ValueError("bad DER length")
        ln = int.from_bytes(buf[off : off + n], "big")
        if buf[off] == 0 or ln < 0x80:
            raise ValueError("non-minimal DER length")
        off += n
    if off + ln > len(buf):
        raise ValueError("truncated DER")
    return tag, buf[off : off + ln], off + ln


OID_ED25519 = bytes.fromhex("2b6570")
OID_RSA = bytes.fromhex("2a864886f70d010101")
OID_RSA_PSS = bytes.fromhex("2a864886f70d01010a")
OID_EC = bytes.fromhex("2a8648ce3d0201")
CURVES = {
    bytes.fromhex("2a8648ce3d030107"): "ecdsa-p256-sha256",
    bytes.fromhex("2b81040022"): "ecdsa-p384-sha384",
    bytes.fromhex("2b81040023"): "ecdsa-p521-sha512",
    bytes.fromhex("2b8104000a"): "ecdsa-secp256k1-sha256",
}


def _uncompressed_ec_spki(der: bytes) -> bytes:
    """FORMAT.md §2.3: an EC key id is over the SPKI with the point uncompressed (04 || X || Y)."""
    try:
        r = subprocess.run(
            ["openssl", "ec", "-pubin", "-inform", "DER", "-outform", "DER", "-conv_form", "uncompressed"],
            input=der,
            capture_output=True,
        )
    except OSError as e:
        raise UsageError(f"the openssl command-line tool is needed for compressed EC keys: {e}") from None
    if r.returncode != 0 or not r.stdout:
        raise ValueError("bad EC public key")
    return r.stdout


class PublicKey:
    def __init__(self, der: bytes, source: str):
        self.der = der
        self.source = source
        self.algorithms: list[str] = []
        tag, spki, end = der_read(der, 0)
        if tag != 0x30 or end != len(der):
            raise ValueError("not a SubjectPublicKeyInfo")
        tag, alg, off = der_read(spki, 0)
        if tag != 0x30:
            raise ValueError("not a SubjectPublicKeyInfo")
        tag, bits, _ = der_read(spki, off)
        if tag != 0x03 or not bits or bits[0] != 0:
            raise ValueError("bad public key bit string")
        tag, oid, aoff = der_read(alg, 0)
        if tag != 0x06:
            raise ValueError("bad algorithm identifier")
        if oid == OID_ED25519:
            self.algorithms = ["ed25519"]
        elif oid == OID_EC:
            tag, curve, _ = der_read(alg, aoff)
            if tag != 0x06 or curve not in CURVES:
                raise ValueError("unsupported EC curve")
            self.algorithms = [CURVES[curve]]
            if len(bits) < 2 or bits[1] != 0x04:  # compressed (02/03) or hybrid (06/07) point
                self.der = der = _uncompressed_ec_spki(der)
        elif oid in (OID_RSA, OID_RSA_PSS):
            tag, rsa, _ = der_read(bits[1:], 0)
            tag, n, _ = der_read(rsa, 0)
            self.bits = int.from_bytes(n, "big").bit_length()
            if self.bits < 2048:
                raise ValueError(f"RSA key of {self.bits} bits (FORMAT.md §2.3 requires >= 2048)")
            self.algorithms = ["rsa-pss-sha256", "rsa-pkcs1v15-sha256"]
        else:
            raise ValueError("unsupported key type")
        self.key_id = sha256(der)[:16].hex()
        self.pem = _pem(der)


def load_public_key(path: str) -> PublicKey:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UsageError(f"cannot read key {path}: {e.strerror}") from None
    m = re.search(rb"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", raw, re.S)
    try:
        der = base64.b64decode(b"".join(m.group(1).split())) if m else raw
        return PublicKey(der, path)
    except (ValueError, binascii.Error) as e:
        raise UsageError(f"{path}: not a usable SubjectPublicKeyInfo public key ({e})") from None


def strict_ecdsa_der(sig: bytes) -> bool:
    try:
        tag, seq, end = der_read(sig, 0)
        if tag != 0x30 or end != len(sig):
            return False
        off = 0
        for _ in range(2):
            tag, i, off = der_read(seq, off)
            if tag != 0x02 or not i or i[0] & 0x80:
                return False
            if len(i) > 1 and i[0] == 0 and not i[1] & 0x80:
                return False
        return off == len(seq)
    except ValueError:
        return False


DGST = {
    "ecdsa-p256-sha256": "-sha256",
    "ecdsa-p384-sha384": "-sha384",
    "ecdsa-p521-sha512": "-sha512",
    "ecdsa-secp256k1-sha256": "-sha256",
}


def verify_entry_signature(key: PublicKey, alg: str, msg: bytes, sig: bytes) -> bool:
    files = {"pub.pem": key.pem, "msg": msg, "sig": sig}
    if alg == "ed25519":
        if len(sig) != 64:
            return False
        return _openssl(
            ["pkeyutl", "-verify", "-pubin", "-inkey", "@pub.pem", "-rawin", "-in", "@msg", "-sigfile", "@sig"], files
        )
    if alg in DGST:
        if not strict_ecdsa_der(sig):
            return False
        return _openssl(["dgst", DGST[alg], "-verify", "@pub.pem", "-signature", "@sig", "@msg"], files)
    if alg == "rsa-pss-sha256":
        return _openssl(
            [
                "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
                "-sigopt", "rsa_mgf1_md:sha256", "-verify", "@pub.pem", "-signature", "@sig", "@msg",
            ],
            files,
        )  # fmt: skip
    if alg == "rsa-pkcs1v15-sha256":
        return _openssl(
            ["dgst", "-sha256", "-sigopt", "rsa_padding_mode:pkcs1", "-verify", "@pub.pem", "-signature", "@sig", "@msg"],
            files,
        )
    return False


# ---------------------------------------------------------------------------------------------
# C2SP signed notes, vkeys, checkpoints, cosignatures (FORMAT.md §4)
# ---------------------------------------------------------------------------------------------


class VerifierKey:
    def __init__(self, text: str, expect_type: int):
        text = text.strip()
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise UsageError(f"not a C2SP vkey: {text!r}")
        name, kid, b64 = parts
        if not name or any(c.isspace() for c in name) or not re.fullmatch(r"[0-9a-f]{8}", kid):
            raise UsageError(f"not a C2SP vkey: {text!r}")
        try:
            raw = b64decode_strict(b64)
        except ValueError:
            raise UsageError(f"vkey key material is not base64: {text!r}") from None
        if len(raw) != 33 or raw[0] != expect_type:
            raise UsageError(f"vkey is not an Ed25519 key of type 0x{expect_type:02x}: {text!r}")
        self.name = name
        self.type = raw[0]
        self.pub = raw[1:]
        self.key_id = sha256(name.encode() + b"\n" + raw)[:4]
        if self.key_id.hex() != kid:
            raise UsageError(f"vkey key ID {kid} does not match its name and key")


def read_vkey(arg: str, expect_type: int = 0x01) -> VerifierKey:
    if os.path.isfile(arg):
        with open(arg, encoding="utf-8") as f:
            arg = f.read()
    return VerifierKey(arg, expect_type)


class Checkpoint:
    def __init__(self, origin: str, size: int, root: bytes, text: str, cosigners: int):
        self.origin = origin
        self.size = size
        self.root = root
        self.text = text
        self.cosigners = cosigners


def open_checkpoint(
    text: str,
    key: VerifierKey,
    where: str,
    origin: str | None = None,
    witnesses: list[VerifierKey] | None = None,
    quorum: int = 0,
) -> Checkpoint:
    """C2SP signed-note v1 + tlog-checkpoint v1, signed by `key`; optional cosignature quorum."""

    def bad(detail):
        return Failure("checkpoint_invalid", where, detail)

    if not text.endswith("\n"):
        raise bad("note does not end with a newline")
    sep = text.rfind("\n\n")
    if sep < 0:
        raise bad("note has no blank line before its signatures")
    body = text[: sep + 1]
    sig_lines = text[sep + 2 : -1].split("\n")
    if "\n\n" in body:
        raise bad("note text contains a blank line")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise bad("checkpoint body has fewer than three lines")
    cp_origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]*", size_s) or int(size_s) > MAX_SAFE:
        raise bad(f"bad tree size line {size_s!r}")
    try:
        root = b64decode_strict(root_s)
    except ValueError:
        root = b""
    if len(root) != 32:
        raise bad("root hash line is not the base64 of 32 bytes")
    want_origin = origin if origin is not None else key.name
    if cp_origin != want_origin:
        raise bad(f"origin {cp_origin!r}, expected {want_origin!r}")
    body_b = body.encode("utf-8")
    log_ok = False
    cosigners = set()
    wit = {(w.name, w.key_id): w for w in (witnesses or [])}
    for ln in sig_lines:
        m = re.fullmatch(r"\u2014 (\S+) (\S+)", ln)
        if not m:
            raise bad(f"malformed signature line {ln!r}")
        name, b64 = m.group(1), m.group(2)
        try:
            raw = b64decode_strict(b64)
        except ValueError:
            raise bad(f"signature line of {name} is not base64") from None
        if len(raw) < 5:
            raise bad(f"signature line of {name} is too short")
        kid, sig = raw[:4], raw[4:]
        if name == key.name and kid == key.key_id:
            if len(sig) != 64 or not ed25519_verify(key.pub, body_b, sig):
                raise bad("the log key's signature does not verify")
            log_ok = True
        elif (name, kid) in wit:
            w = wit[(name, kid)]
            if len(sig) != 72:
                raise bad(f"cosignature of {name} is not 8 + 64 bytes")
            t = int.from_bytes(sig[:8], "big")
            msg = f"cosignature/v1\ntime {t}\n".encode() + body_b
            if not ed25519_verify(w.pub, msg, sig[8:]):
                raise bad(f"cosignature of witness {name} does not verify")
            cosigners.add(w.pub)
        # signatures by unknown keys are ignored (C2SP signed-note)
    if not log_ok:
        raise bad(f"no signature by the log key {key.name}")
    if len(cosigners) < quorum:
        raise bad(f"{len(cosigners)} valid witness cosignatures, {quorum} required")
    return Checkpoint(cp_origin, int(size_s), root, text, len(cosigners))


def read_text(path: str, what: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8") from None


# ---------------------------------------------------------------------------------------------
# RFC 9162 proofs
# ---------------------------------------------------------------------------------------------


def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, path: list[bytes]) -> bool:
    if size1 > size2:
        return False
    if size1 == size2:
        return not path and root1 == root2
    if size1 == 0:
        return not path
    if not path:
        return False
    if size1 & (size1 - 1) == 0:
        path = [root1] + path
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


class Frontier:
    """RFC 9162 compact range over [0, size): the complete subtree roots, largest first."""

    def __init__(self):
        self.stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, h: bytes):
        self.stack.append((0, h))
        self.size += 1
        while len(self.stack) >= 2 and self.stack[-1][0] == self.stack[-2][0]:
            (hh, right), (_, left) = self.stack.pop(), self.stack.pop()
            self.stack.append((hh + 1, node_hash(left, right)))

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        r = self.stack[-1][1]
        for _, h in reversed(self.stack[:-1]):
            r = node_hash(h, r)
        return r

    def nodes(self) -> bytes:
        return b"".join(h for _, h in self.stack)


# ---------------------------------------------------------------------------------------------
# Entry checks (FORMAT.md §2, §6; BUNDLE.md)
# ---------------------------------------------------------------------------------------------


class Options:
    def __init__(self, keys: list[PublicKey], require: int):
        self.ring = {k.key_id: k for k in keys}
        self.require = require


class Stats:
    def __init__(self):
        self.entries = 0
        self.signatures = 0
        self.unchecked_signatures = 0
        self.redacted: list[int] = []


class EntryChecker:
    """Streams entries in index order (FORMAT.md §6 steps 1-5 minus storage specifics)."""

    def __init__(self, ledger_id: str | None, alg: str, opts: Options):
        if alg not in HASHES:
            raise UsageError(f"unknown hash algorithm {alg!r}")
        self.ledger_id = ledger_id
        self.alg = alg
        self.opts = opts
        self.expected = 0
        self.prev: str | None = None
        self.frontier = Frontier()
        self.leaves: list[bytes] = []
        self.pending_redacted: dict[int, tuple[str, str]] = {}  # index -> (dataDigest, id)
        self.types: dict[int, str] = {}
        self.stats = Stats()
        self.watched: list[tuple[Checkpoint, str]] = []

    def watch(self, cp: Checkpoint, what: str):
        """Compare the root with this checkpoint when the stream reaches its size (§6 step 5)."""
        self.watched.append((cp, what))
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            raise Failure("tree_mismatch", 0, f"{what} of size 0 has a root other than SHA-256 of nothing")

    def check(
        self,
        index: int,
        body: bytes,
        stored_hash: bytes,
        data: bytes | None,
        salt: bytes | None,
        sigs: bytes | None,
        col_id: str | None = None,
        col_ts: int | None = None,
        check_prev: bool = True,
    ) -> dict:
        i = self.expected
        if index != i:
            raise Failure("gap" if index > i else "reorder", i, f"found entry index {index} where {i} was expected")
        # Step 2: the commitment is exactly its own RFC 8785 text with the nine members.
        try:
            c = parse_canonical(body, "the commitment (body)")
        except JsonError as e:
            raise Failure("malformed_entry", i, str(e)) from None
        if not isinstance(c, dict) or sorted(c.keys()) != sorted(BODY_KEYS):
            raise Failure("malformed_entry", i, "the commitment does not have exactly the nine members of §2.1")
        if c["v"] != 1.0 or c["v"] is True:
            raise Failure("malformed_entry", i, "commitment v is not 1")
        hlen = HASHES[self.alg]
        if not isinstance(c["dataDigest"], str) or not HEX_RE.match(c["dataDigest"]) or len(c["dataDigest"]) != 2 * hlen:
            raise Failure("malformed_entry", i, "dataDigest is not a lowercase hex digest of the ledger's algorithm")
        if not isinstance(c["id"], str) or not c["id"]:  # §2: "an opaque string"; §2.6 allows non-UUID ids
            raise Failure("malformed_entry", i, "id is not a non-empty string")
        if not is_int(c["index"]) or not 0 <= c["index"] <= MAX_SAFE:
            raise Failure("malformed_entry", i, "index is not a safe non-negative integer")
        if not isinstance(c["ledger"], str):
            raise Failure("malformed_entry", i, "ledger is not a string")
        if not isinstance(c["metadata"], dict):
            raise Failure("malformed_entry", i, "metadata is not an object")
        if c["prev"] is not None and (not isinstance(c["prev"], str) or not HEX_RE.match(c["prev"])):
            raise Failure("malformed_entry", i, "prev is neither null nor lowercase hex")
        if not isinstance(c["timestamp"], str) or ms_of_iso(c["timestamp"]) is None:
            raise Failure("malformed_entry", i, "timestamp is not an ECMAScript toISOString() text")
        if c["type"] not in ("event", "redaction"):
            raise Failure("malformed_entry", i, f"type {c['type']!r} is neither event nor redaction")
        h = entry_hash(self.alg, body)
        if h != stored_hash:
            raise Failure("hash_mismatch", i, f"{self.alg}(body) = {h.hex()}, stored {stored_hash.hex()}")
        if int(c["index"]) != i:
            raise Failure("reorder", i, f"the commitment says index {int(c['index'])}")
        if self.ledger_id is None:
            self.ledger_id = c["ledger"]
        elif c["ledger"] != self.ledger_id:
            raise Failure("ledger_mismatch", i, f"committed ledger {c['ledger']}, expected {self.ledger_id}")
        if check_prev:
            want_prev = self.prev if i > 0 else None
            if c["prev"] != want_prev:
                raise Failure("broken_link", i, f"prev {c['prev']}, previous entry's hash {want_prev}")
        if col_id is not None and col_id != c["id"]:
            raise Failure("column_mismatch", i, f"id column {col_id!r}, committed id {c['id']!r}")
        if col_ts is not None:
            try:
                col_iso = iso_of_ms(col_ts)
            except ValueError:
                col_iso = f"<out of range {col_ts}>"
            if col_iso != c["timestamp"]:
                raise Failure("column_mismatch", i, f"ts column {col_iso}, committed timestamp {c['timestamp']}")
        # Step 3: data digest, redaction.
        if (data is None) != (salt is None):
            raise Failure("data_mismatch", i, "exactly one of data and salt is erased")  # FORMAT.md §6 step 3
        data_obj = None
        if data is not None:
            if len(salt) != 32:
                raise Failure("malformed_entry", i, f"salt has {len(salt)} bytes, expected 32")
            dd = entry_hash(self.alg, salt + data).hex()
            if dd != c["dataDigest"]:
                raise Failure("data_mismatch", i, f"{self.alg}(salt || data) = {dd}, committed {c['dataDigest']}")
            try:
                data_obj = parse_canonical(data, "data")
            except JsonError as e:
                raise Failure("malformed_entry", i, str(e)) from None
            if not isinstance(data_obj, dict) or not data_obj:
                raise Failure("malformed_entry", i, "data is not a non-empty JSON object")
        else:
            if c["type"] == "redaction":
                raise Failure("malformed_entry", i, "a redaction record's data was erased")
            self.pending_redacted[i] = (c["dataDigest"], c["id"])
        if c["type"] == "redaction":
            r = data_obj.get("redacts") if data_obj else None
            if (
                not isinstance(r, dict)
                or not isinstance(data_obj.get("reason"), str)
                or sorted(data_obj.keys()) != ["reason", "redacts"]
                or sorted(r.keys()) != ["dataDigest", "id", "index"]
                or not is_int(r["index"])
            ):
                raise Failure("malformed_entry", i, "redaction record data is not {reason, redacts:{dataDigest,id,index}}")
            t = int(r["index"])
            if t >= i:
                raise Failure("malformed_entry", i, f"redaction record names a later entry {t}")
            if self.types.get(t) == "redaction":
                raise Failure("malformed_entry", i, f"redaction record names redaction record {t}")
            if t in self.pending_redacted:
                want = self.pending_redacted[t]
                if (r["dataDigest"], r["id"]) != want:
                    raise Failure(
                        "redaction_unrecorded", t, f"redaction record {i} names another digest or id for entry {t}"
                    )
                del self.pending_redacted[t]
                self.stats.redacted.append(t)
        self.types[i] = c["type"]
        # Step 4: signatures.
        if sigs is None:
            sig_text = "[]"
            records = []
        else:
            try:
                records = parse_canonical(sigs, "the signatures text")
            except JsonError as e:
                raise Failure("malformed_entry", i, str(e)) from None
            if not isinstance(records, list) or not records:
                raise Failure("malformed_entry", i, "signatures is not a non-empty array")
            sig_text = sigs.decode("utf-8")
        valid_keys = set()
        for n, rec in enumerate(records):
            if (
                not isinstance(rec, dict)
                or sorted(rec.keys()) != ["algorithm", "keyId", "value"]
                or not all(isinstance(rec[k], str) for k in rec)
            ):
                raise Failure("malformed_entry", i, f"signature record {n} is not {{algorithm, keyId, value}}")
            key = self.opts.ring.get(rec["keyId"])
            if key is None:
                if self.opts.ring:  # FORMAT.md §6 step 4 lists key_unknown among the failures
                    raise Failure("key_unknown", i, f"signature {n}: no trusted key with id {rec['keyId']}")
                self.stats.unchecked_signatures += 1
                continue
            if rec["algorithm"] not in key.algorithms:
                raise Failure(
                    "algorithm_mismatch", i, f"signature {n}: algorithm {rec['algorithm']} does not match key {key.key_id}"
                )
            try:
                sig = b64decode_strict(rec["value"])
            except ValueError:
                raise Failure("signature_invalid", i, f"signature {n} value is not base64") from None
            if not verify_entry_signature(key, rec["algorithm"], stored_hash.hex().encode("ascii"), sig):
                raise Failure("signature_invalid", i, f"signature {n} ({rec['algorithm']}, key {key.key_id}) does not verify")
            self.stats.signatures += 1
            valid_keys.add(key.der)
        # "at least n distinct keys per event" (BUNDLE.md): redaction records are not held to it (the
        # library accepts an unsigned redaction record under requireSignatures; FORMAT.md does not say).
        if self.opts.require and c["type"] == "event" and len(valid_keys) < self.opts.require:
            raise Failure(
                "signature_missing", i, f"{len(valid_keys)} valid signatures by distinct trusted keys, {self.opts.require} required"
            )
        # Step 5: leaf and tree.
        leaf = ('{"hash":"' + stored_hash.hex() + '","signatures":' + sig_text + ',"v":1}').encode("utf-8")
        lh = leaf_hash(leaf)
        self.leaves.append(lh)
        self.frontier.add(lh)
        self.prev = stored_hash.hex()
        self.expected += 1
        self.stats.entries += 1
        for cp, what in self.watched:
            if cp.size == self.expected and cp.root != self.frontier.root():
                raise Failure(
                    "tree_mismatch", i, f"root at size {cp.size} is {self.frontier.root().hex()}, {what} says {cp.root.hex()}"
                )
        return c

    def redaction_failure(self) -> Failure | None:
        """Erased data with no redaction record naming it."""
        if self.pending_redacted:
            i = min(self.pending_redacted)
            return Failure("redaction_unrecorded", i, "data and salt are erased but no later redaction record names it")
        return None

    def truncation_failure(self) -> Failure | None:
        """A watched checkpoint larger than the log: it was truncated (or rolled back)."""
        n = self.expected
        for cp, what in self.watched:
            if cp.size > n:
                return Failure("truncated", n, f"{what} has size {cp.size}, the log holds {n} entries")
        return None


def first_failure(*candidates: Failure | None):
    """Checks made after the stream report at an entry index; the first one in log order wins."""
    found = [f for f in candidates if f is not None]
    if found:
        raise min(found, key=lambda f: f.where if isinstance(f.where, int) else 2**63)


# ---------------------------------------------------------------------------------------------
# Evidence bundles (docs/BUNDLE.md)
# ---------------------------------------------------------------------------------------------


def verify_bundle(path: str, a, opts: Options) -> tuple[EntryChecker, str]:
    key = need_log_key(a)
    mpath = os.path.join(path, "manifest.json")
    raw = read_text(mpath, "manifest")
    try:
        if not raw.endswith("\n"):
            raise JsonError("manifest.json does not end with a newline")
        m = parse_canonical(raw[:-1], "manifest.json")
    except JsonError as e:
        raise UsageError(f"malformed bundle: {e}") from None
    need = {
        "format": str, "version": float, "formatVersion": float, "ledgerId": str, "name": str,
        "hashAlgorithm": str, "origin": str, "size": float, "rootHash": str, "files": dict,
    }  # fmt: skip
    if not isinstance(m, dict) or any(not isinstance(m.get(k), t) for k, t in need.items()):
        raise UsageError("malformed bundle: manifest.json lacks a required member")
    if m["format"] != "signledger-bundle" or m["version"] != 1:
        raise UsageError("malformed bundle: not a signledger-bundle version 1")
    if m["formatVersion"] != 1:
        raise UsageError(f"bundle entry format version {m['formatVersion']} is not supported")
    if m["hashAlgorithm"] not in HASHES:
        raise UsageError(f"malformed bundle: hash algorithm {m['hashAlgorithm']!r}")
    files = {}
    for k in ("checkpoint", "entries", "verifierKey"):
        name = m["files"].get(k)
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
            raise UsageError(f"malformed bundle: files.{k} is not a plain file name")
        files[k] = os.path.join(path, name)
    cp_text = read_text(files["checkpoint"], "checkpoint")
    witnesses = [read_vkey(w, 0x04) for w in a.witness]
    cp = open_checkpoint(cp_text, key, "checkpoint", a.origin, witnesses, a.witness_quorum)
    if m["size"] != cp.size or m["rootHash"] != cp.root.hex() or m["origin"] != cp.origin:
        raise Failure("checkpoint_invalid", "bundle", "manifest size/rootHash/origin differ from the signed checkpoint")
    trusted = None
    if a.trusted:
        trusted = open_checkpoint(read_text(a.trusted, "trusted checkpoint"), key, "trusted checkpoint", a.origin)
    chk = EntryChecker(m["ledgerId"], m["hashAlgorithm"], opts)
    chk.watch(cp, "the bundle's checkpoint")
    if trusted:
        chk.watch(trusted, "the trusted checkpoint")
    try:
        with open(files["entries"], "rb") as f:
            content = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {files['entries']}: {e.strerror}") from None
    if content and not content.endswith(b"\n"):
        raise Failure("malformed_entry", content.count(b"\n"), "entries.jsonl: the last line lacks its newline")
    lines = content.split(b"\n")[:-1] if content else []
    hlen = HASHES[m["hashAlgorithm"]]
    for i, ln in enumerate(lines):
        try:
            e = parse_canonical(ln, f"entries.jsonl line {i}")
        except JsonError as err:
            raise Failure("malformed_entry", i, str(err)) from None
        if not isinstance(e, dict) or list(e.keys()) != LINE_KEYS:
            raise Failure("malformed_entry", i, "entries.jsonl line does not have exactly the documented members")
        if not isinstance(e["body"], str) or not is_int(e["index"]) or not isinstance(e["id"], str):
            raise Failure("malformed_entry", i, "entries.jsonl line: body/index/id of the wrong type")
        for k in ("data", "signatures", "salt"):
            if e[k] is not None and not isinstance(e[k], str):
                raise Failure("malformed_entry", i, f"entries.jsonl line: {k} is neither a string nor null")
        stored_hash = hex_of(e["hash"], hlen, "hash", i)
        salt = hex_of(e["salt"], None, "salt", i) if e["salt"] is not None else None
        if i >= cp.size:
            raise Failure("head_mismatch", i, f"entries.jsonl has more lines than the checkpoint size {cp.size}")
        c = chk.check(
            int(e["index"]),
            e["body"].encode("utf-8"),
            stored_hash,
            e["data"].encode("utf-8") if e["data"] is not None else None,
            salt,
            e["signatures"].encode("utf-8") if e["signatures"] is not None else None,
        )
        if e["id"] != c["id"]:
            raise Failure("column_mismatch", i, f"line id {e['id']!r}, committed id {c['id']!r}")
    first_failure(chk.redaction_failure(), chk.truncation_failure())
    assurance = "trusted" if trusted else "checkpoint"
    if a.witness_quorum:
        assurance = "witnessed"
    return chk, assurance


# ---------------------------------------------------------------------------------------------
# Proof files (c2sp.org/tlog-proof@v1, docs/BUNDLE.md)
# ---------------------------------------------------------------------------------------------


def verify_proof_file(path: str, a, opts: Options) -> tuple[EntryChecker, str]:
    key = need_log_key(a)
    text = read_text(path, "proof file")
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise Failure("malformed_entry", "proof", "no blank line before the checkpoint")
    lines = head.split("\n")
    if len(lines) < 3 or lines[0] != "c2sp.org/tlog-proof@v1" or not lines[1].startswith("extra "):
        raise Failure("malformed_entry", "proof", "not a c2sp.org/tlog-proof@v1 file with an extra line")
    m = re.fullmatch(r"index (0|[1-9][0-9]*)", lines[2])
    if not m:
        raise Failure("malformed_entry", "proof", "bad index line")
    index = int(m.group(1))
    try:
        extra = b64decode_strict(lines[1][6:])
        x = parse_canonical(extra, "extra")
        path_h = [b64decode_strict(p) for p in lines[3:]]
    except (ValueError, JsonError) as e:
        raise Failure("malformed_entry", index, f"proof file: {e}") from None
    if any(len(p) != 32 for p in path_h):
        raise Failure("malformed_entry", index, "an audit path hash is not 32 bytes")
    if not isinstance(x, dict) or sorted(x.keys()) != ["entry", "hashAlgorithm"] or x["hashAlgorithm"] not in HASHES:
        raise Failure("malformed_entry", index, "extra is not {entry, hashAlgorithm}")
    e = x["entry"]
    if not isinstance(e, dict) or list(e.keys()) != LINE_KEYS:
        raise Failure("malformed_entry", index, "extra.entry does not have exactly the entries.jsonl members")
    witnesses = [read_vkey(w, 0x04) for w in a.witness]
    cp = open_checkpoint(note, key, "checkpoint", a.origin, witnesses, a.witness_quorum)
    hlen = HASHES[x["hashAlgorithm"]]
    if not is_int(e["index"]) or int(e["index"]) != index:
        raise Failure("malformed_entry", index, "the entry's index is not the proof's index")
    chk = EntryChecker(a.ledger_id, x["hashAlgorithm"], opts)
    chk.expected = index
    stored_hash = hex_of(e["hash"], hlen, "hash", index)
    salt = hex_of(e["salt"], None, "salt", index) if e["salt"] is not None else None
    c = chk.check(
        index,
        e["body"].encode("utf-8"),
        stored_hash,
        e["data"].encode("utf-8") if e["data"] is not None else None,
        salt,
        e["signatures"].encode("utf-8") if e["signatures"] is not None else None,
        check_prev=False,
    )
    if e["id"] != c["id"]:
        raise Failure("column_mismatch", index, "the entry's id is not the committed id")
    if chk.pending_redacted:  # a single entry cannot show its redaction record: report it
        chk.stats.redacted.append(index)
    if not verify_inclusion(index, cp.size, chk.leaves[-1], path_h, cp.root):
        raise Failure("tree_mismatch", index, f"the audit path does not lead to the checkpoint root at size {cp.size}")
    return chk, "checkpoint" if not a.witness_quorum else "witnessed"


# ---------------------------------------------------------------------------------------------
# Consistency proof JSON (FORMAT.md §5)
# ---------------------------------------------------------------------------------------------


def verify_consistency_file(path: str, a) -> str:
    key = need_log_key(a)
    if not a.old_checkpoint or not a.checkpoint:
        raise UsageError("a consistency proof needs --old-checkpoint and --checkpoint")
    try:
        p = parse_json(read_text(path, "consistency proof"))
    except JsonError as e:
        raise UsageError(f"consistency proof is not JSON: {e}") from None
    if not isinstance(p, dict) or not is_int(p.get("size1")) or not is_int(p.get("size2")):
        raise UsageError("consistency proof lacks size1/size2")
    if not isinstance(p.get("path"), list) or not all(isinstance(h, str) for h in p["path"]):
        raise UsageError("consistency proof lacks its path")
    old = open_checkpoint(read_text(a.old_checkpoint, "old checkpoint"), key, "old checkpoint", a.origin)
    new = open_checkpoint(read_text(a.checkpoint, "checkpoint"), key, "checkpoint", a.origin)
    if int(p["size1"]) != old.size or int(p["size2"]) != new.size:
        raise Failure("tree_mismatch", "checkpoint", "proof sizes differ from the checkpoints'")
    hashes = [hex_of(h, 32, "path hash", "checkpoint") for h in p["path"]]
    if not verify_consistency(old.size, new.size, old.root, new.root, hashes):
        raise Failure("tree_mismatch", "checkpoint", f"the tree at {new.size} is not an extension of the tree at {old.size}")
    return f"ok: checkpoint of size {new.size} is consistent with size {old.size}"


# ---------------------------------------------------------------------------------------------
# SQLite files (FORMAT.md §2, §2.5, §2.6, §3.1, §3.2, §6; docs/BACKENDS.md "SQLite")
# ---------------------------------------------------------------------------------------------


class Frames:
    def __init__(self, dicts: dict[int, bytes]):
        self.dicts = dicts

    def decode(self, frame: bytes, where: int, what: str) -> bytes:
        if len(frame) < 2:
            raise Failure("malformed_entry", where, f"{what}: frame shorter than its 2-byte header")
        code, dict_id, payload = frame[0], frame[1], frame[2:]
        zdict = None
        if dict_id:
            if dict_id not in self.dicts:
                raise Failure("malformed_entry", where, f"{what}: frame names unknown dictionary {dict_id}")
            zdict = self.dicts[dict_id]
        if code == 0:
            if dict_id:
                raise Failure("malformed_entry", where, f"{what}: stored frame names a dictionary")
            return payload
        if code in (1, 2):
            if code == 2 and zdict is not None:
                raise Failure("malformed_entry", where, f"{what}: gzip frame with a dictionary")
            try:
                d = (
                    zlib.decompressobj(wbits=-15, zdict=zdict) if (code == 1 and zdict) else
                    zlib.decompressobj(wbits=-15 if code == 1 else 31)
                )  # fmt: skip
                out = d.decompress(payload) + d.flush()
            except zlib.error as e:
                raise Failure("malformed_entry", where, f"{what}: frame does not decompress ({e})") from None
            if not d.eof or d.unused_data:
                raise Failure("malformed_entry", where, f"{what}: frame is truncated or has trailing bytes")
            return out
        if code in (3, 4, 5):
            name = {3: "brotli", 4: "lz4", 5: "zstd"}[code]
            raise UsageError(f"entry {where}: {what} is compressed with {name}, which the Python standard library cannot decode")
        raise Failure("malformed_entry", where, f"{what}: unknown frame code {code}")


def _text_or_frame(typ: str, val, frames: Frames | None, where: int, what: str) -> bytes | None:
    if typ == "null":
        return None
    if typ == "text":
        return val
    if typ == "blob" and frames is not None:
        return frames.decode(val, where, what)
    raise Failure("malformed_entry", where, f"{what} column holds a {typ}")


def uuid_of_blob(b: bytes) -> str:
    h = b.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def verify_sqlite(path: str, a, opts: Options) -> tuple[EntryChecker, str]:
    name = a.ledger
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,47}", name):
        raise UsageError(f"bad ledger name {name!r}")
    try:
        # Without a -wal file beside it the database is complete in the main file: open it immutable so
        # nothing (-wal, -shm) is created next to the evidence. With one, read it through SQLite's WAL.
        mode = "mode=ro" if os.path.exists(path + "-wal") else "mode=ro&immutable=1"
        uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?" + mode
        db = sqlite3.connect(uri, uri=True)
        db.text_factory = bytes
        tables = {r[0].decode() for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as e:
        raise UsageError(f"cannot open {path} as SQLite: {e}") from None
    p = f"sl_{name}_"
    if "signledger_ledgers" not in tables or p + "entries" not in tables or p + "head" not in tables:
        raise UsageError(f"{path} holds no signledger ledger named {name!r}")
    row = db.execute("SELECT value FROM signledger_schema WHERE key = 'schema_version'").fetchone()
    if row is None or row[0] not in (b"1", b"2"):
        raise UsageError("unknown signledger schema_version")
    row = db.execute("SELECT meta FROM signledger_ledgers WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise UsageError(f"no ledger {name!r} in signledger_ledgers")
    # The LedgerMeta JSON (FORMAT.md §1 names its fields; their spelling in this column is not documented).
    try:
        meta = parse_json(row[0])
    except JsonError as e:
        raise UsageError(f"ledger meta is not JSON: {e}") from None
    ledger_id = a.ledger_id or meta.get("ledgerId")
    alg = a.hash_algorithm or meta.get("hashAlgorithm") or "sha256"
    if meta.get("formatVersion", 1.0) != 1:
        raise UsageError(f"format version {meta.get('formatVersion')} is not supported")
    if not isinstance(ledger_id, str) or not UUID_RE.match(ledger_id):
        raise UsageError("ledger meta has no lowercase UUID ledgerId (pass --ledger-id)")
    if alg not in HASHES:
        raise UsageError(f"unknown hash algorithm {alg!r}")

    layout = 1
    frames = None
    if p + "packing" in tables:
        cols = [r[1].decode() for r in db.execute(f"PRAGMA table_info({p}packing)")]
        if "layout" in cols:
            layout = db.execute(f"SELECT layout FROM {p}packing").fetchone()[0]
        dicts = {}
        if p + "dicts" in tables:
            dicts = {i: b for i, b in db.execute(f"SELECT id, bytes FROM {p}dicts")}
        frames = Frames(dicts)
    if layout not in (1, 2):
        raise UsageError(f"unknown entry layout {layout}")

    head = db.execute(f"SELECT size, last_hash, frontier, root FROM {p}head WHERE one = 1").fetchone()
    if head is None:
        raise UsageError("the ledger has no head row")
    size, last_hash, frontier_b, root_b = head
    last_hash = last_hash.decode() if last_hash is not None else None

    cps = []
    key = load_log_key(a)
    for csize, croot, note, _created in db.execute(f"SELECT size, root, note, created_ms FROM {p}checkpoints ORDER BY size"):
        where = f"stored checkpoint {csize}"
        text = note.decode("utf-8", "replace")
        if key is not None:
            cp = open_checkpoint(text, key, where, a.origin)
        else:
            cp = parse_checkpoint_unverified(text, where)
        if cp.size != csize or cp.root != croot:
            raise Failure("checkpoint_invalid", where, "note size/root differ from its row")
        cps.append(cp)
    trusted = None
    if a.checkpoint:
        if key is None:
            raise UsageError("--checkpoint needs --log-key")
        witnesses = [read_vkey(w, 0x04) for w in a.witness]
        trusted = open_checkpoint(
            read_text(a.checkpoint, "checkpoint"), key, "trusted checkpoint", a.origin, witnesses, a.witness_quorum
        )

    chk = EntryChecker(ledger_id, alg, opts)
    for cp in cps:
        chk.watch(cp, f"stored checkpoint {cp.size}")
    if trusted:
        chk.watch(trusted, "the trusted checkpoint")
    q = (
        f"SELECT idx, typeof(id), id, ts, typeof(hash), hash, typeof(body), body, typeof(data), data, "
        f"typeof(salt), salt, typeof(sigs), sigs FROM {p}entries WHERE idx >= 0 AND idx < ? ORDER BY idx"
    )
    prev_hash: bytes | None = None
    prev_idx = -1
    block_ts: dict[int, tuple[int, int]] = {}
    try:
        for r in db.execute(q, (size,)):
            idx, tid, vid, ts, th, vh, tb, vb, td, vd, ts_, vs, tg, vg = r
            tid, th, tb, td, ts_, tg = (t.decode() for t in (tid, th, tb, td, ts_, tg))  # typeof() results
            if th != "blob":
                raise Failure("malformed_entry", idx, "hash column is not a BLOB")
            if not isinstance(ts, int):
                raise Failure("column_mismatch", idx, "ts column is not an integer")
            b = idx // 1024
            lo, hi = block_ts.get(b, (ts, ts))
            block_ts[b] = (min(lo, ts), max(hi, ts))
            if ts_ not in ("null", "blob"):
                raise Failure("malformed_entry", idx, "salt column is not a BLOB")
            salt = vs
            data = _text_or_frame(td, vd, frames, idx, "data")
            sigs = _text_or_frame(tg, vg, frames, idx, "sigs")
            if layout == 1:
                if tid != "text":
                    raise Failure("column_mismatch", idx, "id column is not TEXT")
                col_id = vid.decode("utf-8", "replace")
                body = _text_or_frame(tb, vb, frames, idx, "body")
                if body is None:
                    raise Failure("malformed_entry", idx, "body is NULL")
            else:
                if tid == "blob":
                    if len(vid) != 16:
                        raise Failure("malformed_entry", idx, f"id BLOB of {len(vid)} bytes")
                    col_id = uuid_of_blob(vid)
                elif tid == "text":
                    col_id = vid.decode("utf-8", "replace")
                    if UUID_RE.match(col_id):
                        raise Failure("malformed_entry", idx, "a lowercase UUID id stored as TEXT (the writer stores a BLOB)")
                else:
                    raise Failure("malformed_entry", idx, f"id column holds a {tid}")
                if tb == "null" or (tb == "blob" and vb[:1] in (b"\x80", b"\x81")):
                    if idx != chk.expected:
                        raise Failure("gap", chk.expected, f"found entry index {idx} where {chk.expected} was expected")
                    typ = "redaction" if tb == "blob" and vb[0] == 0x81 else "event"
                    meta_text = b"{}"
                    if tb == "blob" and len(vb) > 1:
                        meta_text = frames.decode(vb[1:], idx, "metadata")
                    if data is None or salt is None:
                        raise Failure("malformed_entry", idx, "a rebuildable row with erased data or salt")
                    if idx > 0 and (prev_hash is None or prev_idx != idx - 1):
                        raise Failure("malformed_entry", idx, "a rebuildable row without its previous row")
                    try:
                        iso = iso_of_ms(ts)
                    except ValueError:
                        raise Failure("malformed_entry", idx, "ts out of range") from None
                    dd = entry_hash(alg, salt + data).hex()
                    prev = "null" if idx == 0 else '"' + prev_hash.hex() + '"'
                    body = (
                        '{"dataDigest":"' + dd + '","id":' + es_string(col_id) + ',"index":' + str(idx)
                        + ',"ledger":"' + ledger_id + '","metadata":' + meta_text.decode("utf-8", "replace")
                        + ',"prev":' + prev + ',"timestamp":"' + iso + '","type":"' + typ + '","v":1}'
                    ).encode("utf-8")  # fmt: skip
                elif tb == "blob":
                    body = frames.decode(vb, idx, "body")
                else:
                    raise Failure("malformed_entry", idx, f"body column holds a {tb}")
            chk.check(idx, body, vh, data, salt, sigs, col_id=col_id, col_ts=ts)
            prev_hash, prev_idx = vh, idx
        n = chk.expected
        if n < size:
            raise Failure("gap", n, f"the head says {size} entries, the table ends at {n}")
    except Failure as f:
        # Nodes over the entries verified before the failure may be wrong earlier in log order.
        first_failure(f, check_tiles(db, p, chk.leaves, complete=False))
    failures: list[Failure | None] = [chk.redaction_failure()]
    # Rows outside [0, size) are tampering.
    out = db.execute(f"SELECT min(idx) FROM {p}entries WHERE idx < 0 OR idx >= ?", (size,)).fetchone()[0]
    if out is not None:
        failures.append(Failure("head_mismatch", out, f"a row at index {out} lies outside the log [0, {size})"))
    # Tiles (FORMAT.md §3.1), reported at the last entry under the first wrong node.
    failures.append(check_tiles(db, p, chk.leaves, complete=True))
    # Time blocks of the compact layout.
    if layout == 2 and p + "tblocks" in tables:
        stored = {bl: (lo, hi) for bl, lo, hi in db.execute(f"SELECT block, lo, hi FROM {p}tblocks")}
        for bl in sorted(block_ts):
            lo, hi = block_ts[bl]
            s = stored.get(bl)
            if s is None or s[0] > lo or s[1] < hi:
                failures.append(
                    Failure("column_mismatch", bl * 1024, f"time block {bl} bounds {s} do not cover [{lo}, {hi}]")
                )
                break
    # The head (§6 "At the end").
    root = chk.frontier.root()
    last = max(n - 1, 0)
    if last_hash != (chk.prev if n else None):
        failures.append(Failure("head_mismatch", last, f"head last_hash {last_hash}, last entry {chk.prev}"))
    elif root_b != root:
        failures.append(Failure("head_mismatch", last, f"head root {bytes(root_b).hex()}, recomputed {root.hex()}"))
    elif frontier_b != chk.frontier.nodes():
        failures.append(Failure("head_mismatch", last, "head frontier differs from the recomputed one"))
    failures.append(chk.truncation_failure())
    first_failure(*failures)
    assurance = "chain"
    if cps and key is not None:
        assurance = "checkpoint"
    if trusted:
        assurance = "witnessed" if a.witness_quorum else "trusted"
    return chk, assurance


def parse_checkpoint_unverified(text: str, where: str) -> Checkpoint:
    lines = text.split("\n")
    try:
        size = int(lines[1])
        root = b64decode_strict(lines[2])
    except (IndexError, ValueError):
        raise Failure("checkpoint_invalid", where, "not a checkpoint note") from None
    return Checkpoint(lines[0], size, root, text, 0)


def check_tiles(db, p: str, leaves: list[bytes], complete: bool) -> Failure | None:
    """Stored tiles against the recomputed tree (FORMAT.md §3.1, §6 step 6). Each wrong node is reported
    at the last entry under it, and the first in log order wins. With complete=False (the stream stopped
    early) only the nodes over the verified leaves are compared."""
    m = len(leaves)
    levels = [leaves]
    while len(levels[-1]) >= 2:
        prev = levels[-1]
        levels.append([node_hash(prev[2 * i], prev[2 * i + 1]) for i in range(len(prev) // 2)])
    stored = {(lv, ix): (w, bytes(hs)) for lv, ix, w, hs in db.execute(f"SELECT level, idx, width, hashes FROM {p}tiles")}
    found: list[Failure] = []
    last = max(m - 1, 0)

    def under(level: int, t: int) -> int:
        return max(min(m, (t + 1) << (8 * (level + 1))) - 1, 0)

    for (level, t), (sw, blob) in stored.items():
        name = f"tile {level}/{t}"
        if not (isinstance(sw, int) and 1 <= sw <= 256) or len(blob) != 32 * sum(sw >> hp for hp in range(8)):
            if complete:
                found.append(Failure("tree_mismatch", under(level, t), f"{name}: width {sw} and {len(blob)} bytes disagree"))
            continue
        off = 0
        for hp in range(8):
            h, count, start = 8 * level + hp, sw >> hp, t << (8 - hp)
            for pos in range(count):
                i = start + pos
                if (i + 1) << h > m:
                    break
                if blob[off + 32 * pos : off + 32 * pos + 32] != levels[h][i]:
                    at = ((i + 1) << h) - 1
                    found.append(Failure("tree_mismatch", at, f"{name}: node ({h}, {i}) differs from the recomputed tree"))
                    break
            off += 32 * count
    if complete:
        expected: dict[tuple[int, int], int] = {}
        level = 0
        while m >= (1 << (8 * level)):
            count = m >> (8 * level)
            for t in range((count + 255) // 256):
                expected[(level, t)] = min(256, count - 256 * t)
            level += 1
        for k in set(expected) | set(stored):
            name = f"tile {k[0]}/{k[1]}"
            if k not in expected:
                found.append(Failure("tree_mismatch", last, f"{name} is stored where the tree has none"))
            elif k not in stored:
                found.append(Failure("tree_mismatch", under(*k), f"{name} is missing"))
            elif stored[k][0] != expected[k]:
                found.append(Failure("tree_mismatch", under(*k), f"{name} has width {stored[k][0]}, expected {expected[k]}"))
    return min(found, key=lambda f: f.where) if found else None


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def worked_example() -> list[str]:
    """Every value of FORMAT.md §7, computed from its inputs (the test compares them with the doc)."""
    ledger = "6f1c2b1e-8f3a-4c55-9d0e-2a7b5c4d3e21"

    def entry(index, prev, id_, ts, data, metadata, salt_byte):
        data_text = jcs(data)
        dd = sha256(bytes([salt_byte]) * 32 + data_text.encode("utf-8")).hex()
        c = {"dataDigest": dd, "id": id_, "index": index, "ledger": ledger, "metadata": metadata,
             "prev": prev, "timestamp": ts, "type": "event", "v": 1}  # fmt: skip
        body = jcs(c)
        h = sha256(body.encode("utf-8")).hex()
        leaf = '{"hash":"' + h + '","signatures":[],"v":1}'
        return [data_text, dd, body, h, leaf, leaf_hash(leaf.encode("utf-8")).hex()]

    e0 = entry(0, None, "0b6f7c1e-5d2a-4f3b-9c8d-7e6f5a4b3c2d", "2026-01-15T09:30:00.000Z",
               {"user_id": "user123", "action": "user_login", "ip_address": "192.168.1.1"}, {}, 0x11)  # fmt: skip
    e1 = entry(1, e0[3], "1c7a8d2f-6e3b-4a4c-8d9e-8f7a6b5c4d3e", "2026-01-15T09:30:01.250Z",
               {"amount": 15000, "currency": "USD", "note": "caf\u00e9 \u2615"},
               {"compliance": "SOX", "category": "wire_transfer"}, 0x22)  # fmt: skip
    root = node_hash(bytes.fromhex(e0[5]), bytes.fromhex(e1[5]))
    f = Frontier()
    f.add(bytes.fromhex(e0[5]))
    f.add(bytes.fromhex(e1[5]))
    assert f.root() == root
    assert verify_inclusion(0, 2, bytes.fromhex(e0[5]), [bytes.fromhex(e1[5])], root)
    assert verify_inclusion(1, 2, bytes.fromhex(e1[5]), [bytes.fromhex(e0[5])], root)
    return e0 + e1[:4] + [e1[5], root.hex(), base64.b64encode(root).decode()]


def load_log_key(a) -> VerifierKey | None:
    return read_vkey(a.log_key) if a.log_key else None


def need_log_key(a) -> VerifierKey:
    k = load_log_key(a)
    if k is None:
        raise UsageError("--log-key is required: the verifier key must come from outside the evidence")
    return k


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="signledger_verify.py",
        description="Independent verifier for signledger bundles, proof files, SQLite files and consistency proofs.",
    )
    ap.add_argument("input", nargs="?", help="bundle directory, tlog-proof file, SQLite file, or consistency proof JSON")
    ap.add_argument("--worked-example", action="store_true", help="print the values of FORMAT.md §7 as JSON and exit")
    ap.add_argument("--log-key", help="the log's C2SP verifier key (vkey text or a file holding it)")
    ap.add_argument("--checkpoint", help="a trusted checkpoint note (SQLite) / the newer checkpoint (consistency)")
    ap.add_argument("--trusted", help="an earlier trusted checkpoint (bundles)")
    ap.add_argument("--old-checkpoint", help="the older checkpoint of a consistency proof")
    ap.add_argument("--origin", help="expected checkpoint origin (default: the log key's name)")
    ap.add_argument("--key", action="append", default=[], help="trusted entry-signing public key (SPKI PEM); repeat")
    ap.add_argument("--require-signatures", type=int, default=0, help="valid signatures by distinct keys per entry")
    ap.add_argument("--witness", action="append", default=[], help="witness cosigner vkey; repeat")
    ap.add_argument("--witness-quorum", type=int, default=0, help="cosignatures required on the checkpoint")
    ap.add_argument("--ledger", default="default", help="ledger name inside a SQLite file")
    ap.add_argument("--ledger-id", help="expected ledger id (SQLite, proof files)")
    ap.add_argument("--hash-algorithm", choices=sorted(HASHES), help="override the ledger's entry hash (SQLite)")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    if a.worked_example:
        print(json.dumps(worked_example(), ensure_ascii=False))
        return 0
    if a.input is None:
        ap.print_usage(sys.stderr)
        return 2
    try:
        if a.require_signatures and not a.key:
            raise UsageError("--require-signatures needs --key (without keys no signature can be checked)")
        if a.witness_quorum and len(a.witness) < a.witness_quorum:
            raise UsageError("--witness-quorum exceeds the number of --witness keys")
        opts = Options([load_public_key(k) for k in a.key], a.require_signatures)
        path = a.input
        if os.path.isdir(path):
            chk, assurance = verify_bundle(path, a, opts)
        elif os.path.isfile(path):
            with open(path, "rb") as f:
                magic = f.read(32)
            if magic.startswith(b"SQLite format 3\x00"):
                chk, assurance = verify_sqlite(path, a, opts)
            elif magic.startswith(b"c2sp.org/tlog-proof@v1\n"):
                chk, assurance = verify_proof_file(path, a, opts)
            elif magic.lstrip().startswith(b"{"):
                print(verify_consistency_file(path, a))
                return 0
            else:
                raise UsageError(f"{path}: not a bundle directory, proof file, SQLite file or consistency proof")
        else:
            raise UsageError(f"missing input: {path}")
    except Failure as f:
        print(f.line())
        return 1
    except UsageError as e:
        print(f"signledger_verify: error: {e}", file=sys.stderr)
        return 2
    s = chk.stats
    red = ",".join(str(i) for i in sorted(s.redacted)) or "none"
    print(
        f"ok: {s.entries} entries, {s.signatures} signatures verified, {s.unchecked_signatures} by unknown keys "
        f"not checked, redacted: {red}, assurance: {assurance}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
