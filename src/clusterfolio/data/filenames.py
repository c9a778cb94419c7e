"""Lakehouse file names: one reversible, safe name per symbol.

:func:`symbol_to_filename` is reversible (:func:`filename_to_symbol`) and can never leave the
folder: each part of ``EXCHANGE:TICKER`` keeps ``[A-Za-z0-9.-]`` and percent-encodes every other
UTF-8 byte (``%5F`` for ``_``, ``%2F`` for ``/``, ``%25`` for ``%``, ``%3A`` for a second ``:``),
plus a leading dot (``%2E``), so the single ``_`` between the parts and the ``_1d.parquet``
suffix are unambiguous and no name is hidden, ``.``, ``..`` or contains a separator. A symbol
without ``:`` is stored as one part (``<PART>_1d.parquet``). On a case-insensitive filesystem,
symbols differing only by case share a file: keep symbols upper case, as exchanges do.
"""

from __future__ import annotations

import string

from clusterfolio.errors import DataError

__all__ = ["FILE_SUFFIX", "MAX_NAME_BYTES", "filename_to_symbol", "symbol_to_filename"]

#: Suffix of every candle file (daily bars).
FILE_SUFFIX = "_1d.parquet"
#: Longest file name accepted (bytes), the common limit of local filesystems.
MAX_NAME_BYTES = 255

_SAFE = frozenset(string.ascii_letters + string.digits + ".-")
_HEX = frozenset("0123456789ABCDEF")


def _encode_part(text: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in _SAFE and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def _decode_part(text: str, name: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise ValueError(f"{name!r} is not a lakehouse file name: bad escape at {i}")
            raw.append(int(pair, 16))
            i += 3
        elif ch in _SAFE:
            raw.append(ord(ch))
            i += 1
        else:
            raise ValueError(f"{name!r} is not a lakehouse file name: character {ch!r}")
    try:
        decoded = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name!r} is not a lakehouse file name: {exc}") from exc
    if _encode_part(decoded) != text:
        raise ValueError(f"{name!r} is not a lakehouse file name: non-canonical encoding")
    return decoded


def symbol_to_filename(symbol: str) -> str:
    """Return the file name of ``symbol`` (``BINANCE:BTCUSDT.P`` -> ``BINANCE_BTCUSDT.P_1d.parquet``).

    Parameters
    ----------
    symbol : str
        ``EXCHANGE:TICKER`` (any non-empty text is accepted and round-trips).

    Returns
    -------
    str
        A plain file name: no separator, never hidden, ``.`` or ``..``.

    Raises
    ------
    DataError
        Empty symbol, or a name longer than 255 bytes.
    """
    if not isinstance(symbol, str) or not symbol:
        raise DataError(f"invalid symbol {symbol!r}: must be a non-empty string")
    exchange, sep, ticker = symbol.partition(":")
    stem = f"{_encode_part(exchange)}_{_encode_part(ticker)}" if sep else _encode_part(symbol)
    name = stem + FILE_SUFFIX
    if len(name.encode("ascii")) > MAX_NAME_BYTES:
        raise DataError(f"symbol {symbol!r} is too long for a file name ({len(name)} bytes)")
    return name


def filename_to_symbol(name: str) -> str:
    """Return the symbol stored in file ``name`` (the inverse of :func:`symbol_to_filename`).

    Raises
    ------
    ValueError
        ``name`` is not a file name produced by :func:`symbol_to_filename`.
    """
    base = name.rsplit("/", 1)[-1]
    if not base.endswith(FILE_SUFFIX) or base.startswith("."):
        raise ValueError(f"{name!r} is not a lakehouse file name (expected *{FILE_SUFFIX})")
    parts = base[: -len(FILE_SUFFIX)].split("_")
    if len(parts) == 1:
        symbol = _decode_part(parts[0], name)
        if not symbol:
            raise ValueError(f"{name!r} is not a lakehouse file name: empty symbol")
        return symbol
    if len(parts) == 2:
        return f"{_decode_part(parts[0], name)}:{_decode_part(parts[1], name)}"
    raise ValueError(f"{name!r} is not a lakehouse file name: too many '_' separators")
