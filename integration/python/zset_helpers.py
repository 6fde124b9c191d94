"""Helpers shared by the sorted-set suites (test_zsets.py, test_zset_ranges.py,
test_zset_algebra.py).

* fmt(score): the text Redis 7.0 sends for a score ("%.17g": 0.1 ->
  "0.10000000000000001", 3.0 -> "3", 1e17 -> "1e+17", inf -> "inf").
* pairs(reply): redis-py answers WITHSCORES as tuples (RESP2), nested lists
  (RESP3) or flat lists (commands it does not parse): one shape for asserts.
* Wire / read_raw: the exact bytes of one reply off a RawConn, and the bytes
  expected in RESP2 or RESP3, so tests can assert doubles, nils and the
  nesting of member/score pairs byte for byte.
* Model: a Python model of a sorted set (score, then member bytes).
"""

from __future__ import annotations

import bisect

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_FLOAT = "ERR value is not a valid float"
MINMAX_FLOAT = "ERR min or max is not a float"
MINMAX_LEX = "ERR min or max not valid string range item"
NOT_INT = "ERR value is not an integer or out of range"
NAN_SCORE = "ERR resulting score is not a number (NaN)"
SYNTAX = "ERR syntax error"


def arity(cmd):
    return f"ERR wrong number of arguments for '{cmd}' command"


def fmt(score: float) -> str:
    return "%.17g" % score


def pairs(reply):
    """[(member, float score), ...] from any WITHSCORES shape."""
    if not reply:
        return []
    if all(isinstance(x, (list, tuple)) for x in reply):
        return [(m, float(s)) for m, s in reply]
    assert len(reply) % 2 == 0, reply
    return [(reply[i], float(reply[i + 1])) for i in range(0, len(reply), 2)]


# --------------------------------------------------------------------------
# Exact wire bytes
# --------------------------------------------------------------------------

def read_raw(rc) -> bytes:
    """The exact bytes of one reply (aggregates included) from a RawConn."""
    line = rc.read_line()
    t, rest = line[:1], line[1:]
    out = line + b"\r\n"
    if t in (b"$", b"=", b"!"):
        n = int(rest)
        if n >= 0:
            out += rc.read_exact(n) + b"\r\n"
    elif t in (b"*", b"~", b">", b"%", b"|"):
        n = int(rest)
        if t in (b"%", b"|"):
            n *= 2
        for _ in range(max(n, 0)):
            out += read_raw(rc)
    return out


def raw_cmd(rc, *args) -> bytes:
    rc.send(rc.encode(*args))
    return read_raw(rc)


def _b(x) -> bytes:
    if isinstance(x, bytes):
        return x
    return str(x).encode()


class Wire:
    """Expected reply bytes for protocol 2 or 3."""

    def __init__(self, protocol: int):
        self.protocol = protocol

    @staticmethod
    def bulk(x) -> bytes:
        x = _b(x)
        return b"$%d\r\n%s\r\n" % (len(x), x)

    @staticmethod
    def int(n) -> bytes:
        return b":%d\r\n" % n

    @staticmethod
    def arr(*items) -> bytes:
        return b"*%d\r\n" % len(items) + b"".join(items)

    @property
    def nil(self) -> bytes:
        return b"_\r\n" if self.protocol == 3 else b"$-1\r\n"

    @property
    def nil_array(self) -> bytes:
        return b"_\r\n" if self.protocol == 3 else b"*-1\r\n"

    def score(self, text) -> bytes:
        """A score: a bulk string in RESP2, a double in RESP3."""
        text = _b(text)
        return b",%s\r\n" % text if self.protocol == 3 else self.bulk(text)

    def withscores(self, items) -> bytes:
        """A WITHSCORES array: flat in RESP2, [member, score] pairs in RESP3.
        items: [(member, score text), ...]"""
        if self.protocol == 3:
            return self.arr(*[self.arr(self.bulk(m), self.score(s)) for m, s in items])
        return self.arr(*[x for m, s in items for x in (self.bulk(m), self.score(s))])

    def flat_pair(self, member, text) -> bytes:
        """ZPOPMIN/ZPOPMAX without a count: [member, score] in both protocols."""
        return self.arr(self.bulk(member), self.score(text))

    def members(self, items) -> bytes:
        return self.arr(*[self.bulk(m) for m in items])


# --------------------------------------------------------------------------
# Python model of a sorted set
# --------------------------------------------------------------------------

def index_range(seq, start, stop):
    """Redis's rank range: inclusive, negative counts from the end, clamped."""
    n = len(seq)
    if start < 0:
        start = max(n + start, 0)
    if stop < 0:
        stop = n + stop
    if start > stop or start >= n:
        return []
    return seq[start:min(stop, n - 1) + 1]


class Model:
    """Members ordered by (score, member bytes), as Redis orders them."""

    def __init__(self, mapping=None):
        self.scores = {}
        self.order = []
        for m, s in (mapping or {}).items():
            self.add(m, s)

    @staticmethod
    def _key(member, score):
        return (score, member.encode() if isinstance(member, str) else member)

    def add(self, member, score):
        if member in self.scores:
            self.order.remove(self._key(member, self.scores[member]))
        self.scores[member] = score
        bisect.insort(self.order, self._key(member, score))

    def remove(self, member):
        self.order.remove(self._key(member, self.scores.pop(member)))

    def members(self):
        return [m.decode() for _, m in self.order]

    def items(self):
        return [(m.decode(), s) for s, m in self.order]

    def rank(self, member):
        return bisect.bisect_left(self.order, self._key(member, self.scores[member]))

    def __len__(self):
        return len(self.order)

    def range(self, start, stop):
        """ZRANGE start stop: [(member, score), ...]."""
        return index_range(self.items(), start, stop)

    def revrange(self, start, stop):
        """ZREVRANGE start stop: [(member, score), ...]."""
        return index_range(list(reversed(self.items())), start, stop)

    def by_score(self, lo, hi, lo_ex=False, hi_ex=False):
        out = []
        for m, s in self.items():
            if (s > lo if lo_ex else s >= lo) and (s < hi if hi_ex else s <= hi):
                out.append((m, s))
        return out
