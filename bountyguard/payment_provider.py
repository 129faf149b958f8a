"""Where money moves: the payment provider interface and the embedded default.

A provider takes one payment instruction with an idempotency key and returns its reference. Like real
payment APIs, it must deduplicate by key: the same key sent again returns the first reference and moves
no money. The payout run relies on that to re-send a payout whose earlier send it cannot be sure about
(a crash between sending and recording), so a provider without deduplication must not be plugged in.

The default `FilePaymentProvider` appends instructions as JSON lines to `X/name.payments/
instructions.jsonl` for the bank upload, so the whole flow runs without an outside service and tests
run the same path as production.
"""
from __future__ import annotations

import fcntl
import importlib
import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from bountyguard.errors import BountyguardError

# The instruction fields that define a payment; the same key with other values is refused.
PAYMENT_FIELDS = ("payout_id", "referrer_id", "amount", "currency", "payee_iban")


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


def payments_dir(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}.payments"


class FilePaymentProvider(PaymentProvider):
    """Appends instructions to `instructions.jsonl`, deduplicating by idempotency key under an
    exclusive file lock (so concurrent payout runs cannot both append one key)."""

    name = "file"

    def __init__(self, db_path: str | Path):
        self.path = payments_dir(db_path) / "instructions.jsonl"
        # What this object has read of the (append-only) file: key -> line, and where it stopped,
        # so each send reads only what was appended since.
        self._known: dict[str, dict] = {}
        self._lines = 0
        self._offset = 0

    def send(self, instruction: dict, idempotency_key: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # payment instructions carry payees' IBANs: readable by their owner only
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # released when the file is closed, or when the process dies
            self._read_new_lines(f)
            earlier = self._known.get(idempotency_key)
            if earlier is not None:
                changed = [k for k in PAYMENT_FIELDS if str(earlier.get(k)) != str(instruction.get(k))]
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
