"""The typed data format in which values cross between a student's kernel and the test interpreter.

Split grading (``grading.split_execution``) never lets a test cell's code into the student's
process, and never lets a student's object into the test interpreter: what the student's code
produced crosses as *data*, in this format, and is rebuilt there by the code below from plain
types only. An object whose ``__eq__`` always says True therefore cannot reach a test; it crosses
as its plain value (a ``str`` subclass as the ``str`` it holds) or not at all.

A value is JSON with an explicit type tag on every node (``{"t": "str", "v": "P07"}``). What can
cross, both ways:

* ``None``, ``bool``, ``int``, ``float`` (``nan``/``inf`` too), ``complex``, ``str``, ``bytes``;
  ``list``, ``tuple``, ``set``, ``frozenset``, ``dict`` (any crossable keys), ``range``;
  ``datetime``/``date``/``time``/``timedelta``, ``decimal.Decimal``, ``fractions.Fraction``;
* numpy scalars and arrays of bool, integer, float, complex, datetime64, timedelta64, unicode
  and object dtypes (raw little-endian bytes in base64, or one node per element);
* pandas ``DataFrame``, ``Series``, ``Index`` (``RangeIndex``, ``MultiIndex``, datetime, period
  and categorical ones), with the dtypes ``str``/``string``, nullable integers, floats and
  booleans, ``category``, timezone-aware datetimes, periods; ``Timestamp``, ``Timedelta``,
  ``Period``, ``NaT`` and ``NA``;
* a ``pathlib.Path`` argument of a test crosses as a *copy* of the file or folder it names (the
  student's code gets a path to its own copy); a path coming back is a ``PurePosixPath``;
* from the student's side only: a callable as a handle (the test calls it back in the student's
  kernel); a module by its name (the test interpreter imports its own copy).

Anything else (generators, open files, instances of the student's classes, ...) does not cross:
``decode`` raises ``CannotCross`` with the reason, which the test interpreter turns into a failed
test ("this value cannot be checked: ..."). Decoding checks every node's shape, a depth limit,
an element budget and the size of the document; numpy dtypes come from an allow-list, never from
a string handed to ``np.dtype`` unchecked. Nothing is ever unpickled.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import fractions
import functools
import hashlib
import hmac
import json
import math
import pathlib
import re

MIME = "application/vnd.upstream.crossing+json"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024      # one document, as JSON text
MAX_DEPTH = 40                    # nesting of containers
MAX_ITEMS = 5_000_000             # elements in one document, all containers and arrays together
MAX_FILE_BYTES = 32 * 1024 * 1024  # files sent for one path argument

_NUMERIC = {"?": "bool"} | {f"{k}{n}": f"{k}{n}" for k in ("i", "u") for n in (1, 2, 4, 8)} | {
    "f2": "f2", "f4": "f4", "f8": "f8", "c8": "c8", "c16": "c16"}
_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}(\.[A-Za-z_][A-Za-z0-9_]{0,99}){0,9}$")
_TZ = re.compile(r"^[A-Za-z0-9_+\-/:]{1,64}$")
_FREQ = re.compile(r"^[A-Za-z0-9\-]{1,16}$")


class CannotCross(ValueError):
    """The value cannot be sent as data; the message says why, in plain words."""


# ---- encoding (either side) ---------------------------------------------------------------------

class Encoder:
    """Turns a value into tagged JSON nodes. ``handle`` (student's side) turns a callable into a
    handle number; ``path`` (test's side) turns a Path into a node with its files."""

    def __init__(self, handle=None, path=None, budget: int = MAX_ITEMS):
        self.handle, self.path, self.budget = handle, path, budget

    def _spend(self, n: int) -> None:
        self.budget -= n
        if self.budget < 0:
            raise CannotCross(f"it is too large (more than {MAX_ITEMS:,} elements)")

    def encode(self, value, depth: int = 0) -> dict:  # noqa: C901 - one branch per type
        if depth > MAX_DEPTH:
            raise CannotCross(f"it is nested more than {MAX_DEPTH} levels deep")
        self._spend(1)
        np, pd = _libs()
        # Exact types first; subclasses of builtins cross as the plain value they hold.
        if value is None:
            return {"t": "none"}
        if isinstance(value, bool):
            return {"t": "bool", "v": bool(value)}
        if np is not None and isinstance(value, np.generic):
            return self._np_scalar(value)
        if isinstance(value, int):
            return {"t": "int", "v": str(int.__int__(value))}
        if isinstance(value, float):
            return {"t": "float", "v": _float_out(float.__float__(value))}
        if isinstance(value, complex):
            c = complex.__complex__(value) if type(value) is not complex else value
            return {"t": "complex", "v": [_float_out(c.real), _float_out(c.imag)]}
        if isinstance(value, str):
            return {"t": "str", "v": str.__str__(value)}
        if isinstance(value, (bytes, bytearray)):
            return {"t": "bytes", "v": base64.b64encode(bytes(value)).decode()}
        if isinstance(value, pathlib.PurePath):
            if self.path is not None and isinstance(value, pathlib.Path):
                return self.path(value)
            return {"t": "path", "v": str(value)}
        if pd is not None:
            node = self._pandas(value, depth, np, pd)
            if node is not None:
                return node
        if np is not None and isinstance(value, np.ndarray):
            return {"t": "ndarray", "a": self.array(value, depth)}
        if isinstance(value, (list, tuple, set, frozenset)):
            tag = ("list" if isinstance(value, list) else "tuple" if isinstance(value, tuple)
                   else "set" if isinstance(value, set) else "frozenset")
            items = list(list.__iter__(value) if isinstance(value, list) else
                         tuple.__iter__(value) if isinstance(value, tuple) else iter(value))
            self._spend(len(items))
            return {"t": tag, "v": [self.encode(x, depth + 1) for x in items]}
        if isinstance(value, dict):
            pairs = list(dict.items(value))
            self._spend(len(pairs))
            return {"t": "dict", "v": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                       for k, v in pairs]}
        if isinstance(value, range):
            return {"t": "range", "v": [value.start, value.stop, value.step]}
        if isinstance(value, dt.datetime):
            return {"t": "datetime", "v": value.isoformat()}
        if isinstance(value, dt.date):
            return {"t": "date", "v": value.isoformat()}
        if isinstance(value, dt.time):
            return {"t": "time", "v": value.isoformat()}
        if isinstance(value, dt.timedelta):
            return {"t": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
        if isinstance(value, decimal.Decimal):
            return {"t": "decimal", "v": str(value)}
        if isinstance(value, fractions.Fraction):
            return {"t": "fraction", "v": [str(value.numerator), str(value.denominator)]}
        if type(value).__name__ == "module" and isinstance(getattr(value, "__name__", None), str):
            return {"t": "module", "v": value.__name__}
        if callable(value) and self.handle is not None:
            return {"t": "callable", "ref": self.handle(value),
                    "name": str(getattr(value, "__name__", "function"))[:100]}
        raise CannotCross(f"it is {_describe(value)}, which cannot be sent to the grader as data")

    def _np_scalar(self, value) -> dict:
        code = _dtype_code(value.dtype)
        return {"t": "npscalar", "dtype": code,
                "v": base64.b64encode(value.astype(value.dtype.newbyteorder("<")).tobytes()
                                      ).decode() if code != "O" else None}

    def array(self, arr, depth: int) -> dict:
        """A numpy array (any shape) or pandas extension array (1-d) as a node."""
        np, pd = _libs()
        if pd is not None and not isinstance(arr, np.ndarray):
            return self._extension(arr, depth, np, pd)
        code = _dtype_code(arr.dtype)
        self._spend(arr.size)
        shape = list(arr.shape)
        if code in ("O", "U"):
            items = [self.encode(x, depth + 1) for x in arr.ravel(order="C").tolist()] \
                if code == "O" else [{"t": "str", "v": str(x)} for x in arr.ravel().tolist()]
            return {"k": "items", "dtype": code, "shape": shape, "v": items}
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False)
        return {"k": "raw", "dtype": code, "shape": shape,
                "v": base64.b64encode(data.tobytes()).decode()}

    def _extension(self, arr, depth, np, pd) -> dict:
        dtype = arr.dtype
        self._spend(len(arr))
        if isinstance(dtype, pd.StringDtype):
            na = "nan" if _is_nan(dtype.na_value) else "NA"
            # One numpy conversion, not one pandas look-up per element; a str subclass crosses
            # as the plain text it holds.
            items = [x if type(x) is str else None if x is None else _plain_text(x)
                     for x in arr.to_numpy(dtype=object, na_value=None).tolist()]
            return {"k": "string", "storage": dtype.storage, "na": na, "v": items}
        if isinstance(dtype, pd.CategoricalDtype):
            return {"k": "category", "ordered": bool(dtype.ordered),
                    "categories": self.index(dtype.categories, depth + 1),
                    "codes": self.array(np.asarray(arr.codes), depth + 1)}
        if isinstance(dtype, pd.DatetimeTZDtype):
            return {"k": "datetimetz", "unit": dtype.unit, "tz": str(dtype.tz),
                    "v": self.array(arr.asi8 if hasattr(arr, "asi8")
                                    else np.asarray(arr.view("i8")), depth + 1)}
        if isinstance(dtype, pd.PeriodDtype):
            return {"k": "period", "freq": str(dtype)[len("period["):-1],
                    "v": self.array(np.asarray(arr.asi8), depth + 1)}
        if isinstance(dtype, (pd.BooleanDtype, pd.core.dtypes.dtypes.BaseMaskedDtype)):
            return {"k": "masked", "dtype": dtype.name,
                    "v": self.array(np.asarray(arr._data), depth + 1),
                    "mask": self.array(np.asarray(arr._mask), depth + 1)}
        if isinstance(dtype, np.dtype):
            return self.array(np.asarray(arr), depth)
        raise CannotCross(f"it holds a pandas column of type {dtype}, which cannot be sent as data")

    def index(self, idx, depth: int) -> dict:
        np, pd = _libs()
        name = self.encode(idx.name, depth + 1) if not isinstance(idx, pd.MultiIndex) else None
        if isinstance(idx, pd.RangeIndex):
            return {"k": "range", "v": [idx.start, idx.stop, idx.step], "name": name}
        if isinstance(idx, pd.MultiIndex):
            return {"k": "multi", "levels": [self.index(lv, depth + 1) for lv in idx.levels],
                    "codes": [self.array(np.asarray(c), depth + 1) for c in idx.codes],
                    "names": [self.encode(n, depth + 1) for n in idx.names]}
        node = {"k": "plain", "v": self.array(idx.array if not isinstance(idx.dtype, np.dtype)
                                              else idx.to_numpy(), depth + 1), "name": name}
        freq = getattr(idx, "freqstr", None)
        if freq and not isinstance(idx, pd.PeriodIndex):
            node["freq"] = freq
        return node

    def _pandas(self, value, depth, np, pd) -> dict | None:
        if isinstance(value, pd.DataFrame):
            # by position (items() is, duplicated labels included), without .iloc's overhead
            cols = [self.array(_series_values(column, np), depth + 1)
                    for _, column in pd.DataFrame.items(value)]
            return {"t": "frame", "columns": self.index(value.columns, depth + 1),
                    "index": self.index(value.index, depth + 1), "v": cols}
        if isinstance(value, pd.Series):
            return {"t": "series", "v": self.array(_series_values(value, np), depth + 1),
                    "index": self.index(value.index, depth + 1),
                    "name": self.encode(value.name, depth + 1)}
        if isinstance(value, pd.Index):
            return {"t": "index", "v": self.index(value, depth + 1)}
        if value is pd.NaT:
            return {"t": "nat"}
        if value is pd.NA:
            return {"t": "na"}
        if isinstance(value, pd.Timestamp):
            return {"t": "timestamp", "v": str(value.value), "unit": value.unit,
                    "tz": None if value.tz is None else str(value.tz)}
        if isinstance(value, pd.Timedelta):
            return {"t": "pdtimedelta", "v": str(value.value), "unit": value.unit}
        if isinstance(value, pd.Period):
            return {"t": "period", "v": str(value.ordinal), "freq": value.freqstr}
        return None


def _series_values(series, np):
    values = series.array
    return values if not isinstance(series.dtype, np.dtype) else series.to_numpy()


def _libs():
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - both are in the lock
        np = None
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    return np, pd


def _plain_text(x) -> str:
    if not isinstance(x, str):
        raise CannotCross(f"a text column holds {_describe(x)}")
    return str.__str__(x)


def _float_out(x: float):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _is_nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _missing(x, pd) -> bool:
    return x is None or x is pd.NA or _is_nan(x)


def _dtype_code(dtype) -> str:
    kind = dtype.kind
    if kind in "biufc":
        code = "?" if kind == "b" else f"{kind}{dtype.itemsize}"
        if code in _NUMERIC:
            return code
    if kind in "mM":
        unit = str(dtype).split("[")[-1].rstrip("]") if "[" in str(dtype) else ""
        if unit in _UNITS:
            return f"{kind}8[{unit}]"
    if kind == "U":
        return "U"
    if kind == "O":
        return "O"
    raise CannotCross(f"it holds numbers of type {dtype}, which cannot be sent as data")


def _describe(value) -> str:
    kind = type(value)
    if kind.__name__ == "generator":
        return "a generator (turn it into a list first)"
    if hasattr(value, "read") and hasattr(value, "close"):
        return "an open file or stream"
    return f"an object of type {kind.__module__}.{kind.__qualname__}"[:200]


def dumps(node: dict) -> str:
    return json.dumps({"v": VERSION, "value": node}, separators=(",", ":"), allow_nan=False)


def encode(value, **kwargs) -> str:
    return dumps(Encoder(**kwargs).encode(value))


# ---- decoding (the trust boundary on the test's side) -------------------------------------------

class Decoder:
    """Rebuilds plain values from nodes, checking each one. ``callable`` (test's side) turns a
    handle node into a proxy; ``path`` (student's side) turns a path node into a local copy;
    ``module`` (test's side) imports a module by name or refuses."""

    def __init__(self, callable=None, path=None, module=None):  # noqa: A002 - it is the tag
        self.callable, self.path, self.module = callable, path, module
        self.budget = MAX_ITEMS

    def _spend(self, n: int) -> None:
        self.budget -= n
        if self.budget < 0:
            raise CannotCross(f"it is too large (more than {MAX_ITEMS:,} elements)")

    def decode(self, node, depth: int = 0):  # noqa: C901 - one branch per tag
        if depth > MAX_DEPTH:
            raise CannotCross(f"it is nested more than {MAX_DEPTH} levels deep")
        self._spend(1)
        t = _get(node, "t", str)
        if t == "none":
            return None
        if t == "bool":
            return _get(node, "v", bool)
        if t == "int":
            return _int(_get(node, "v", str))
        if t == "float":
            return _float_in(node.get("v"))
        if t == "complex":
            re_, im = _list(node, "v", 2)
            return complex(_float_in(re_), _float_in(im))
        if t == "str":
            return _get(node, "v", str)
        if t == "bytes":
            return _b64(_get(node, "v", str))
        if t == "path":
            if self.path is not None and "files" in node:
                return self.path(node)
            return pathlib.PurePosixPath(_get(node, "v", str))
        if t in ("list", "tuple", "set", "frozenset"):
            raw = _get(node, "v", list)
            self._spend(len(raw))
            items = [self.decode(x, depth + 1) for x in raw]
            try:
                return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[t](items)
            except TypeError as exc:
                raise CannotCross(f"a set holds an unhashable element ({exc})") from None
        if t == "dict":
            raw = _get(node, "v", list)
            self._spend(len(raw))
            out = {}
            for pair in raw:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise CannotCross("it is not well formed (a dict entry is not a pair)")
                key = self.decode(pair[0], depth + 1)
                try:
                    out[key] = self.decode(pair[1], depth + 1)
                except TypeError:
                    raise CannotCross("a dict key is unhashable") from None
            return out
        if t == "range":
            a, b, c = (_int_json(x) for x in _list(node, "v", 3))
            if c == 0:
                raise CannotCross("it is not well formed (a range with step 0)")
            return range(a, b, c)
        if t in ("datetime", "date", "time"):
            text = _get(node, "v", str)[:64]
            cls = {"datetime": dt.datetime, "date": dt.date, "time": dt.time}[t]
            try:
                return cls.fromisoformat(text)
            except ValueError:
                raise CannotCross(f"it is not well formed (a {t} {text!r})") from None
        if t == "timedelta":
            days, secs, micro = (_int_json(x) for x in _list(node, "v", 3))
            try:
                return dt.timedelta(days=days, seconds=secs, microseconds=micro)
            except OverflowError:
                raise CannotCross("a timedelta is out of range") from None
        if t == "decimal":
            text = _get(node, "v", str)
            if len(text) > 200:
                raise CannotCross("a Decimal is too long")
            try:
                return decimal.Decimal(text)
            except decimal.InvalidOperation:
                raise CannotCross("it is not well formed (a Decimal)") from None
        if t == "fraction":
            num, den = _list(node, "v", 2)
            den = _int(den if isinstance(den, str) else "x")
            if den == 0:
                raise CannotCross("a Fraction with denominator 0")
            return fractions.Fraction(_int(num if isinstance(num, str) else "x"), den)
        if t == "callable":
            if self.callable is None:
                raise CannotCross("a function cannot be sent this way")
            ref = _get(node, "ref", int)
            return self.callable(ref, _get(node, "name", str)[:100])
        if t == "module":
            name = _get(node, "v", str)
            if self.module is None or not _IDENT.match(name):
                raise CannotCross(f"it is a module ({name[:100]!r}), which cannot be sent")
            return self.module(name)
        if t == "cannot":
            raise CannotCross(_get(node, "why", str)[:300])
        np, pd = _libs()
        if t == "npscalar":
            code = _get(node, "dtype", str)
            dtype = _np_dtype(code, np)
            if code == "O":
                raise CannotCross("it is not well formed (an object scalar)")
            arr = _raw_array(np, dtype, _get(node, "v", str), [1])
            return arr[0]
        if t == "ndarray":
            return self.array(_get(node, "a", dict), depth + 1, np, pd, numpy_only=True)
        if t == "frame":
            return self._frame(node, depth, np, pd)
        if t == "series":
            values = self.array(_get(node, "v", dict), depth + 1, np, pd)
            index = self.index(_get(node, "index", dict), depth + 1, np, pd)
            if len(index) != len(values):
                raise CannotCross("it is not well formed (a Series and its index differ in length)")
            name = self.decode(_get(node, "name", dict), depth + 1)
            return pd.Series(values, index=index, name=_hashable(name), copy=False)
        if t == "index":
            return self.index(_get(node, "v", dict), depth + 1, np, pd)
        if t == "nat":
            return pd.NaT
        if t == "na":
            return pd.NA
        if t == "timestamp":
            unit = _unit(node.get("unit", "ns"))
            tz = node.get("tz")
            ts = pd.Timestamp(_int(_get(node, "v", str)), unit="ns")
            ts = ts.as_unit(unit) if unit in ("s", "ms", "us", "ns") else ts
            return ts.tz_localize("UTC").tz_convert(_tz(tz)) if tz is not None else ts
        if t == "pdtimedelta":
            unit = _unit(node.get("unit", "ns"))
            td = pd.Timedelta(_int(_get(node, "v", str)), unit="ns")
            return td.as_unit(unit) if unit in ("s", "ms", "us", "ns") else td
        if t == "period":
            freq = _get(node, "freq", str)
            if not _FREQ.match(freq):
                raise CannotCross("it is not well formed (a period frequency)")
            return pd.Period(ordinal=_int(_get(node, "v", str)), freq=freq)
        raise CannotCross(f"it is not well formed (unknown type tag {t[:40]!r})")

    def array(self, node, depth, np, pd, numpy_only: bool = False):
        if depth > MAX_DEPTH:
            raise CannotCross(f"it is nested more than {MAX_DEPTH} levels deep")
        k = _get(node, "k", str)
        if k in ("raw", "items"):
            code = _get(node, "dtype", str)
            dtype = _np_dtype(code, np)
            shape = [_int_json(n) for n in _get(node, "shape", list)]
            if len(shape) > 32 or any(n < 0 for n in shape):
                raise CannotCross("it is not well formed (an array shape)")
            size = math.prod(shape)
            self._spend(size)
            if k == "raw":
                if code in ("O", "U"):
                    raise CannotCross("it is not well formed (raw bytes for objects)")
                return _raw_array(np, dtype, _get(node, "v", str), shape)
            items = _get(node, "v", list)
            if len(items) != size:
                raise CannotCross("it is not well formed (an array's length)")
            if code == "U":
                values = [_get(x, "v", str) if isinstance(x, dict) and x.get("t") == "str" else
                          _fail("an array of text holds something else") for x in items]
                return np.array(values, dtype=str).reshape(shape) if values else np.empty(
                    shape, dtype="<U1")
            if code != "O":
                raise CannotCross("it is not well formed (elements for a numeric array)")
            out = np.empty(size, dtype=object)
            for i, x in enumerate(items):
                out[i] = self.decode(x, depth + 1)
            return out.reshape(shape)
        if numpy_only:
            raise CannotCross("it is not well formed (a numpy array of a pandas type)")
        if k == "string":
            storage = _get(node, "storage", str)
            if storage not in ("python", "pyarrow"):
                raise CannotCross("it is not well formed (a string storage)")
            na = np.nan if _get(node, "na", str) == "nan" else pd.NA
            items = _get(node, "v", list)
            self._spend(len(items))
            if not set(map(type, items)) <= {str, type(None)}:  # JSON gives no subclasses
                raise CannotCross("it is not well formed (a text column holds something else)")
            try:
                dtype = pd.StringDtype(storage=storage, na_value=na)
            except (ImportError, TypeError, ValueError):
                dtype = pd.StringDtype(storage="python", na_value=na)
            return pd.array([na if x is None else x for x in items], dtype=dtype)
        if k == "category":
            cats = self.index(_get(node, "categories", dict), depth + 1, np, pd)
            codes = self._int_array(node, "codes", depth, np, pd)
            if len(codes) and (codes.min() < -1 or codes.max() >= len(cats)):
                raise CannotCross("it is not well formed (category codes out of range)")
            if cats.has_duplicates:
                raise CannotCross("it is not well formed (duplicate categories)")
            return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(
                cats, ordered=_get(node, "ordered", bool)))
        if k == "datetimetz":
            unit = _unit(_get(node, "unit", str))
            values = self._int_array(node, "v", depth, np, pd)
            dtype = pd.DatetimeTZDtype(unit=unit, tz=_tz(_get(node, "tz", str)))
            return pd.array(values.view(f"M8[{unit}]"), dtype=f"M8[{unit}]").tz_localize(
                "UTC").tz_convert(dtype.tz) if len(values) else pd.array([], dtype=dtype)
        if k == "period":
            freq = _get(node, "freq", str)
            if not _FREQ.match(freq):
                raise CannotCross("it is not well formed (a period frequency)")
            values = self._int_array(node, "v", depth, np, pd)
            return pd.arrays.PeriodArray(values, dtype=pd.PeriodDtype(freq))
        if k == "masked":
            name = _get(node, "dtype", str)
            if name not in _MASKED:
                raise CannotCross(f"it is not well formed (a column type {name[:40]!r})")
            values = self.array(_get(node, "v", dict), depth + 1, np, pd, numpy_only=True)
            mask = self.array(_get(node, "mask", dict), depth + 1, np, pd, numpy_only=True)
            if mask.dtype != bool or mask.shape != values.shape or values.ndim != 1:
                raise CannotCross("it is not well formed (a nullable column's mask)")
            cls = (pd.arrays.BooleanArray if name == "boolean" else pd.arrays.FloatingArray
                   if name.startswith("Float") else pd.arrays.IntegerArray)
            return cls(values.astype(_MASKED[name]), mask)
        raise CannotCross(f"it is not well formed (array kind {k[:40]!r})")

    def _int_array(self, node, key, depth, np, pd):
        arr = self.array(_get(node, key, dict), depth + 1, np, pd, numpy_only=True)
        if arr.dtype.kind not in "iu" or arr.ndim != 1:
            raise CannotCross("it is not well formed (expected whole numbers)")
        return arr.astype("i8")

    def index(self, node, depth, np, pd):
        if depth > MAX_DEPTH:
            raise CannotCross(f"it is nested more than {MAX_DEPTH} levels deep")
        k = _get(node, "k", str)
        if k == "range":
            a, b, c = (_int_json(x) for x in _list(node, "v", 3))
            if c == 0:
                raise CannotCross("it is not well formed (a range with step 0)")
            return pd.RangeIndex(a, b, c, name=_hashable(self.decode(_get(node, "name", dict),
                                                                     depth + 1)))
        if k == "multi":
            levels = [self.index(lv, depth + 1, np, pd) for lv in _get(node, "levels", list)]
            codes = [self._int_array({"c": c}, "c", depth, np, pd)
                     for c in _get(node, "codes", list)]
            names = [_hashable(self.decode(n, depth + 1)) for n in _get(node, "names", list)]
            if not levels or len(levels) != len(codes) or len(names) != len(levels) or \
                    len({len(c) for c in codes}) > 1 or any(
                        len(c) and (c.min() < -1 or c.max() >= len(lv))
                        for c, lv in zip(codes, levels, strict=True)):
                raise CannotCross("it is not well formed (a MultiIndex)")
            return pd.MultiIndex(levels=levels, codes=codes, names=names,
                                 verify_integrity=False)
        if k == "plain":
            values = self.array(_get(node, "v", dict), depth + 1, np, pd)
            if getattr(values, "ndim", 1) != 1:
                raise CannotCross("it is not well formed (an index is one-dimensional)")
            name = _hashable(self.decode(_get(node, "name", dict), depth + 1))
            idx = pd.Index(values, name=name, copy=False, tupleize_cols=False)
            freq = node.get("freq")
            if isinstance(freq, str) and _FREQ.match(freq) and isinstance(
                    idx, (pd.DatetimeIndex, pd.TimedeltaIndex)):
                with contextlib.suppress(ValueError, TypeError):
                    idx = type(idx)(idx, freq=freq)
            return idx
        raise CannotCross(f"it is not well formed (index kind {k[:40]!r})")

    def _frame(self, node, depth, np, pd):
        columns = self.index(_get(node, "columns", dict), depth + 1, np, pd)
        index = self.index(_get(node, "index", dict), depth + 1, np, pd)
        raw = _get(node, "v", list)
        if len(raw) != len(columns):
            raise CannotCross("it is not well formed (a DataFrame's columns)")
        cols = [self.array(c, depth + 1, np, pd) for c in raw]
        if any(getattr(c, "ndim", 1) != 1 or len(c) != len(index) for c in cols):
            raise CannotCross("it is not well formed (a column's length)")
        frame = pd.DataFrame({i: pd.Series(c, index=index, copy=False)
                              for i, c in enumerate(cols)}, index=index)
        frame.columns = columns
        return frame


_MASKED = {"Int8": "i1", "Int16": "i2", "Int32": "i4", "Int64": "i8", "UInt8": "u1",
           "UInt16": "u2", "UInt32": "u4", "UInt64": "u8", "Float32": "f4", "Float64": "f8",
           "boolean": "?"}


def _fail(why: str):
    raise CannotCross(f"it is not well formed ({why})")


def _get(node, key, kind):
    if not isinstance(node, dict) or key not in node:
        raise CannotCross(f"it is not well formed (missing {key!r})")
    value = node[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise CannotCross(f"it is not well formed ({key!r} is not {kind.__name__})")
    return value


def _list(node, key, n):
    value = _get(node, key, list)
    if len(value) != n:
        raise CannotCross(f"it is not well formed ({key!r} needs {n} parts)")
    return value


def _int(text) -> int:
    if not isinstance(text, str) or not re.fullmatch(r"-?\d{1,4000}", text):
        raise CannotCross("it is not well formed (a whole number)")
    return int(text)


def _int_json(x) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise CannotCross("it is not well formed (a whole number)")
    return x


def _float_in(x) -> float:
    if isinstance(x, str) and x in ("nan", "inf", "-inf"):
        return float(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CannotCross("it is not well formed (a number)")
    return float(x)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise CannotCross("it is not well formed (base64)") from None


def _np_dtype(code: str, np):
    if code in _NUMERIC:
        return np.dtype("<" + code if code != "?" else "?") if code not in ("i1", "u1") else \
            np.dtype(code)
    m = re.fullmatch(r"([mM])8\[(\w+)\]", code)
    if m and m.group(2) in _UNITS:
        return np.dtype(f"<{m.group(1)}8[{m.group(2)}]")
    if code == "O":
        return np.dtype(object)
    if code == "U":
        return np.dtype(str)
    raise CannotCross(f"it is not well formed (numbers of type {code[:20]!r})")


def _raw_array(np, dtype, text, shape):
    data = _b64(text)
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise CannotCross("it is not well formed (an array's bytes do not match its shape)")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def _unit(unit) -> str:
    if unit not in _UNITS:
        raise CannotCross("it is not well formed (a time unit)")
    return unit


def _tz(tz):
    if not isinstance(tz, str) or not _TZ.match(tz):
        raise CannotCross("it is not well formed (a time zone)")
    return tz


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        raise CannotCross("it is not well formed (a name that is not hashable)") from None
    return value


def loads(text, **kwargs):
    """Decode one document (JSON text or bytes); raises CannotCross when it is not acceptable."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_BYTES:
            raise CannotCross(f"it is too large (over {MAX_BYTES // 2**20} MB as data)")
        text = bytes(text).decode("utf-8", errors="strict")
    if not isinstance(text, str):
        raise CannotCross("it is not well formed (not text)")
    if len(text) > MAX_BYTES:
        raise CannotCross(f"it is too large (over {MAX_BYTES // 2**20} MB as data)")
    try:
        doc = json.loads(text, parse_constant=_fail)
    except RecursionError:
        raise CannotCross("it is nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, CannotCross):
            raise
        raise CannotCross("it is not well formed (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION or "value" not in doc:
        raise CannotCross("it is not well formed (not a value document)")
    return decode_node(doc["value"], **kwargs)


def decode_node(node, **kwargs):
    decoder = Decoder(**kwargs)
    try:
        return decoder.decode(node)
    except CannotCross:
        raise
    except RecursionError:
        raise CannotCross("it is nested too deeply") from None
    except (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError,
            MemoryError) as exc:
        raise CannotCross(f"it is not well formed ({type(exc).__name__})") from None


# ---- the student's side: answering the test interpreter (runs in the student's kernel) ----------
# The student's kernel cannot import ``grading`` (its file system holds only Python and the
# course package), so the test interpreter sends this module's text once, as the harness
# (``INSTALL``); it becomes the module ``_upstream_crossing`` there. Everything here runs in the
# student's process, so nothing here is trusted: the student's code may replace any of it. It
# only has to work for honest submissions; the test interpreter checks whatever comes back.

INSTALL = ("exec(\"import sys, types\\nm = types.ModuleType('_upstream_crossing')\\n"
           "from IPython import get_ipython\\n"
           "k = get_ipython().kernel\\n"
           "try:\\n    p = k.get_parent('shell')\\nexcept TypeError:\\n    p = k.get_parent()\\n"
           "exec(compile(p['metadata']['upstream_module'], '<upstream crossing>', 'exec'), "
           "m.__dict__)\\nsys.modules['_upstream_crossing'] = m\\nm.listen()\", {})")
SERVE = "__import__('_upstream_crossing').serve()"


@functools.lru_cache(maxsize=1)
def harness_source() -> str:
    """This module's text: what a student's kernel is sent to install the harness (``INSTALL``
    reads it from the request's metadata). Read once per process."""
    with open(__file__, encoding="utf-8") as f:
        return f.read()


def install_request(session, serve: dict | None = None) -> dict:
    """The execute_request that installs the harness in a student's kernel (and, with
    ``serve``, answers that request as ``SERVE`` would): what the grader sends first."""
    metadata = {"upstream_module": harness_source()}
    code = INSTALL
    if serve is not None:
        metadata["upstream_call"] = json.dumps(serve, separators=(",", ":"))
        code = f"{INSTALL}\n{SERVE}"
    return session.msg("execute_request", {
        "code": code, "silent": True, "store_history": False, "user_expressions": {},
        "allow_stdin": False, "stop_on_error": False}, metadata=metadata)

_HANDLES: dict[int, object] = {}
_COPIES = [0]
_SNAPSHOTS: dict[str, dict] = {}  # test cell -> its names, as they were at its place


def _handle(obj) -> int:
    for ref, known in _HANDLES.items():
        if known is obj:
            return ref
    ref = len(_HANDLES) + 1
    _HANDLES[ref] = obj
    return ref


def _materialize(node) -> pathlib.Path:
    """A path argument: the test's file or folder, copied into this kernel's own folder."""
    import os

    _COPIES[0] += 1
    base = pathlib.Path(os.getcwd()) / ".upstream-files" / str(_COPIES[0])
    files = node["files"]
    name = pathlib.PurePosixPath(node["v"]).name or "item"
    target = base / name
    base.mkdir(parents=True, exist_ok=True)
    if files.get("kind") == "file":
        target.write_bytes(base64.b64decode(files["b64"]))
    elif files.get("kind") == "dir":
        target.mkdir()
        for rel, data in files["entries"]:
            part = pathlib.PurePosixPath(rel)
            if part.is_absolute() or ".." in part.parts:
                continue
            dest = target / part
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(base64.b64decode(data))
    return target


def _student_value(ns, name):
    if name not in ns:
        return {"t": "missing"}
    try:
        return Encoder(handle=_handle).encode(ns[name])
    except CannotCross as exc:
        return {"t": "cannot", "why": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the student's object misbehaved while being read
        return {"t": "cannot", "why": f"reading it raised {type(exc).__name__}"}


def answer(request: dict, ns: dict) -> dict:
    """The reply to one request of the test interpreter: read names, or call a function."""
    if request["op"] == "snapshot":
        # Taken where a test cell stands in the notebook, while the student's cells run: the
        # test later gets the names as they were there, as in stock nbgrader.
        _SNAPSHOTS[request["tag"]] = {name: _student_value(ns, name)
                                      for name in request["names"]}
        return {"ok": True}
    if request["op"] == "ping":
        return {"ok": True}
    if request["op"] == "get":
        taken = _SNAPSHOTS.get(request.get("snapshot") or "", {})
        return {"values": {name: taken[name] if name in taken else _student_value(ns, name)
                           for name in request["names"]}}
    fn = _HANDLES.get(request["ref"])
    decoder = Decoder(callable=lambda ref, name: _HANDLES[ref], path=_materialize)
    args = [decoder.decode(a) for a in request["args"]]
    kwargs = {k: decoder.decode(v) for k, v in request["kwargs"].items()}
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - reported to the test as the call's outcome
        return {"raised": type(exc).__name__}
    try:
        node = Encoder(handle=_handle).encode(result)
    except CannotCross as exc:
        node = {"t": "cannot", "why": str(exc)}
    except Exception as exc:  # noqa: BLE001
        node = {"t": "cannot", "why": f"reading it raised {type(exc).__name__}"}
    after = {}
    for key, value in [*enumerate(args), *kwargs.items()]:
        if type(value) in (list, dict, set):
            try:
                after[str(key)] = Encoder(handle=_handle).encode(value)
            except Exception:  # noqa: BLE001
                after[str(key)] = {"t": "cannot", "why": "it was changed into something "
                                                         "that cannot be sent"}
    return {"value": node, "after": after}


def serve() -> None:
    """Answer one request sent as a cell's metadata (the cell is ``SERVE``), as display data."""
    from IPython import get_ipython

    ip = get_ipython()
    kernel = ip.kernel
    try:
        parent = kernel.get_parent("shell")
    except TypeError:
        parent = kernel.get_parent()
    reply = answer(json.loads(parent["metadata"]["upstream_call"]), ip.user_ns)
    text = json.dumps({"v": VERSION, "reply": reply}, separators=(",", ":"), allow_nan=False)
    ip.display_pub.publish(data={MIME: text}, metadata={})


def sign(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


CHANNEL_SUFFIX = "-upstream"
_CHANNEL: list = []


class _StderrWatch:
    """Stands in for sys.stderr during a call: passes writes on, and notes that there were."""

    def __init__(self, stream):
        self.stream, self.wrote = stream, False

    def write(self, text):
        self.wrote = self.wrote or bool(text)
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def listen() -> str:
    """Open this kernel's own channel for the test interpreter: a zmq socket beside the
    kernel's (``<ip>-upstream``), answered on the kernel's main thread between messages, as a
    cell would be, but without running a cell: no IPython execution, no output messages, about
    a tenth of the cost per request. Requests and replies are signed with the kernel's key."""
    if _CHANNEL:
        return _CHANNEL[0]
    import signal
    import sys

    import zmq
    from IPython import get_ipython
    from zmq.eventloop.zmqstream import ZMQStream

    ip = get_ipython()
    kernel, app = ip.kernel, ip.kernel.parent
    if getattr(app, "transport", "") != "ipc" or not getattr(app, "ip", ""):
        return ""
    key = kernel.session.key
    address = f"ipc://{app.ip}{CHANNEL_SUFFIX}"
    # The kernel's own zmq context: a new one would start an I/O thread, which libzmq cannot
    # do in a kernel whose memory the student's code has used up (it aborts).
    sock = (getattr(app, "context", None) or zmq.Context.instance()).socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_BYTES)
    try:
        sock.bind(address)
    except zmq.ZMQError:  # the test interpreter then asks through cells, as before
        sock.close()
        return ""

    def on_request(frames):
        try:
            if len(frames) != 3 or not hmac.compare_digest(sign(key, frames[2]), frames[1]):
                return
            request = json.loads(frames[2])
            watch = _StderrWatch(sys.stderr)
            sys.stderr = watch
            # A call that outlives its time is interrupted (SIGINT), as a cell would be; the
            # kernel ignores SIGINT between messages.
            previous = signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                reply = answer(request, ip.user_ns)
            finally:
                signal.signal(signal.SIGINT, previous)
                if sys.stderr is watch:
                    sys.stderr = watch.stream
            body = json.dumps({"v": VERSION, "id": request.get("id"), "reply": reply,
                               "stderr": watch.wrote}, separators=(",", ":"),
                              allow_nan=False).encode()
            sock.send_multipart([frames[0], sign(key, body), body])
        except BaseException:  # noqa: BLE001 - the test side sees no reply, and says so
            return

    stream = ZMQStream(sock, kernel.io_loop)
    stream.on_recv(on_request, copy=True)
    _CHANNEL[:] = [address, stream]
    return address
