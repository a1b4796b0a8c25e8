#!/usr/bin/env python3
"""wrk's report as one line of fields, for the bench scripts (the one parser they share).

Usage: wrk ... --latency URL 2>&1 | python3 bench/wrk-summary.py [--file FILE] FIELD[:FORMAT]...
Reads wrk's output on stdin (or from FILE) and prints the FIELDs asked for, in that order,
separated by spaces. FORMAT is a Python format spec (".2f"); without one a count prints as an
integer and a time as it parsed. Times are in milliseconds unless said otherwise.

  rps              Requests/sec
  p50 p75 p90 p99  the latency percentiles (wrk --latency)
  mean max         the Latency line's Avg and Max
  requests         the count in "N requests in T"
  seconds          T, the run's duration, in seconds
  non2xx           "Non-2xx or 3xx responses" (0 when wrk printed none)
  socket_errors    connect + read + write + timeout of the "Socket errors" line (0 without one)
  timeouts         its timeout count alone
  errors           the "Socket errors" line itself with "_" for spaces, left out without one
  status_N         N's count in the "status N: count" lines bench/refresh.lua and login.lua print
  status_5xx       the counts of the 5xx statuses together
  status_other     the counts of the statuses no status_N field of the same call names

When wrk printed no Requests/sec (it could not run: the server did not come up), every field but
errors prints nan and wrk's text goes to stderr, so the caller's row shows it instead of dying.
"""
import re
import sys

UNIT_MS = {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}
DURATION = r"([\d.]+)(us|ms|s|m|h)\b"


def to_ms(value, unit):
    return float(value) * UNIT_MS[unit]


def summary(text, names):
    """The fields of `text`, a dict by name; None for a text field that is absent."""
    nan = float("nan")
    latency = re.search(r"^\s*Latency\s+%s\s+%s\s+%s" % (DURATION, DURATION, DURATION), text, re.M)
    mean_only = re.search(r"^\s*Latency\s+%s" % DURATION, text, re.M)
    ran = re.search(r"(\d+) requests in %s" % DURATION, text)
    socket = re.search(r"Socket errors:.*", text)
    socket_counts = dict(re.findall(r"(connect|read|write|timeout) (\d+)", socket.group(0))) if socket else {}
    statuses = {int(s): int(c) for s, c in re.findall(r"^status (\d+): (\d+)$", text, re.M)}
    named = {int(name[len("status_"):]) for name in names if re.fullmatch(r"status_\d+", name)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)

    def percentile(label):
        m = re.search(r"^\s*%s\s+%s" % (label, DURATION), text, re.M)
        return to_ms(*m.groups()) if m else nan

    fields = {
        "rps": float(rps.group(1)) if rps else nan,
        "mean": to_ms(*mean_only.groups()) if mean_only else nan,
        "max": to_ms(*latency.groups()[4:6]) if latency else nan,
        "requests": int(ran.group(1)) if ran else 0,
        "seconds": to_ms(*ran.groups()[1:3]) / 1000 if ran else nan,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(c) for c in socket_counts.values()),
        "timeouts": int(socket_counts.get("timeout", 0)),
        "errors": socket.group(0).replace(" ", "_") if socket else None,
        "status_5xx": sum(c for s, c in statuses.items() if 500 <= s <= 599),
        "status_other": sum(c for s, c in statuses.items() if s not in named),
    }
    for label in ("50", "75", "90", "99"):
        fields["p" + label] = percentile(label + "%")
    for name in names:
        if re.fullmatch(r"status_\d+", name):
            fields[name] = statuses.get(int(name[len("status_"):]), 0)
    return fields


def main(argv):
    if argv[:1] == ["--file"]:
        with open(argv[1]) as f:
            text = f.read()
        argv = argv[2:]
    else:
        text = sys.stdin.read()
    specs = [arg.partition(":") for arg in argv]
    names = [name for name, _, _ in specs]
    fields = summary(text, names)
    unknown = [name for name in names if name not in fields]
    if unknown:
        sys.exit("wrk-summary.py: unknown field(s) %s" % " ".join(unknown))
    ran = re.search(r"Requests/sec:", text) is not None
    if not ran:
        print(text, file=sys.stderr)
    out = []
    for name, _, spec in specs:
        value = fields[name]
        if value is None or (not ran and name == "errors"):
            continue
        out.append("nan" if not ran else format(value, spec))
    print(" ".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
