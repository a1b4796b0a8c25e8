#!/usr/bin/env python3
"""Extracts every message a person reads into Templates/locale/jwt-allauth.pot, and checks or
updates the catalogs (`make messages`).

Messages are found mechanically, so new code needs no markers:
  * Swift: a one-line string literal under Sources/Allauth* (the service's targets) that reads as a sentence (starts
    with a capital letter, has a space and a lower-case letter) outside logging, operator errors
    and SQL, plus any literal with the plural idiom `word\\(n == 1 ? "" : "s")`. An interpolation
    `\\(expr)` becomes the python-format placeholder `%(expr)s`.
  * Swift: every literal of a line that ends in a `// i18n` comment (words shown inside a
    message, such as the password validator's "first name").
  * Templates: the text of every `{{#t}}...{{/t}}` section.

  scripts/messages.py            write the .pot
  scripts/messages.py --update   also append missing msgids (untranslated) to every .po
  scripts/messages.py --check    exit 1, listing them, if a catalog lacks or leaves out a message
  scripts/messages.py --pot F    write the template to F instead
"""
import os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = os.path.join(ROOT, "Sources")
# The service's targets (AllauthCore … AllauthHTTP); the CLI and FastCGI speak to operators only.
SOURCE_TARGETS = ("Allauth",)
TEMPLATES = os.path.join(ROOT, "Templates")
LOCALE = os.path.join(TEMPLATES, "locale")
DOMAIN = "jwt-allauth"

# Operator-facing code (config, storage, setup, catalogs, metrics, the hashers' reasons that
# import-django-users prints) and text that is data, not a message.
SKIP_DIRS = {"Config", "AllauthStore", "Deployment", "Localization", "Mail", "Metrics", "Hashing"}
SKIP_FILES = {"UserAgentInfo.swift", "JSON.swift", "DjangoImport.swift", "TemplateLibrary.swift", "TemplateError.swift",
              "MetricsHandler.swift", "CORS.swift"}
SKIP_LINE = re.compile(r"logger\.|TemplateError\(|ConfigError\(|CatalogError\(|fatalError\(|precondition|print\(|Bearer realm")
SQL = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|BEGIN|DROP|WITH|PRAGMA)\b")
HEADER = re.compile(r"^[A-Za-z-]+: \S+$")  # "Accept: application/json"
PLURAL = re.compile(r'(\w+)\\\(\s*([\w.]+)\s*==\s*1\s*\?\s*""\s*:\s*"(\w+)"\s*\)')


def swift_literals(line):
    """One-line string literals of a Swift line, raw (escapes and interpolations as written)."""
    out, i, n = [], 0, len(line)
    while i < n:
        if line.startswith("//", i):
            break
        if line[i] == '"':
            if line.startswith('"""', i):
                return out
            j, depth = i + 1, 0
            while j < n:
                c = line[j]
                if depth == 0 and c == "\\" and j + 1 < n and line[j + 1] == "(":
                    depth, j = 1, j + 2
                    continue
                if depth == 0 and c == "\\":
                    j += 2
                    continue
                if depth == 0 and c == '"':
                    break
                if depth > 0:
                    if c == "(":
                        depth += 1
                    elif c == ")":
                        depth -= 1
                    elif c == '"':  # a literal inside the interpolation
                        j = line.index('"', j + 1)
                j += 1
            out.append(line[i + 1:j])
            i = j + 1
        else:
            i += 1
    return out


def placeholder(expr):
    return "%(" + re.sub(r"[^\w.]+", "_", expr).strip("_") + ")s"


def interpolations(raw):
    """`\\(expr)` → `%(expr)s`, then Swift escapes → characters."""
    text, i = "", 0
    while i < len(raw):
        if raw.startswith("\\(", i):
            depth, j = 1, i + 2
            while depth:
                depth += {"(": 1, ")": -1}.get(raw[j], 0)
                j += 1
            text += placeholder(raw[i + 2:j - 1])
            i = j
        elif raw.startswith("\\u{", i):
            j = raw.index("}", i)
            text += chr(int(raw[i + 3:j], 16))
            i = j + 1
        elif raw[i] == "\\":
            text += {"n": "\n", "t": "\t"}.get(raw[i + 1], raw[i + 1])
            i += 2
        else:
            text += raw[i]
            i += 1
    return text


def swift_messages():
    found = {}
    for directory, dirs, files in os.walk(SOURCES):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                         and (directory != SOURCES or d.startswith(SOURCE_TARGETS)))
        for name in sorted(files):
            if not name.endswith(".swift") or name in SKIP_FILES:
                continue
            path = os.path.join(directory, name)
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                if SKIP_LINE.search(line) or line.lstrip().startswith("//"):
                    continue
                marked = "// i18n" in line
                for raw in swift_literals(line):
                    ref = f"{os.path.relpath(path, ROOT)}:{number}"
                    plural = PLURAL.search(raw)
                    if plural:
                        singular = raw[:plural.start()] + plural.group(1) + raw[plural.end():]
                        many = raw[:plural.start()] + plural.group(1) + plural.group(3) + raw[plural.end():]
                        found.setdefault((interpolations(singular), interpolations(many)), []).append(ref)
                        continue
                    text = interpolations(raw)
                    bare = re.sub(r"%\([^)]*\)s", "", text)
                    # A sentence has words: an SVG path ("M%(x)s %(y)sh1v1h-1z") or a header line has not.
                    if marked or (re.match(r"[A-Z]", text) and " " in bare and len(re.findall(r"[A-Za-z]{2,}", bare)) >= 2
                                  and not SQL.match(text) and not HEADER.match(text) and "://" not in text):
                        found.setdefault((text, None), []).append(ref)
    return found


def template_messages():
    found = {}
    for directory, dirs, files in os.walk(TEMPLATES):
        dirs[:] = sorted(d for d in dirs if d != "locale")
        for name in sorted(files):
            if not name.endswith(".mustache"):
                continue
            path = os.path.join(directory, name)
            text = open(path, encoding="utf-8").read()
            for match in re.finditer(r"\{\{#t\}\}(.*?)\{\{/t\}\}", text, re.S):
                number = text.count("\n", 0, match.start()) + 1
                found.setdefault((match.group(1), None), []).append(f"{os.path.relpath(path, ROOT)}:{number}")
    return found


def quote(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    if "\n" not in escaped:
        return '"' + escaped + '"'
    lines = escaped.split("\n")
    return '""\n' + "\n".join('"' + l + ('\\n' if k < len(lines) - 1 else "") + '"' for k, l in enumerate(lines) if l or k < len(lines) - 1)


def entry(msgid, plural, refs, nplurals=2):
    lines = ["#: " + " ".join(refs)]
    if "%(" in msgid:
        lines.append("#, python-format")
    lines.append("msgid " + quote(msgid))
    if plural is None:
        lines.append('msgstr ""')
    else:
        lines.append("msgid_plural " + quote(plural))
        lines += [f'msgstr[{k}] ""' for k in range(nplurals)]
    return "\n".join(lines) + "\n"


POT_HEADER = '''# Messages of jwt-allauth: API answers, mails and pages. Generated by scripts/messages.py.
msgid ""
msgstr ""
"Project-Id-Version: jwt-allauth\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"

'''


def read_po(path):
    """msgid → (translated?, line) for a catalog, and its nplurals."""
    entries, nplurals = {}, 2
    text = open(path, encoding="utf-8").read()
    m = re.search(r"nplurals=(\d+)", text)
    if m:
        nplurals = int(m.group(1))
    for block in re.split(r"\n\s*\n", text):
        fields, current = {}, None
        for line in block.splitlines():
            line = line.strip()
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?|msgctxt)\s+"(.*)"$', line)
            if m:
                current = m.group(1)
                fields[current] = m.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if "msgid" in fields and fields["msgid"]:
            msgid = fields["msgid"].replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
            values = [v for k, v in fields.items() if k.startswith("msgstr")]
            entries[msgid] = bool(values) and all(values) and "#, fuzzy" not in block
    return entries, nplurals


def main(args):
    messages = {**swift_messages(), **template_messages()}
    pot = os.path.join(LOCALE, DOMAIN + ".pot")
    if "--pot" in args:
        pot = args[args.index("--pot") + 1]
    with open(pot, "w", encoding="utf-8") as f:
        f.write(POT_HEADER + "\n".join(entry(i, p, r) for (i, p), r in sorted(messages.items())))
    problems = []
    for code in sorted(os.listdir(LOCALE)):
        po = os.path.join(LOCALE, code, "LC_MESSAGES", DOMAIN + ".po")
        if not os.path.isfile(po):
            continue
        entries, nplurals = read_po(po)
        missing = [(i, p, r) for (i, p), r in sorted(messages.items()) if i not in entries]
        if "--update" in args and missing:
            with open(po, "a", encoding="utf-8") as f:
                for i, p, r in missing:
                    f.write("\n" + entry(i, p, r, nplurals))
            entries, _ = read_po(po)
        for (i, p), r in sorted(messages.items()):
            if i not in entries:
                problems.append(f"{po}: no entry for {i!r} ({r[0]})")
            elif code != "en" and not entries[i]:
                problems.append(f"{po}: {i!r} is not translated ({r[0]})")
    if "--check" in args and problems:
        print("\n".join(problems))
        print(f"{len(problems)} message(s) without a translation: run `make messages`, then translate the empty msgstr entries")
        return 1
    print(f"{pot}: {len(messages)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
