import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// docs/configuration.md's key tables are the keys the code declares: name, default and meaning
/// come from the `SettingKey` beside the settings type that reads the key.
struct ConfigReferenceTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/configuration.md")

    @Test func theDocumentedTablesAreTheDeclaredKeys() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        let generated = try ConfigReference.updated(text)
        if generated != text {
            let diff = zip(text.split(separator: "\n", omittingEmptySubsequences: false), generated.split(separator: "\n", omittingEmptySubsequences: false))
                .first { $0 != $1 }.map { "first difference:\n  docs: \($0)\n  code: \($1)" } ?? "the tables differ in length"
            Issue.record("""
                docs/configuration.md's key tables differ from the keys the code declares (SettingKey); regenerate them with
                  swift run jwt-allauth config-reference --update docs/configuration.md
                \(diff)
                """)
        }
    }

    @Test func everyKeyIsReadOnceAndEveryRowNamesItsKeys() {
        let keys = ConfigReference.keysRead()
        #expect(Set(keys.map(\.name)).count == keys.count)
        #expect(keys.count >= 90, "an empty file reads every key")
        for key in keys {
            #expect(key.row.map { $0.covers(key.name) } ?? true, "\(key.name) is shown in a row that does not name it")
            #expect(!key.shownDefault.isEmpty, "\(key.name) shows no default")
        }
    }

    @Test func everyKeyCanBeSetFromTheEnvironment() throws {
        for key in ConfigReference.keysRead() {
            do {
                _ = try Config.parse(yaml: "", environment: [key.environmentName: ""], baseDirectory: URL(fileURLWithPath: "/etc/jwt-allauth"))
            } catch {
                #expect(error.key != key.environmentName, "\(key.environmentName) is refused as no key")
            }
        }
    }
}
