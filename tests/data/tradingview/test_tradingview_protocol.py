"""Framing, heartbeats and packets of the chart protocol, on the captured session too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clusterfolio.data.tradingview import protocol
from clusterfolio.data.tradingview.protocol import FrameError


def test_encode_frame_counts_characters() -> None:
    assert protocol.encode_frame('{"m":"x"}') == '~m~9~m~{"m":"x"}'
    assert protocol.encode_heartbeat(12) == "~m~5~m~~h~12"


def test_outbound_messages_are_ascii_and_framed() -> None:
    frame = protocol.resolve_symbol("cs_abc", "sds_sym_1", "BINANCE:BTCUSDT", "splits")
    (decoded,) = protocol.decode_frames(frame)
    packet = protocol.parse_packet(decoded.payload)
    assert packet == {
        "m": "resolve_symbol",
        "p": ["cs_abc", "sds_sym_1", '={"symbol":"BINANCE:BTCUSDT","adjustment":"splits"}'],
    }
    assert frame.isascii()
    spec = protocol.parse_symbol_spec(packet["p"][2])
    assert spec == {"symbol": "BINANCE:BTCUSDT", "adjustment": "splits"}
    assert protocol.parse_symbol_spec("NASDAQ:AAPL") == {"symbol": "NASDAQ:AAPL"}


def test_session_messages() -> None:
    cases = {
        protocol.set_auth_token("tok"): ("set_auth_token", ["tok"]),
        protocol.chart_create_session("cs_x"): ("chart_create_session", ["cs_x", ""]),
        protocol.create_series("cs_x", "sds_1", "s1", "sds_sym_1", "1D", 300): (
            "create_series",
            ["cs_x", "sds_1", "s1", "sds_sym_1", "1D", 300, ""],
        ),
        protocol.request_more_data("cs_x", "sds_1", 50): (
            "request_more_data",
            ["cs_x", "sds_1", 50],
        ),
        protocol.chart_delete_session("cs_x"): ("chart_delete_session", ["cs_x"]),
    }
    for frame, (method, params) in cases.items():
        (decoded,) = protocol.decode_frames(frame)
        assert protocol.parse_packet(decoded.payload) == {"m": method, "p": params}


def test_session_ids_are_fresh() -> None:
    ids = {protocol.new_session_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith("cs_") and len(i) == 15 for i in ids)


def test_multiple_frames_and_heartbeats_in_one_message() -> None:
    message = (
        protocol.encode_heartbeat(3)
        + protocol.encode_message("series_loading", ["cs_a", "sds_1"])
        + protocol.encode_message("series_completed", ["cs_a", "sds_1", "streaming", "s1"])
    )
    frames = protocol.decode_frames(message)
    assert [f.is_heartbeat for f in frames] == [True, False, False]
    assert frames[0].raw == "~m~4~m~~h~3"  # echoed verbatim
    assert "".join(f.raw for f in frames) == message


def test_captured_session_round_trips(captured_packets: list[dict[str, Any]]) -> None:
    """Re-frame the captured packets (hello, qsd, quote_completed) with heartbeats between."""
    assert "session_id" in captured_packets[0]
    frames = []
    for n, packet in enumerate(captured_packets):
        frames.append(protocol.encode_packet(packet))
        if n % 4 == 0:
            frames.append(protocol.encode_heartbeat(n))
    decoded = protocol.decode_frames("".join(frames))
    packets = [protocol.parse_packet(f.payload) for f in decoded if not f.is_heartbeat]
    assert packets == captured_packets
    assert sum(f.is_heartbeat for f in decoded) == len(range(0, len(captured_packets), 4))
    quote_symbols = {p["p"][1]["n"] for p in packets if p.get("m") == "qsd"}
    assert "FX_IDC:EURUSD" in quote_symbols


def test_captured_session_framed_as_the_server_sends(
    captured_packets: list[dict[str, Any]],
) -> None:
    """The server writes JSON with raw non-ASCII text; every length unit must decode."""
    packets = [
        *captured_packets,
        {"m": "qsd", "p": ["qs_x", {"n": "TSE:7203", "v": {"description": "トヨタ自動車 €"}}]},
    ]
    for unit in ("chars", "utf8", "utf16"):
        parts = []
        for packet in packets:
            payload = json.dumps(packet, ensure_ascii=False, separators=(",", ":"))
            if unit == "chars":
                length = len(payload)
            elif unit == "utf8":
                length = len(payload.encode("utf-8"))
            else:
                length = len(payload.encode("utf-16-le")) // 2
            parts.append(f"~m~{length}~m~{payload}")
        decoded = [protocol.parse_packet(f.payload) for f in protocol.decode_frames("".join(parts))]
        assert decoded == packets, unit


@pytest.mark.parametrize(
    "message",
    [
        "garbage~m~4~m~~h~1",
        "~m~x~m~{}",
        "~m~12~m~{}",
        '~m~5~m~{"m":1}',
        "~m~4~h~1",
        '~m~999~m~{"m":"timescale_update","p":["cs_a"',
    ],
)
def test_malformed_framing_is_a_frame_error(message: str) -> None:
    with pytest.raises(FrameError):
        protocol.decode_frames(message)


@pytest.mark.parametrize("payload", ['{"m":"timescale_update","p":["cs', "[1, 2]", "not json"])
def test_malformed_payload_is_a_frame_error(payload: str) -> None:
    with pytest.raises(FrameError):
        protocol.parse_packet(payload)


def test_series_bars() -> None:
    packet = {
        "m": "timescale_update",
        "p": [
            "cs_a",
            {
                "sds_1": {
                    "s": [
                        {"i": 0, "v": [1700000000, 1.0, 2.0, 0.5, 1.5, 10.0]},
                        {"i": 1, "v": [1700086400, 1.5, 2.5, 1.0, 2.0]},
                    ]
                }
            },
        ],
    }
    assert protocol.series_bars(packet, "sds_1") == [
        (1700000000, 1.0, 2.0, 0.5, 1.5, 10.0),
        (1700086400, 1.5, 2.5, 1.0, 2.0, 0.0),
    ]
    assert protocol.series_bars(packet, "sds_2") == []
    bad = {
        "m": "timescale_update",
        "p": ["cs_a", {"sds_1": {"s": [{"i": 0, "v": [1, "x", 2, 3, 4]}]}}],
    }
    with pytest.raises(FrameError):
        protocol.series_bars(bad, "sds_1")
    with pytest.raises(FrameError):
        protocol.series_bars({"m": "timescale_update", "p": ["cs_a"]}, "sds_1")


@given(st.lists(st.text(max_size=40), max_size=8))
def test_frames_round_trip(payloads: list[str]) -> None:
    packets = [{"m": "x", "p": [text]} for text in payloads]
    message = "".join(protocol.encode_packet(p) for p in packets)
    decoded = [protocol.parse_packet(f.payload) for f in protocol.decode_frames(message)]
    assert decoded == packets
