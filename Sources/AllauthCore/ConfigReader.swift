import Foundation
import Yams

/// Why a configuration was refused; always names the key.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var key: String
    public var problem: String
    /// The configuration file, once known (`Config.load` names it): an operator with several
    /// files, or none where they expected one, learns which one was read.
    public var file: String? = nil
    public var description: String {
        guard let file else { return "config: \(key): \(problem)" }
        return key == "(file)" ? "config: \(file): \(problem)" : "config: \(file): \(key): \(problem)"
    }

    package init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }
}

/// Reads typed values out of a YAML document, letting `JWT_ALLAUTH_<SECTION>_<KEY>` environment
/// variables override any key, and refuses keys (in the file or the environment) that nobody read:
/// a misspelled key must stop the service, not silently fall back to a default.
package struct ConfigReader {
    static let environmentPrefix = "JWT_ALLAUTH_"
    /// Environment variables with our prefix that are not configuration keys.
    static let nonKeyVariables: Set<String> = ["JWT_ALLAUTH_CONFIG", "JWT_ALLAUTH_SHARE_DIR"]

    private let root: [String: [String: Node]]
    private let environment: [String: String]
    private var consumed: Set<String> = []
    let baseDirectory: URL

    package init(yaml: String, environment: [String: String], baseDirectory: URL) throws(ConfigError) {
        self.environment = environment
        self.baseDirectory = baseDirectory
        let document: Node?
        do {
            document = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(key: "(file)", problem: "not valid YAML: \(error)")
        }
        var sections: [String: [String: Node]] = [:]
        if let document, !Self.isNull(document) {
            guard let mapping = document.mapping else {
                throw ConfigError(key: "(file)", problem: "the top level must be a mapping of sections")
            }
            for (sectionNode, body) in mapping {
                guard let section = sectionNode.string else { throw ConfigError(key: "(file)", problem: "section names must be strings") }
                if Self.isNull(body) { sections[section] = [:]; continue }
                guard let entries = body.mapping else {
                    throw ConfigError(key: section, problem: "a section must be a mapping of keys")
                }
                var keys: [String: Node] = [:]
                for (keyNode, value) in entries {
                    guard let key = keyNode.string else { throw ConfigError(key: section, problem: "key names must be strings") }
                    keys[key] = value
                }
                sections[section] = keys
            }
        }
        self.root = sections
    }

    static func environmentName(_ key: String) -> String {
        environmentPrefix + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The keys read so far, in the order first read: what docs/configuration.md documents.
    package private(set) var keysRead: [SettingKey] = []

    /// The raw node for `section.key`: the environment wins over the file. `nil` when absent.
    private mutating func node(_ setting: SettingKey) throws(ConfigError) -> Node? {
        let key = setting.name
        if consumed.insert(key).inserted { keysRead.append(setting) }
        if let text = environment[Self.environmentName(key)] {
            do {
                return try Yams.compose(yaml: text) ?? Node("")
            } catch {
                throw ConfigError(key: key, problem: "environment value is not valid YAML")
            }
        }
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        return root[parts[0]]?[parts[1]]
    }

    /// True when the key is present but null (`null`, `~`, empty): distinct from absent,
    /// e.g. a cookie `max_age: null` asks for a session cookie while leaving it out keeps the default.
    package func isExplicitlyNull(_ setting: SettingKey) -> Bool {
        let key = setting.name
        if let text = environment[Self.environmentName(key)] {
            return ["", "null", "~"].contains(text.lowercased())
        }
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        guard let node = root[parts[0]]?[parts[1]] else { return false }
        return Self.isNull(node)
    }

    private static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar else { return false }
        // Only YAML's own nulls: "none" is a real value for some keys (SameSite=None,
        // email_verification: none) and must never silently become a default.
        return node.null != nil || scalar.string.isEmpty
    }

    private mutating func scalar(_ key: SettingKey) throws(ConfigError) -> String? {
        guard let node = try node(key) else { return nil }
        if Self.isNull(node) { return nil }
        guard let scalar = node.scalar else { throw ConfigError(key: key.name, problem: "expected a single value") }
        return scalar.string
    }

    package mutating func string(_ key: SettingKey, default defaultValue: String) throws(ConfigError) -> String {
        try scalar(key) ?? defaultValue
    }

    package mutating func optionalString(_ key: SettingKey) throws(ConfigError) -> String? {
        try scalar(key)
    }

    package mutating func bool(_ key: SettingKey, default defaultValue: Bool) throws(ConfigError) -> Bool {
        guard let text = try scalar(key) else { return defaultValue }
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigError(key: key.name, problem: "expected true or false, got \"\(text)\"")
        }
    }

    package mutating func int(_ key: SettingKey, default defaultValue: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        try optionalInt(key, range: range) ?? defaultValue
    }

    /// A whole number, or nil when unset: for a key whose default the caller works out from others.
    package mutating func optionalInt(_ key: SettingKey, range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let text = try scalar(key) else { return nil }
        guard let value = Int(text) else { throw ConfigError(key: key.name, problem: "expected a whole number, got \"\(text)\"") }
        guard range.contains(value) else {
            throw ConfigError(key: key.name, problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    package mutating func double(_ key: SettingKey, default defaultValue: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let text = try scalar(key) else { return defaultValue }
        guard let value = Double(text), range.contains(value) else {
            throw ConfigError(key: key.name, problem: "expected a number between \(range.lowerBound) and \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    /// A duration such as `30m`, `14d`, `90s`, `1h`, `2w` or a bare number of seconds. `nil` when unset
    /// or explicitly null (`null`, `~`, empty).
    package mutating func optionalDuration(_ key: SettingKey) throws(ConfigError) -> TimeInterval? {
        guard let text = try scalar(key) else { return nil }
        guard let seconds = Self.parseDuration(text) else {
            throw ConfigError(key: key.name, problem: "expected a duration like 30s, 30m, 12h, 14d or 2w, got \"\(text)\"")
        }
        return seconds
    }

    package mutating func duration(_ key: SettingKey, default defaultValue: TimeInterval, minimum: TimeInterval = 0) throws(ConfigError) -> TimeInterval {
        let value = try optionalDuration(key) ?? defaultValue
        guard value >= minimum else { throw ConfigError(key: key.name, problem: "must be at least \(Int(minimum))s") }
        return value
    }

    package static func parseDuration(_ text: String) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let seconds = Double(trimmed), seconds >= 0 { return seconds }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            if let number = Double(trimmed.dropLast(suffix.count)), number >= 0, number.isFinite { return number * factor }
        }
        return nil
    }

    package mutating func choice<T>(_ key: SettingKey, default defaultValue: T, _ options: [String: T]) throws(ConfigError) -> T {
        guard let text = try scalar(key) else { return defaultValue }
        if let value = options[text.lowercased()] { return value }
        throw ConfigError(key: key.name, problem: "must be one of \(options.keys.sorted().joined(separator: ", ")), got \"\(text)\"")
    }

    package mutating func stringList(_ key: SettingKey, default defaultValue: [String]) throws(ConfigError) -> [String] {
        guard let node = try node(key) else { return defaultValue }
        if Self.isNull(node) { return [] }
        if let sequence = node.sequence {
            var items: [String] = []
            for item in sequence {
                guard let string = item.scalar?.string else { throw ConfigError(key: key.name, problem: "expected a list of strings") }
                items.append(string)
            }
            return items
        }
        // A single value (handy from the environment): comma-separated.
        guard let scalar = node.scalar else { throw ConfigError(key: key.name, problem: "expected a list") }
        return scalar.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    package mutating func stringMap(_ key: SettingKey) throws(ConfigError) -> [(String, String)] {
        guard let node = try node(key), !Self.isNull(node) else { return [] }
        guard let mapping = node.mapping else { throw ConfigError(key: key.name, problem: "expected a mapping of name: value") }
        var pairs: [(String, String)] = []
        for (name, value) in mapping {
            guard let name = name.string, let value = value.scalar?.string else {
                throw ConfigError(key: key.name, problem: "expected a mapping of name: value")
            }
            pairs.append((name, value))
        }
        return pairs
    }

    /// A structured key (a mapping of names to nested values), from the file or, as for every key,
    /// from the environment as a YAML flow value (`JWT_ALLAUTH_SOCIAL_PROVIDERS='{example: {…}}'`).
    /// The caller reads the nested values with `NestedKeys`, which names the full key in errors.
    package mutating func mapping(_ key: SettingKey) throws(ConfigError) -> [(name: String, value: Node)] {
        guard let node = try node(key), !Self.isNull(node) else { return [] }
        guard let mapping = node.mapping else { throw ConfigError(key: key.name, problem: "expected a mapping of name: {…}") }
        var entries: [(name: String, value: Node)] = []
        for (name, value) in mapping {
            guard let name = name.string else { throw ConfigError(key: key.name, problem: "names must be strings") }
            entries.append((name, value))
        }
        return entries
    }

    /// A path; a relative one is taken from the directory of the config file.
    package mutating func path(_ key: SettingKey, default defaultValue: String) throws(ConfigError) -> String {
        resolve(try string(key, default: defaultValue))
    }

    package mutating func optionalPath(_ key: SettingKey) throws(ConfigError) -> String? {
        try optionalString(key).map(resolve)
    }

    package func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return baseDirectory.appendingPathComponent(path).standardizedFileURL.path
    }

    /// The whole of a file the configuration names (the file itself, a secret file); unreadable, it
    /// stops the start naming the path.
    package static func readText(path: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: "(file)", problem: "cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// "; did you mean `X`?" for the known name nearest to a misspelt `name` (at most a third of
    /// its letters changed, inserted or dropped), or nothing when none is that near.
    static func suggestion(_ name: String, among known: some Sequence<String>) -> String {
        var best: (name: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(name, candidate)
            if let current = best, current.distance < distance || (current.distance == distance && current.name < candidate) { continue }
            best = (candidate, distance)
        }
        guard let best, best.distance <= max(2, name.count / 3) else { return "" }
        return "; did you mean `\(best.name)`?"
    }

    /// Levenshtein distance: the single-character edits that turn `a` into `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }

    /// Fails on any key in the file, or `JWT_ALLAUTH_*` variable, that was never read.
    /// `otherVariables`: further prefixed environment names that are not configuration keys (the
    /// store's test hooks, `TransactionProbe.environmentNames`).
    package func rejectUnknownKeys(otherVariables: Set<String> = []) throws(ConfigError) {
        for (section, keys) in root.sorted(by: { $0.key < $1.key }) {
            for key in keys.keys.sorted() where !consumed.contains("\(section).\(key)") {
                let known = consumed.contains { $0.hasPrefix(section + ".") }
                let problem = known ? "unknown key" : "unknown section \"\(section)\""
                throw ConfigError(key: "\(section).\(key)", problem: problem + Self.suggestion("\(section).\(key)", among: consumed))
            }
        }
        let known = Set(consumed.map(Self.environmentName))
        for name in environment.keys.sorted() where name.hasPrefix(Self.environmentPrefix) {
            if !known.contains(name) && !Self.nonKeyVariables.contains(name) && !otherVariables.contains(name) {
                throw ConfigError(key: name, problem: "environment variable names no configuration key"
                                      + Self.suggestion(name, among: known))
            }
        }
    }
}

/// The members of one nested mapping (e.g. one provider under `social.providers`), read like
/// top-level keys: typed, with errors naming `parent.member`, and unknown members refused.
package struct NestedKeys {
    let key: String
    private let members: [String: Node]
    private var consumed: Set<String> = []

    package init(_ key: String, _ node: Node) throws(ConfigError) {
        self.key = key
        guard let mapping = node.mapping else { throw ConfigError(key: key, problem: "expected a mapping of keys") }
        var members: [String: Node] = [:]
        for (name, value) in mapping {
            guard let name = name.string else { throw ConfigError(key: key, problem: "key names must be strings") }
            members[name] = value
        }
        self.members = members
    }

    package mutating func optionalString(_ name: String) throws(ConfigError) -> String? {
        consumed.insert(name)
        guard let node = members[name], node.null == nil else { return nil }
        guard let scalar = node.scalar else { throw ConfigError(key: "\(key).\(name)", problem: "expected a single value") }
        return scalar.string.isEmpty ? nil : scalar.string
    }

    package mutating func string(_ name: String) throws(ConfigError) -> String {
        guard let value = try optionalString(name) else { throw ConfigError(key: "\(key).\(name)", problem: "is required") }
        return value
    }

    package mutating func stringList(_ name: String, default defaultValue: [String]) throws(ConfigError) -> [String] {
        consumed.insert(name)
        guard let node = members[name], node.null == nil else { return defaultValue }
        if let scalar = node.scalar { return scalar.string.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
        guard let sequence = node.sequence else { throw ConfigError(key: "\(key).\(name)", problem: "expected a list") }
        var items: [String] = []
        for item in sequence {
            guard let text = item.scalar?.string else { throw ConfigError(key: "\(key).\(name)", problem: "expected a list of strings") }
            items.append(text)
        }
        return items
    }

    package func rejectUnknown() throws(ConfigError) {
        for name in members.keys.sorted() where !consumed.contains(name) {
            throw ConfigError(key: "\(key).\(name)", problem: "unknown key" + ConfigReader.suggestion(name, among: consumed))
        }
    }
}
