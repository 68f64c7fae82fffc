"""Outbox transport: digests and alerts as files, when no Slack or SMTP is configured.

``<outbox>/<rule>/<window end, local>_<channel>_<key>.txt``, plus the HTML an e-mail would
carry (``.html``) or the Slack messages (``.slack.json``). Files are written atomically
(temporary file, fsynced, then rename) and named by the window, so writing a window again replaces
its files instead of adding new ones: the outbox is naturally exactly-once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from signals.channels import Sent
from signals.delivery import Attempt, DeliveryError
from signals.digest.model import Document


def _write(path: Path, text: str) -> None:
    """Write ``path`` atomically and durably: the ledger says ``sent`` only after this.

    The content is fsynced before the rename and the folder after it, so a power cut
    cannot leave a window recorded as sent whose file is empty or missing.
    """
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. a platform that cannot open folders: the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class OutboxTransport:
    name = "outbox"

    def __init__(self, folder: Path, channel: str, instead_of: str | None = None):
        self.folder = folder
        self.channel = channel
        self.instead_of = instead_of  # standing in for Slack or e-mail: why, and what to set
        self.where = f"the outbox {folder}"

    def paths(self, document: Document, attempt: Attempt) -> dict[str, Path]:
        end = document.window.local(document.window.end)
        stem = f"{end:%Y-%m-%d_%H%M}_{self.channel}_{attempt.key.token[:8]}"
        folder = self.folder / document.rule_id
        found = {"text": folder / f"{stem}.txt"}
        if self.channel == "email":
            found["html"] = folder / f"{stem}.html"
        if self.channel == "slack":
            found["slack"] = folder / f"{stem}.slack.json"
        return found

    def send(self, document: Document, attempt: Attempt) -> Sent:
        from signals.digest.render import render_html, render_text
        from signals.digest.slack import render_slack

        paths = self.paths(document, attempt)
        text = render_text(document)
        try:
            paths["text"].parent.mkdir(parents=True, exist_ok=True)
            _write(paths["text"], text)
            if "html" in paths:
                _write(paths["html"], render_html(document))
            if "slack" in paths:
                payload = json.dumps(render_slack(document), indent=2, ensure_ascii=False)
                _write(paths["slack"], payload + "\n")
        except OSError as exc:
            raise DeliveryError(f"cannot write to the outbox {self.folder}: {exc}") from None
        return Sent(
            external_id=str(paths["text"]),
            where=f"the outbox: {paths['text']}",
            printed=text,
            note=self.instead_of,
        )
