import Foundation

/// Every shipped catalog (`Templates/locale/<code>/LC_MESSAGES/jwt-allauth.po`), loaded and
/// validated once at start, and the choice of one for a request (`Accept-Language`) or a user
/// (the stored `language`).
public struct Translations: Sendable {
    /// Code (`pt_BR`) → catalog; English is always there (its msgids are the code's own text).
    private let catalogs: [String: Catalog]
    public let defaultLanguage: String
    private let defaultCatalog: Catalog

    public static let domain = "jwt-allauth"

    /// Reads every `<code>/LC_MESSAGES/jwt-allauth.po` below `directory`. Throws a `CatalogError`
    /// naming the file (and line) of the first broken catalog, or when `defaultLanguage` has none.
    public init(directory: String, defaultLanguage: String) throws(CatalogError) {
        var catalogs = ["en": Catalog.english()]
        let codes = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for code in codes.sorted() {
            let path = "\(directory)/\(code)/LC_MESSAGES/\(Self.domain).po"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let file = try POFile(path: path)
            if let language = file.headers["Language"], language != code {
                throw CatalogError(file: path, line: 1, problem: "the Language header says \(language) but the directory is \(code)")
            }
            catalogs[code] = try Catalog(code: code, file: file, path: path)
        }
        guard catalogs[defaultLanguage] != nil else {
            throw CatalogError(file: directory, line: nil, problem: "i18n.default_language is \(defaultLanguage), which has no catalog "
                + "here (there are: \(catalogs.keys.sorted().joined(separator: ", ")))")
        }
        self.catalogs = catalogs
        self.defaultLanguage = defaultLanguage
        self.defaultCatalog = catalogs[defaultLanguage]!
    }

    public var languages: [String] { catalogs.keys.sorted() }

    /// The catalog for a stored or negotiated code, the default one for anything else.
    public func catalog(_ code: String?) -> Catalog {
        // The default first, without a lookup: most requests carry no Accept-Language.
        if code == defaultLanguage { return defaultCatalog }
        return code.flatMap { catalogs[$0] } ?? defaultCatalog
    }

    /// The best shipped language for an `Accept-Language` header, by q-value, then order.
    public func negotiate(_ header: String?) -> String {
        guard let header, !header.isEmpty else { return defaultLanguage }
        for range in AcceptLanguage.ranges(header) {
            if range == "*" { return defaultLanguage }
            if let code = match(range) { return code }
        }
        return defaultLanguage
    }

    /// `pt-BR`, `pt` → `pt_BR`; `zh-CN`, `zh-SG`, `zh-Hans`, `zh` → `zh_Hans`; `zh-TW`, `zh-HK`,
    /// `zh-MO`, `zh-Hant` → `zh_Hant`; `de-AT` → `de`. Chinese goes by script, which the region implies.
    private func match(_ range: String) -> String? {
        let subtags = range.lowercased().split(separator: "-").map(String.init)
        guard let primary = subtags.first else { return nil }
        if primary == "zh" {
            let traditional = subtags.dropFirst().contains { ["hant", "tw", "hk", "mo"].contains($0) }
            let code = traditional ? "zh_Hant" : "zh_Hans"
            return catalogs[code] != nil ? code : nil
        }
        let exact = subtags.joined(separator: "_")
        if let code = catalogs.keys.first(where: { $0.lowercased() == exact }) { return code }
        if let code = catalogs.keys.first(where: { $0.lowercased() == primary }) { return code }
        // A bare language whose only catalog is regional (`pt` → `pt_BR`).
        return catalogs.keys.sorted().first { $0.lowercased().hasPrefix(primary + "_") }
    }

    /// The BCP 47 tag for `Content-Language` and `<html lang>`: `pt_BR` → `pt-BR`.
    public static func tag(_ code: String) -> String {
        // Every answer carries the tag: skip Foundation's replace for the codes without "_".
        code.utf8.contains(UInt8(ascii: "_")) ? code.replacingOccurrences(of: "_", with: "-") : code
    }
}

/// The language ranges of an `Accept-Language` header (RFC 9110 §12.5.4), best first: q-values
/// sort them, the header's order breaks ties, `q=0` ranges and malformed ones drop out.
enum AcceptLanguage {
    /// A client sends a handful; a hostile one may send thousands.
    static let maximumRanges = 32

    static func ranges(_ header: String) -> [String] {
        var weighted: [(range: String, q: Double, order: Int)] = []
        for (order, item) in header.split(separator: ",").prefix(maximumRanges).enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let range = parts.first, isRange(range) else { continue }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, pair[0].lowercased() == "q" {
                    guard let value = Double(pair[1]), (0...1).contains(value) else { q = 0; break }
                    q = value
                }
            }
            if q > 0 { weighted.append((range, q, order)) }
        }
        return weighted.sorted { $0.q != $1.q ? $0.q > $1.q : $0.order < $1.order }.map(\.range)
    }

    /// `*` or 1–8 letters, then `-`-separated subtags of 1–8 letters and digits.
    private static func isRange(_ text: String) -> Bool {
        if text == "*" { return true }
        let subtags = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = subtags.first, (1...8).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return subtags.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }
}
