#!/usr/bin/env python3
"""Checks the layering of Sources/ (docs/architecture.md, "Layers"); `make test` runs it first.

Two rules, each one a compiler would not fully keep:
  1. A target imports only what its layer allows. Package.swift's dependencies already stop a
     lower target from importing a higher one that is not built yet, but SwiftPM lets a target
     import any module that happens to be built before it (a dependency's dependency, a system
     library): the allowed lists below are the contract, checked line by line.
  3. A request thread blocks for long only through AllauthRuntime's `Blocking`, which hands its
     running turn to another thread first: a sleep, a libcurl transfer or a blocking flock in the
     service's targets stands on a line that goes through `Blocking.`, or in a file of BLOCKING_EXEMPT
     (code that runs in no request thread, or that hands over itself once a wait turns long).
  4. Engine switches stay in the store: above AllauthStore no code asks which engine answers
     (`db.engine`) or writes one engine's SQL (`FOR UPDATE`, `SKIP LOCKED`, `rowid`); the store
     types use `db.dialect`'s fragments instead.
  2. Inside AllauthDomain the folders form layers too, bottom to top (DOMAIN_ORDER): a folder may
     name types of the folders below it, never of those above. Where two flows meet, the use case
     in UseCases/ owns the meeting, so Accounts does not reach into Sessions and back.

  scripts/layers.py          exit 1, listing every violation
  scripts/layers.py --graph  print the domain folders' references (for docs/architecture.md)
"""
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = os.path.join(ROOT, "Sources")

SYSTEM = {"Foundation", "Glibc", "Synchronization", "Dispatch"}
# What each target may import besides SYSTEM. Order is the layer order.
ALLOWED = {
    "AllauthCore": {"Yams"},
    # CArgon2 and CXCrypt: the C libraries that check imported Django argon2 and bcrypt hashes, in
    # the one place that hashes (Hashing/, behind BudgetedHasher's slots), like swift-crypto's PBKDF2.
    "AllauthRuntime": {"AllauthCore", "Atomics", "Crypto", "_CryptoExtras", "CArgon2", "CXCrypt"},
    "AllauthStore": {"AllauthCore", "AllauthRuntime", "CSQLite", "CPostgreSQL"},
    "AllauthDomain": {"AllauthCore", "AllauthRuntime", "AllauthStore", "CCurl", "CQRencode",
                      "Crypto", "_CryptoExtras", "Logging", "Mustache"},
    "AllauthHTTP": {"AllauthCore", "AllauthRuntime", "AllauthStore", "AllauthDomain",
                    "FastCGI", "HTTPTypes", "Logging"},
    "FastCGI": {"CFastCGI", "CEpoll", "HTTPTypes", "Logging"},
    "jwt-allauth": {"AllauthCore", "AllauthRuntime", "AllauthStore", "AllauthDomain", "AllauthHTTP",
                    "FastCGI", "ArgumentParser", "Logging", "HTTPTypes"},
}

# AllauthDomain's folders, bottom first: each may use the ones before it.
DOMAIN_ORDER = ["Localization", "Templates", "Tokens", "Accounts", "Throttle", "Sessions", "Mail",
                "MFA", "Social", "UseCases", "Config", "Deployment"]

SERVICE_TARGETS = ["AllauthCore", "AllauthRuntime", "AllauthStore", "AllauthDomain", "AllauthHTTP"]
BLOCKING_CALL = re.compile(r"(?<![.\w])(?:usleep|nanosleep|sleep|curl_easy_perform)\(|Thread\.sleep|\bflock\([^)]*LOCK_EX\)")
BLOCKING_EXEMPT = {
    "AllauthRuntime/Blocking/Blocking.swift": "the blocking API itself",
    "AllauthStore/SQLite/WriterLock.swift": "waits in flock until a timer, and hands over once the wait passes longWaitAfter",
    "AllauthStore/Purge.swift": "purge-tokens and the sweeper pause between slices; no request thread",
    "AllauthStore/SQLite/OnlineBackup.swift": "the backup command; no request thread",
    "AllauthDomain/Mail/StopFlag.swift": "the mail process between polls; no request thread",
    "AllauthDomain/Mail/SMTPTransport.swift": "the mail process's SMTP delivery; no request thread",
}

IMPORT = re.compile(r"^\s*(?:@\w+\s+)*import\s+(?:(?:struct|enum|class|func|protocol)\s+)?(\w+)", re.M)
DECLARATION = re.compile(
    r"^(?:(?:public|package|private|fileprivate|final|indirect)\s+|@\w+(?:\([^)]*\))?\s+)*"
    r"(?:struct|enum|class|protocol|actor|typealias)\s+(\w+)", re.M)


def swift_files(directory):
    for path, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".swift"):
                yield os.path.join(path, name)


def without_comments_and_strings(text):
    text = re.sub(r'"""[\s\S]*?"""', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"//.*", "", text)


def check_imports():
    problems = []
    for target, allowed in ALLOWED.items():
        directory = os.path.join(SOURCES, target)
        if not os.path.isdir(directory):
            problems.append(f"{target}: no such target folder under Sources/")
            continue
        for path in swift_files(directory):
            for module in IMPORT.findall(open(path, encoding="utf-8").read()):
                if module not in allowed and module not in SYSTEM:
                    problems.append(f"{os.path.relpath(path, ROOT)}: {target} must not import {module}")
    known = set(ALLOWED) | {"CFastCGI", "CEpoll", "CSQLite", "CCurl", "CQRencode", "CPostgreSQL", "CArgon2", "CXCrypt"}
    for name in sorted(os.listdir(SOURCES)):
        if os.path.isdir(os.path.join(SOURCES, name)) and name not in known:
            problems.append(f"Sources/{name}: a target this check does not know; give it a layer in scripts/layers.py")
    return problems


def check_blocking():
    problems = []
    for target in SERVICE_TARGETS:
        for path in swift_files(os.path.join(SOURCES, target)):
            relative = os.path.relpath(path, SOURCES)
            if relative in BLOCKING_EXEMPT:
                continue
            for number, line in enumerate(without_comments_and_strings(open(path, encoding="utf-8").read()).split("\n"), 1):
                if BLOCKING_CALL.search(line) and "Blocking." not in line:
                    problems.append(f"Sources/{relative}:{number}: a blocking call outside Blocking (run, sleep or handOver)")
    return problems


ENGINE_SWITCH = re.compile(r"\bdb\.engine\b|\bFOR UPDATE\b|\bSKIP LOCKED\b|\browid\b")


def check_engine_switches():
    problems = []
    for target in ["AllauthDomain", "AllauthHTTP"]:
        for path in swift_files(os.path.join(SOURCES, target)):
            text = re.sub(r"//.*", "", open(path, encoding="utf-8").read())
            for number, line in enumerate(text.split("\n"), 1):
                if ENGINE_SWITCH.search(line):
                    problems.append(f"{os.path.relpath(path, ROOT)}:{number}: an engine switch above the store (use db.dialect)")
    return problems


def domain_references():
    """folder -> {other folder -> {"File.swift -> Type"}} for references between domain folders."""
    domain = os.path.join(SOURCES, "AllauthDomain")
    owner, texts = {}, {}
    for path in swift_files(domain):
        folder = os.path.relpath(path, domain).split(os.sep)[0]
        text = open(path, encoding="utf-8").read()
        texts[path] = (folder, without_comments_and_strings(text))
        for name in DECLARATION.findall(text):
            owner.setdefault(name, folder)
    references = defaultdict(lambda: defaultdict(set))
    for path, (folder, text) in texts.items():
        for name in set(re.findall(r"\b[A-Z]\w*\b", text)):
            other = owner.get(name)
            if other and other != folder:
                references[folder][other].add(f"{os.path.relpath(path, domain)} -> {name}")
    return references


def check_domain():
    problems = []
    references = domain_references()
    folders = {f for f in os.listdir(os.path.join(SOURCES, "AllauthDomain"))
               if os.path.isdir(os.path.join(SOURCES, "AllauthDomain", f))}
    for folder in sorted(folders - set(DOMAIN_ORDER)):
        problems.append(f"AllauthDomain/{folder}: a folder without a place in DOMAIN_ORDER")
    for folder, targets in sorted(references.items()):
        for other, uses in sorted(targets.items()):
            if folder in DOMAIN_ORDER and other in DOMAIN_ORDER and DOMAIN_ORDER.index(other) > DOMAIN_ORDER.index(folder):
                for use in sorted(uses):
                    problems.append(f"AllauthDomain/{use}: {folder} is below {other}")
    return problems


def main():
    if "--graph" in sys.argv:
        for folder, targets in sorted(domain_references().items()):
            print(f"{folder} -> " + ", ".join(f"{o} ({len(u)})" for o, u in sorted(targets.items())))
        return 0
    problems = check_imports() + check_blocking() + check_engine_switches() + check_domain()
    for problem in problems:
        print(problem)
    if problems:
        print(f"layers: {len(problems)} violation(s); see docs/architecture.md, Layers", file=sys.stderr)
        return 1
    print("layers: every import and every domain reference goes downwards; every blocking call goes through Blocking; no engine switch above the store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
