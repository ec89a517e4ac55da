"""``nametag restore INPUT... -o OUTPUT``: put the names back into texts that hold
pseudonyms, each with the restore token of its redaction (``nametag tag --redact pseudonym
--restorable`` writes one beside each record; an LLM's answer can take the text's place).

One JSON object a line in: the text under the text key, the token under the token key,
every other key passed through. Out: the same record with the text restored, plus
``restorations`` (one item per placeholder replaced, as POST /restore's items, code-point
offsets) and ``unknown`` (placeholders the token does not hold, left as they are). A record
whose token does not open (altered, truncated, another key, expired) is never restored in
part: it is skipped with a warning naming its line and the reason, or stops the run with
--strict. Needs the service's NAMETAG_RESTORE_KEY (and NAMETAG_RESTORE_KEY_PREVIOUS during
a rotation) in the environment. Restoring needs no model: it runs in this process.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from model.restore import Sealer, TokenError, answer, restore

from .formats import Bad, dumps, json_object


def restore_lines(lines: Iterable[str], sealer: Sealer, text_key: str = "text",
                  token_key: str = "restore_token") -> Iterator[str | Bad]:
    """Each line's output line (with its newline), or Bad (1-based line number, reason)."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = json_object(line)
        if isinstance(record, str):
            yield Bad(n, record)
            continue
        text, token = record.get(text_key), record.get(token_key)
        if not isinstance(text, str) or not isinstance(token, str):
            yield Bad(n, f"no string under {text_key!r} and {token_key!r}")
            continue
        try:
            book = sealer.open(token)
        except TokenError as e:
            yield Bad(n, str(e))
            continue
        res = answer(text, restore(text, book))
        yield dumps(dict(record, **{text_key: res["text"]}, restorations=res["items"],
                         unknown=res["unknown"])) + "\n"
