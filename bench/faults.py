"""Refresh load through nginx while the pool is hurt: kill -9 of a worker, SIGHUP of the master,
SIGTERM of a worker. Each client refreshes its own session in a loop, as an app would: it keeps
the new token on 200, retries with the token it holds on anything else, and counts its session
as lost on 401. Prints, per phase, answered / failed requests and lost sessions.

Usage: python3 bench/faults.py PORT DEV_PID TOKENS_FILE [CLIENTS] [PHASE_SECONDS]
Only talks to 127.0.0.1; every loop is bounded by the phase clock."""
import http.client, os, signal, sys, threading, time
from collections import Counter

port, dev_pid, tokens_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 24
phase_seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
tokens = [line.strip() for line in open(tokens_file) if line.strip()][:clients]
assert len(tokens) == clients, f"need {clients} tokens, have {len(tokens)}"

def children(pid):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit(): continue
        try: stat = open(f"/proc/{name}/stat").read()
        except OSError: continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z": found.append(int(name))
    return sorted(found)

def master():
    for pid in children(dev_pid):
        if b" serve " in open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" "): return pid
    raise SystemExit("no master")

lock = threading.Lock()
phase = ["warm-up"]
stats = {}          # phase -> Counter
stop = threading.Event()
lost = [0]

def record(key):
    with lock: stats.setdefault(phase[0], Counter())[key] += 1

def client(index):
    token = tokens[index]
    connection = None
    while not stop.is_set():
        try:
            if connection is None: connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("POST", "/jwt-allauth/refresh/", headers={"Cookie": f"refresh_token={token}", "Content-Length": "0"})
            response = connection.getresponse(); response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close": connection.close(); connection = None
        except Exception:
            status = -1
            if connection: connection.close()
            connection = None
        if status == 200:
            cookie = [v for k, v in response.getheaders() if k.lower() == "set-cookie" and v.startswith("refresh_token=")]
            token = cookie[0].split(";")[0].split("=", 1)[1]
            record("ok")
        elif status == 401:
            record("lost session")
            with lock: lost[0] += 1
            return
        else:
            record(f"failed {status}")

threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads: t.start()

def wait_for_workers(old, count=2, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = children(master())
        if len(now) == count and not set(now) & set(old): return True
        time.sleep(0.02)
    return False

def run_phase(name, action):
    phase[0] = name
    started = time.time()
    action()
    time.sleep(max(0.0, phase_seconds - (time.time() - started)))

def kill9():
    victim = children(master())[0]; os.kill(victim, signal.SIGKILL); wait_for_workers([victim])
def sighup():
    old = children(master()); os.kill(master(), signal.SIGHUP); wait_for_workers(old)
def sigterm():
    victim = children(master())[0]; os.kill(victim, signal.SIGTERM); wait_for_workers([victim])

run_phase("steady", lambda: None)
run_phase("kill -9 worker", kill9)
run_phase("SIGHUP master", sighup)
run_phase("SIGTERM worker", sigterm)
stop.set()
for t in threads: t.join(timeout=30)

print(f"{clients} clients, phases of >= {phase_seconds:.0f} s (each lasts until the pool is whole again)")
print(f"{'phase':<16} {'answered':>9} {'failed':>7}  {'lost sessions':>13}  failures")
for name in ["steady", "kill -9 worker", "SIGHUP master", "SIGTERM worker"]:
    counts = stats.get(name, Counter())
    failed = {k: v for k, v in counts.items() if k.startswith("failed")}
    print(f"{name:<16} {counts['ok']:>9} {sum(failed.values()):>7}  {counts['lost session']:>13}  {failed or ''}")
print(f"sessions lost in total: {lost[0]} of {clients}")
