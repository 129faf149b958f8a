"""Where money moves: the payment provider interface and the embedded default.

A provider takes one payment instruction with an idempotency key and returns its reference. Like real
payment APIs, it must deduplicate by key: the same key sent again returns the first reference and moves
no money. The payout run relies on that to re-send a payout whose earlier send it cannot be sure about
(a crash between sending and recording), so a provider without deduplication must not be plugged in.

The default `FilePaymentProvider` appends instructions as JSON lines to `X/name.payments/
instructions.jsonl` for the bank upload, so the whole flow runs without an outside service and tests
run the same path as production. The file holds payees' IBANs: it is readable by its owner only (the
file 0600 from creation, its folder 0700), and each release run prunes the lines sent more than
`[payouts] payment_instruction_retention_days` ago down to what idempotency needs (key, reference,
payout, amount, currency): their IBAN is gone, their key still returns the first reference.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import importlib
import json
import os
from contextlib import contextmanager
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from bountyguard.errors import BountyguardError

# The instruction fields that define a payment; the same key with other values is refused.
PAYMENT_FIELDS = ("payout_id", "referrer_id", "amount", "currency", "payee_iban")
# What a line keeps after its retention: enough to recognise its key and refuse other amounts, no IBAN.
PRUNED_FIELDS = ("payout_id", "referrer_id", "amount", "currency", "report_sha256", "run_id",
                 "idempotency_key", "reference", "sent_at")


class PaymentProviderError(BountyguardError):
    """The provider refused or could not take an instruction; the payout stays claimed and is re-sent
    by the next release run."""


class PaymentRejectedError(PaymentProviderError):
    """The provider refused the payment for good (closed account, invalid IBAN, ...): no money moved,
    and sending it again unchanged would fail again. `reason` is the provider's reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class PaymentTimeoutError(PaymentProviderError):
    """No answer from the provider: the payment may or may not have been made. Only a re-send with
    the same idempotency key is safe (the provider pays it once)."""


class PaymentProvider(ABC):
    name = "abstract"

    @abstractmethod
    def send(self, instruction: dict, idempotency_key: str) -> str:
        """Pay `instruction` once per `idempotency_key`; return the provider's reference.
        Sending a key again returns the first reference and pays nothing."""

    def purge_expired(self, retention_days: int, now: dt.datetime | None = None) -> int:
        """Remove the personal data of instructions sent more than `retention_days` ago from what this
        provider keeps, never the memory of their idempotency keys. Returns how many were pruned."""
        return 0


def payments_dir(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.payments"


class FilePaymentProvider(PaymentProvider):
    """Appends instructions to `instructions.jsonl`, deduplicating by idempotency key under an
    exclusive lock (so concurrent payout runs cannot both append one key). The lock is a file of its
    own, `instructions.lock`: pruning replaces instructions.jsonl by a new file, and a lock on the
    replaced file would no longer exclude anyone."""

    name = "file"

    def __init__(self, db_path: str | Path):
        self.path = payments_dir(db_path) / "instructions.jsonl"
        self._lock_path = self.path.with_suffix(".lock")
        # What this object has read of the (append-only) file: key -> line, and where it stopped,
        # so each send reads only what was appended since (all of it again once pruning replaced it).
        self._known: dict[str, dict] = {}
        self._lines = 0
        self._offset = 0
        self._inode: int | None = None

    @contextmanager
    def _locked(self):
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder.stat().st_mode & 0o077:  # made by an older version or by hand
            os.chmod(folder, 0o700)
        lock = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed, or when the process dies
            # payment instructions carry payees' IBANs: readable by their owner only
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "a+b") as f:
                inode = os.fstat(f.fileno()).st_ino
                if inode != self._inode:  # first use, or pruned (replaced) since: read it all again
                    self._known, self._lines, self._offset, self._inode = {}, 0, 0, inode
                self._read_new_lines(f)
                yield f
        finally:
            os.close(lock)

    def send(self, instruction: dict, idempotency_key: str) -> str:
        with self._locked() as f:
            earlier = self._known.get(idempotency_key)
            if earlier is not None:
                # a pruned line has no IBAN left to compare; its key is still never paid twice
                compared = [k for k in PAYMENT_FIELDS if k in earlier]
                changed = [k for k in compared if str(earlier.get(k)) != str(instruction.get(k))]
                if changed:
                    raise PaymentProviderError(
                        f"{self.path}: payout {instruction.get('payout_id')}: idempotency key already used "
                        f"with other {', '.join(changed)} (reference {earlier['reference']}); not sent"
                    )
                return earlier["reference"]
            record = {
                **{k: instruction.get(k) for k in PAYMENT_FIELDS},
                "report_sha256": instruction.get("report_sha256"),
                "run_id": instruction.get("run_id"),
                "idempotency_key": idempotency_key,
                "reference": f"file:{self._lines + 1}",
                "sent_at": _utc_now().isoformat(timespec="seconds"),
            }
            line = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode()
            f.seek(0, os.SEEK_END)
            f.write(line)  # one write of one line in append mode
            f.flush()
            os.fsync(f.fileno())  # the instruction is on disk before the ledger says `sent`
            self._known[idempotency_key] = record
            self._lines += 1
            self._offset += len(line)
            return record["reference"]

    def purge_expired(self, retention_days: int, now: dt.datetime | None = None) -> int:
        """Rewrite the lines sent before `now - retention_days` without their IBAN (and any line
        written before lines had a time: it gets `now` as its time and goes after the retention from
        then). The file is replaced atomically, line for line, so references stay line numbers and
        a crash leaves either the old or the new file, never a half-written one."""
        if not self.path.exists():
            return 0
        now = now or _utc_now()
        cutoff = (now - dt.timedelta(days=retention_days)).isoformat(timespec="seconds")
        with self._locked() as f:
            f.seek(0)
            records = [json.loads(raw) for raw in f]  # complete lines: _locked has read them all
            pruned, changed = 0, False
            for n, record in enumerate(records):
                if "sent_at" not in record:
                    records[n] = record | {"sent_at": now.isoformat(timespec="seconds")}
                    changed = True
                elif record["sent_at"] < cutoff and "payee_iban" in record:
                    records[n] = {k: record.get(k) for k in PRUNED_FIELDS} | {"pruned": True}
                    pruned += 1
            if not changed and not pruned:
                return 0
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                for record in records:
                    out.write((json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)  # the rename itself is durable
            finally:
                os.close(folder)
            return pruned

    def _read_new_lines(self, f) -> None:
        f.seek(self._offset)
        for raw in f:
            self._lines += 1
            try:
                record = json.loads(raw)
                key = record["idempotency_key"]
            except (ValueError, KeyError):
                # A torn or edited line: refuse rather than guess whether that payment happened.
                raise PaymentProviderError(
                    f"{self.path}: line {self._lines} is not a complete payment instruction; "
                    "repair the file before paying more"
                ) from None
            self._known[key] = record
            self._offset += len(raw)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def make_provider(db_path: str | Path, config: dict[str, Any] | None = None) -> PaymentProvider:
    """The provider chosen by configuration `[payouts] provider`: "file" (the default) or
    "package.module:ClassName" of a PaymentProvider subclass taking `(db_path, settings)`."""
    settings = dict((config or {}).get("payouts") or {})
    choice = settings.get("provider", "file")
    if choice == "file":
        return FilePaymentProvider(db_path)
    module_name, _, class_name = str(choice).partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PaymentProviderError(
            f"configuration [payouts] provider = {choice!r}: cannot load it ({exc}); "
            "use 'file' or 'package.module:ClassName'"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, PaymentProvider)):
        raise PaymentProviderError(f"configuration [payouts] provider = {choice!r}: not a PaymentProvider subclass")
    return cls(db_path, settings)
