/// One language's translations, from its `.po` file. Messages are looked up by their English
/// text, exactly as the code and templates say it: a message with values in it (`%(name)s` in
/// the msgid, `\(name)` in the Swift literal) is matched as a pattern, so the code keeps plain
/// English strings and translation happens once, where the answer is written.
public struct Catalog: Sendable {
    /// The `.po` directory name: `de`, `pt_BR`, `zh_Hans`.
    public let code: String
    /// The BCP 47 tag of `Content-Language` for answers in this language (`pt-BR`), made once.
    public let tag: String
    let plural: PluralRule
    private var exact: [String: String] = [:]
    private var patterns: [Pattern] = []

    /// The English "catalog": every message is its own translation.
    static func english() -> Catalog { Catalog(code: "en", plural: .english) }

    private init(code: String, plural: PluralRule) {
        self.code = code
        self.tag = Translations.tag(code)
        self.plural = plural
    }

    /// Reads and validates a catalog: a usable `Plural-Forms`, every plural entry with that many
    /// forms, and every translation with the same placeholders as its msgid.
    init(code: String, file: POFile, path: String) throws(CatalogError) {
        if let charset = file.headers["Content-Type"], !charset.lowercased().contains("charset=utf-8") {
            throw CatalogError(file: path, line: 1, problem: "the Content-Type header must say charset=UTF-8")
        }
        let plural: PluralRule
        if let header = file.headers["Plural-Forms"] {
            guard let rule = PluralRule(header: header) else {
                throw CatalogError(file: path, line: 1, problem: "the Plural-Forms header \"\(header)\" cannot be read")
            }
            plural = rule
        } else {
            plural = .english
        }
        self.init(code: code, plural: plural)
        for entry in file.entries where !entry.isFuzzy {
            if let msgidPlural = entry.msgidPlural, entry.msgstr.count != plural.count {
                throw CatalogError(file: path, line: entry.line,
                                   problem: "\"\(msgidPlural)\" has \(entry.msgstr.count) plural forms; Plural-Forms says \(plural.count)")
            }
            for (index, translation) in entry.msgstr.enumerated() where !translation.isEmpty {
                let source = index == 0 && entry.msgidPlural == nil ? entry.msgid : (entry.msgidPlural ?? entry.msgid)
                let wanted = Placeholders.names(in: source), found = Placeholders.names(in: translation)
                if found != wanted {
                    throw CatalogError(file: path, line: entry.line, problem: "the translation of \"\(entry.msgid)\" has the placeholders "
                        + "\(found.sorted()) where the msgid has \(wanted.sorted())")
                }
            }
            add(entry)
        }
    }

    /// Every msgid this catalog translates (plural entries by their singular msgid).
    var msgids: Set<String> { Set(exact.keys).union(patterns.map(\.msgid)) }

    private mutating func add(_ entry: POEntry) {
        guard entry.msgstr.contains(where: { !$0.isEmpty }) else { return }
        if entry.msgidPlural == nil && !Placeholders.hasValues(entry.msgid) {
            exact[entry.msgid] = entry.msgstr[0]
            return
        }
        for source in [entry.msgid] + (entry.msgidPlural.map { [$0] } ?? []) {
            patterns.append(Pattern(msgid: entry.msgid, source: source, forms: entry.msgstr, isPlural: entry.msgidPlural != nil))
        }
    }

    /// The translation of an English message, or the message itself when the catalog has none.
    public func translate(_ english: String) -> String {
        if let translation = exact[english] { return translation }
        for pattern in patterns {
            guard let values = pattern.match(english) else { continue }
            var form = pattern.forms[0]
            if pattern.isPlural, let count = pattern.count(in: values) {
                form = pattern.forms[plural.index(for: count)]
            }
            guard !form.isEmpty else { return english }
            for (name, value) in values {
                // A value may be a message itself ("first name" in "too similar to the first name").
                form = form.replacingOccurrences(of: name, with: exact[value] ?? value)
            }
            return form
        }
        return english
    }

    /// A msgid with `%(name)s` values, matched against English text: literal pieces in order,
    /// each value whatever lies between them.
    private struct Pattern: Sendable {
        let msgid: String
        let forms: [String]
        let isPlural: Bool
        private let pieces: [String]
        private let names: [String]

        init(msgid: String, source: String, forms: [String], isPlural: Bool) {
            self.msgid = msgid
            self.forms = forms
            self.isPlural = isPlural
            (pieces, names) = Placeholders.split(source)
        }

        /// The number a plural message is about: its first value that is one.
        func count(in values: [String: String]) -> Int? {
            names.lazy.compactMap { values[$0].flatMap { Int($0) } }.first
        }

        func match(_ text: String) -> [String: String]? {
            guard text.hasPrefix(pieces[0]), text.hasSuffix(pieces[pieces.count - 1]),
                  text.count >= pieces[0].count + pieces[pieces.count - 1].count else { return nil }
            var rest = text.dropFirst(pieces[0].count)
            var values: [String: String] = [:]
            for (index, name) in names.enumerated() {
                let literal = pieces[index + 1]
                let end: String.Index
                if index == names.count - 1 {
                    guard rest.hasSuffix(literal) else { return nil }
                    end = rest.index(rest.endIndex, offsetBy: -literal.count)
                } else {
                    guard !literal.isEmpty, let range = rest.range(of: literal) else { return nil }
                    end = range.lowerBound
                }
                guard end > rest.startIndex else { return nil }
                values[name] = String(rest[..<end])
                rest = rest[end...].dropFirst(literal.count)
            }
            return rest.isEmpty ? values : nil
        }
    }
}

/// The two placeholder kinds a message may hold: `%(name)s` (Python format, as gettext tools
/// know it) for values the code fills in, and Mustache tags (`{{email}}`, `{{#first_name}}`) in
/// template text, which the translated text keeps and the template then renders.
enum Placeholders {
    static func names(in text: String) -> Set<String> {
        var names = Set(split(text).names)
        var rest = Substring(text)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            names.insert(String(rest[open.lowerBound..<close.upperBound]))
            rest = rest[close.upperBound...]
        }
        return names
    }

    static func hasValues(_ text: String) -> Bool { text.contains("%(") }

    /// Literal pieces around each `%(name)s`: always one more piece than names.
    static func split(_ text: String) -> (pieces: [String], names: [String]) {
        var pieces: [String] = []
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "%("), let close = rest[open.upperBound...].range(of: ")s") {
            pieces.append(String(rest[..<open.lowerBound]))
            names.append(String(rest[open.lowerBound..<close.upperBound]))
            rest = rest[close.upperBound...]
        }
        pieces.append(String(rest))
        return (pieces, names)
    }
}
