"""TradingView chart protocol: framing, heartbeats and the session messages.

A websocket message carries one or more frames ``~m~<length>~m~<payload>``. A payload is either
a JSON packet (``{"m": method, "p": [params]}``, or the server hello, a JSON object without
``"m"``) or a heartbeat ``~h~<n>``, which the client must echo back verbatim (the whole frame).

Length units
------------
The declared length counts the characters of the payload. Outbound payloads are always
ASCII (``json.dumps(..., ensure_ascii=True)``), so characters, UTF-8 bytes and UTF-16 code units
coincide and no server can miscount them. Inbound payloads may hold non-ASCII text (descriptions
in local scripts); the decoder takes the length as code points first and, when that does not land
on a frame boundary, as UTF-8 bytes, then as UTF-16 code units (the unit of a JavaScript server).
A length that fits none of them is a :class:`FrameError`.

The message builders follow the chart session of the web client: ``set_auth_token``,
``chart_create_session``, ``resolve_symbol`` (with an ``=``-prefixed JSON symbol specification
carrying the adjustment), ``create_series``, ``request_more_data`` and ``chart_delete_session``.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FRAME_MARK = "~m~"
HEARTBEAT_MARK = "~h~"
ANONYMOUS_TOKEN = "unauthorized_user_token"
DAILY_RESOLUTION = "1D"

_LENGTH = re.compile(r"\d{1,10}")


class FrameError(ValueError):
    """A websocket message does not follow the ``~m~<length>~m~<payload>`` framing."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Parameters
    ----------
    payload : str
        The payload between the header and the next frame.
    raw : str
        The frame exactly as received (header included): what a heartbeat echo sends back.
    """

    payload: str
    raw: str

    @property
    def is_heartbeat(self) -> bool:
        """Whether the payload is a heartbeat ``~h~<n>``."""
        return self.payload.startswith(HEARTBEAT_MARK)


def encode_frame(payload: str) -> str:
    """Wrap ``payload`` in a frame; the length counts its characters."""
    return f"{FRAME_MARK}{len(payload)}{FRAME_MARK}{payload}"


def encode_packet(packet: dict[str, Any]) -> str:
    """Encode a JSON packet as one frame (compact, ASCII-only JSON)."""
    return encode_frame(json.dumps(packet, separators=(",", ":"), ensure_ascii=True))


def encode_message(method: str, params: Sequence[Any]) -> str:
    """Encode the call ``{"m": method, "p": params}`` as one frame."""
    return encode_packet({"m": method, "p": list(params)})


def encode_heartbeat(number: int) -> str:
    """Encode the heartbeat frame ``~m~<len>~m~~h~<number>``."""
    return encode_frame(f"{HEARTBEAT_MARK}{number}")


def _boundary(message: str, end: int) -> bool:
    return end == len(message) or message.startswith(FRAME_MARK, end)


def _end_by_units(message: str, start: int, length: int, *, utf16: bool) -> int | None:
    units = 0
    pos = start
    while units < length and pos < len(message):
        code = ord(message[pos])
        if utf16:
            units += 2 if code > 0xFFFF else 1
        else:
            units += 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        pos += 1
    return pos if units == length else None


def _payload_end(message: str, start: int, length: int) -> int:
    end = start + length
    if end <= len(message) and _boundary(message, end):
        return end
    for utf16 in (False, True):
        alt = _end_by_units(message, start, length, utf16=utf16)
        if alt is not None and _boundary(message, alt):
            return alt
    available = len(message) - start
    raise FrameError(
        f"frame at offset {start - 1}: declared length {length} does not match the payload "
        f"({available} characters follow)"
    )


def decode_frames(message: str) -> list[Frame]:
    """Split a websocket message into frames.

    Parameters
    ----------
    message : str
        The text of one websocket message (one or more frames back to back).

    Returns
    -------
    list of Frame
        In order; an empty message gives an empty list.

    Raises
    ------
    FrameError
        Text outside a frame, a missing or non-numeric length, or a length that does not match.
    """
    frames: list[Frame] = []
    pos = 0
    while pos < len(message):
        if not message.startswith(FRAME_MARK, pos):
            raise FrameError(f"expected '~m~' at offset {pos}, got {message[pos : pos + 12]!r}")
        digits = _LENGTH.match(message, pos + len(FRAME_MARK))
        if digits is None:
            raise FrameError(f"frame at offset {pos}: missing length")
        head_end = digits.end()
        if not message.startswith(FRAME_MARK, head_end):
            raise FrameError(f"frame at offset {pos}: length not followed by '~m~'")
        start = head_end + len(FRAME_MARK)
        end = _payload_end(message, start, int(digits.group()))
        frames.append(Frame(payload=message[start:end], raw=message[pos:end]))
        pos = end
    return frames


def parse_packet(payload: str) -> dict[str, Any]:
    """Parse a JSON payload into a packet (a JSON object).

    Raises
    ------
    FrameError
        The payload is not JSON or not a JSON object.
    """
    try:
        packet = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise FrameError(f"payload is not JSON ({exc.msg} at {exc.pos}): {payload[:80]!r}") from exc
    if not isinstance(packet, dict):
        raise FrameError(f"payload is not a JSON object: {payload[:80]!r}")
    return packet


def new_session_id(prefix: str = "cs_") -> str:
    """Return a fresh session id such as ``cs_qwertyuiopas`` (12 lowercase letters)."""
    return prefix + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))


def symbol_spec(symbol: str, adjustment: str) -> str:
    """Return the ``resolve_symbol`` specification ``={"symbol": ..., "adjustment": ...}``."""
    return "=" + json.dumps(
        {"symbol": symbol, "adjustment": adjustment}, separators=(",", ":"), ensure_ascii=True
    )


def parse_symbol_spec(spec: str) -> dict[str, Any]:
    """Parse a ``resolve_symbol`` specification (``=``-prefixed JSON or a bare symbol).

    Raises
    ------
    FrameError
        The JSON specification is malformed or names no symbol.
    """
    if not spec.startswith("="):
        return {"symbol": spec}
    try:
        parsed = json.loads(spec[1:])
    except json.JSONDecodeError as exc:
        raise FrameError(f"malformed symbol specification {spec!r}") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("symbol"), str):
        raise FrameError(f"symbol specification without a symbol: {spec!r}")
    return parsed


# -- client calls ------------------------------------------------------------------------------


def set_auth_token(token: str) -> str:
    """Frame of ``set_auth_token``."""
    return encode_message("set_auth_token", [token])


def chart_create_session(chart_session: str) -> str:
    """Frame of ``chart_create_session``."""
    return encode_message("chart_create_session", [chart_session, ""])


def chart_delete_session(chart_session: str) -> str:
    """Frame of ``chart_delete_session``."""
    return encode_message("chart_delete_session", [chart_session])


def resolve_symbol(chart_session: str, symbol_id: str, symbol: str, adjustment: str) -> str:
    """Frame of ``resolve_symbol`` with the adjusted symbol specification."""
    return encode_message(
        "resolve_symbol", [chart_session, symbol_id, symbol_spec(symbol, adjustment)]
    )


def create_series(
    chart_session: str,
    series_id: str,
    turnaround: str,
    symbol_id: str,
    resolution: str,
    bars: int,
) -> str:
    """Frame of ``create_series`` asking for the latest ``bars`` bars at ``resolution``."""
    return encode_message(
        "create_series", [chart_session, series_id, turnaround, symbol_id, resolution, bars, ""]
    )


def request_more_data(chart_session: str, series_id: str, bars: int) -> str:
    """Frame of ``request_more_data``: ``bars`` more bars older than those already sent."""
    return encode_message("request_more_data", [chart_session, series_id, bars])


# -- server packets ----------------------------------------------------------------------------

Bar = tuple[int, float, float, float, float, float]


def series_bars(packet: dict[str, Any], series_id: str) -> list[Bar]:
    """Extract the bars of ``series_id`` from a ``timescale_update`` or ``du`` packet.

    Each bar is ``{"i": index, "v": [time, open, high, low, close, volume]}``; ``time`` is unix
    seconds (UTC). A missing volume (indices) reads as 0.

    Raises
    ------
    FrameError
        The packet does not have that structure.
    """
    params = packet.get("p")
    if not isinstance(params, list) or len(params) < 2 or not isinstance(params[1], dict):
        raise FrameError(f"{packet.get('m')} packet without a series mapping")
    series = params[1].get(series_id)
    if series is None:
        return []
    if not isinstance(series, dict):
        raise FrameError(f"{packet.get('m')}: series {series_id!r} is not an object")
    items = series.get("s", [])
    if not isinstance(items, list):
        raise FrameError(f"{packet.get('m')}: bars of {series_id!r} are not a list")
    out: list[Bar] = []
    for item in items:
        values = item.get("v") if isinstance(item, dict) else None
        if not isinstance(values, list) or len(values) < 5:
            raise FrameError(f"{packet.get('m')}: malformed bar {item!r}")
        try:
            volume = float(values[5]) if len(values) > 5 and values[5] is not None else 0.0
            out.append(
                (
                    int(values[0]),
                    float(values[1]),
                    float(values[2]),
                    float(values[3]),
                    float(values[4]),
                    volume,
                )
            )
        except (TypeError, ValueError) as exc:
            raise FrameError(f"{packet.get('m')}: non-numeric bar {values!r}") from exc
    return out
