import Foundation

/// One entry of a gettext catalog: `msgid` (with `msgid_plural`) and its translations.
struct POEntry: Sendable {
    var context: String?
    var msgid: String
    var msgidPlural: String?
    /// `msgstr`, or `msgstr[0]`, `msgstr[1]`, … for a plural entry.
    var msgstr: [String]
    var isFuzzy: Bool
    /// The line of the entry's `msgid`, to name it in errors.
    var line: Int
}

/// A gettext `.po` file read by our own small reader: no Swift gettext library is among the
/// packages we may use, and the format we need (UTF-8, `msgctxt`/`msgid`/`msgid_plural`/`msgstr[n]`,
/// continued strings, comments and flags) is a few dozen lines. Errors name the file and line.
struct POFile: Sendable {
    var entries: [POEntry]
    /// The header entry's `Name: value` lines (`Language`, `Plural-Forms`, `Content-Type`, …).
    var headers: [String: String]

    init(path: String) throws(CatalogError) {
        let data: Data
        switch Self.read(path) {
        case .success(let bytes): data = bytes
        // Say why (missing, permissions, out of descriptors): "cannot be read" alone once left a
        // failure on CI unexplained.
        case .failure(let code): throw CatalogError(file: path, line: nil, problem: "cannot be read (\(String(cString: strerror(code.code.rawValue))))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CatalogError(file: path, line: nil, problem: "is not UTF-8 text")
        }
        try self.init(text: text, file: path)
    }

    /// The file's bytes, or the errno that stopped the read.
    private static func read(_ path: String) -> Result<Data, POSIXError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)) }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Foundation.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return .failure(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)) }
            if count == 0 { return .success(data) }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    init(text: String, file: String) throws(CatalogError) {
        var parser = Parser(file: file)
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            try parser.feed(line.hasSuffix("\r") ? line.dropLast() : line, number: index + 1)
        }
        try parser.finish()
        entries = parser.entries.filter { !$0.msgid.isEmpty || $0.context != nil }
        headers = [:]
        if let header = parser.entries.first(where: { $0.msgid.isEmpty && $0.context == nil }), let body = header.msgstr.first {
            for line in body.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[String(line[..<colon]).trimmingCharacters(in: .whitespaces)] =
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// A line-by-line state machine: a keyword starts a field, a bare string continues it, a
    /// blank line or the next `msgid`/`msgctxt` ends the entry.
    private struct Parser {
        let file: String
        var entries: [POEntry] = []
        private var context: String?
        private var msgid: String?
        private var msgidPlural: String?
        private var msgstr: [Int: String] = [:]
        private var fuzzy = false
        private var entryLine = 0
        /// Which field a continued string belongs to.
        private enum Field { case context, msgid, plural, msgstr(Int) }
        private var field: Field?

        init(file: String) { self.file = file }

        mutating func feed(_ raw: Substring, number: Int) throws(CatalogError) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { try flush(); return }
            if line.hasPrefix("#") {
                if line.hasPrefix("#,") && line.contains("fuzzy") { try flushIfComplete(); fuzzy = true }
                return
            }
            if line.hasPrefix("\"") {
                guard let current = field else { throw error(number, "a string continues no keyword") }
                let value = try string(line, number)
                switch current {
                case .context: context! += value
                case .msgid: msgid! += value
                case .plural: msgidPlural! += value
                case .msgstr(let index): msgstr[index]! += value
                }
                return
            }
            guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw error(number, "expected a keyword and a quoted string")
            }
            let keyword = String(line[..<space])
            let value = try string(line[space...].trimmingCharacters(in: .whitespaces), number)
            switch keyword {
            case "msgctxt":
                try flushIfComplete()
                context = value; field = .context; entryLine = number
            case "msgid":
                if context == nil { try flushIfComplete() }
                guard msgid == nil else { throw error(number, "a second msgid in one entry") }
                msgid = value; field = .msgid; entryLine = number
            case "msgid_plural":
                guard msgid != nil, msgidPlural == nil else { throw error(number, "msgid_plural without a msgid before it") }
                msgidPlural = value; field = .plural
            case "msgstr":
                guard msgid != nil, msgidPlural == nil else { throw error(number, "msgstr without a msgid, or a plural entry without msgstr[n]") }
                guard msgstr[0] == nil else { throw error(number, "a second msgstr in one entry") }
                msgstr[0] = value; field = .msgstr(0)
            default:
                guard keyword.hasPrefix("msgstr["), keyword.hasSuffix("]"), let index = Int(keyword.dropFirst(7).dropLast()),
                      index >= 0, index < 10 else {
                    throw error(number, "unknown keyword \(keyword)")
                }
                guard msgidPlural != nil else { throw error(number, "msgstr[\(index)] in an entry without msgid_plural") }
                guard index == msgstr.count, msgstr[index] == nil else { throw error(number, "msgstr[\(index)] out of order") }
                msgstr[index] = value; field = .msgstr(index)
            }
        }

        mutating func finish() throws(CatalogError) { try flush() }

        private mutating func flushIfComplete() throws(CatalogError) { if !msgstr.isEmpty { try flush() } }

        private mutating func flush() throws(CatalogError) {
            defer { context = nil; msgid = nil; msgidPlural = nil; msgstr = [:]; fuzzy = false; field = nil }
            guard let msgid else {
                if context != nil { throw error(entryLine, "msgctxt without a msgid") }
                return
            }
            guard !msgstr.isEmpty else { throw error(entryLine, "msgid without a msgstr") }
            entries.append(POEntry(context: context, msgid: msgid, msgidPlural: msgidPlural,
                                   msgstr: (0..<msgstr.count).map { msgstr[$0]! }, isFuzzy: fuzzy, line: entryLine))
        }

        /// A C-style quoted string: `\n`, `\t`, `\"`, `\\` are the escapes gettext writes.
        private func string(_ text: some StringProtocol, _ number: Int) throws(CatalogError) -> String {
            guard text.count >= 2, text.first == "\"", text.last == "\"" else { throw error(number, "expected a quoted string") }
            var result = ""
            var escaped = false
            for character in text.dropFirst().dropLast() {
                if escaped {
                    switch character {
                    case "n": result.append("\n")
                    case "t": result.append("\t")
                    case "\"", "\\": result.append(character)
                    default: throw error(number, "unknown escape \\\(character)")
                    }
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    throw error(number, "an unescaped quote inside a string")
                } else {
                    result.append(character)
                }
            }
            if escaped { throw error(number, "a string ends in a lone backslash") }
            return result
        }

        private func error(_ line: Int, _ problem: String) -> CatalogError {
            CatalogError(file: file, line: line, problem: problem)
        }
    }
}
