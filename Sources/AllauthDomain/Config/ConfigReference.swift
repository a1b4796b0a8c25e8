import AllauthCore
import Foundation

/// The key tables of docs/configuration.md, printed from the keys `Config` reads: each key's name,
/// default and meaning are declared once, beside the settings type that reads it (`SettingKey`).
/// `jwt-allauth config-reference` prints them, `--update docs/configuration.md` rewrites them in
/// place, and `ConfigReferenceTests` fails while the document differs.
public enum ConfigReference {
    /// One generated table of the document, between `<!-- config-reference: NAME; … -->` and
    /// `<!-- end config-reference -->`.
    public struct Table: Sendable {
        public var name: String
        public var markdown: String
    }

    /// The sections documented apart, under their own heading ("Social login").
    static let sectionsApart = ["social"]

    /// "keys": every key but social login's, in the order read; "social": `social.*`.
    public static func tables() -> [Table] {
        let keys = keysRead()
        let apart = { (key: SettingKey) in sectionsApart.contains(String(key.name.prefix { $0 != "." })) }
        return [
            Table(name: "keys", markdown: SettingTable.markdown(keys.filter { !apart($0) })),
            Table(name: "social", markdown: SettingTable.markdown(keys.filter(apart))),
        ]
    }

    /// Every key a parse reads, in order: those of an empty file, where every section is read whole.
    static func keysRead() -> [SettingKey] {
        do {
            var reader = try ConfigReader(yaml: "", environment: [:], baseDirectory: URL(fileURLWithPath: "/"))
            _ = try Config.compose(&reader, path: "")
            return reader.keysRead
        } catch {
            // The defaults are valid by construction; ConfigTests checks them too.
            preconditionFailure("the default configuration does not parse: \(error)")
        }
    }

    public static let beginMarker = "<!-- config-reference: "
    public static let endMarker = "<!-- end config-reference -->"

    /// The line that opens a generated table, saying how to regenerate it.
    public static func beginLine(_ table: Table) -> String {
        "\(beginMarker)\(table.name); generated from the code: swift run jwt-allauth config-reference --update docs/configuration.md -->"
    }

    public enum UpdateError: Error, CustomStringConvertible {
        case missingMarkers(table: String)
        public var description: String {
            switch self {
            case .missingMarkers(let table):
                "no \(beginMarker)\(table)… --> … \(endMarker) block in the document"
            }
        }
    }

    /// `document` with each generated table (its opening line included) replaced by what the code declares now.
    public static func updated(_ document: String) throws -> String {
        var text = document
        for table in tables() {
            guard let start = text.range(of: "\(beginMarker)\(table.name)"),
                  let end = text.range(of: endMarker, range: start.upperBound..<text.endIndex)
            else { throw UpdateError.missingMarkers(table: table.name) }
            text.replaceSubrange(start.lowerBound..<end.lowerBound, with: beginLine(table) + "\n" + table.markdown)
        }
        return text
    }
}
