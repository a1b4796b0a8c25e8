import Foundation
import Testing
@testable import AllauthRuntime
@testable import AllauthDomain

/// Every message a person reads (found in the code and templates by `scripts/messages.py`, what
/// `make messages` runs) has a translation in every shipped catalog, and the catalogs are ones
/// gettext's own tools accept.
@Suite(.serialized) struct MessageCoverageTests {
    static let root = try! ShareDirectory.locate()

    /// Runs the extraction script into a temporary `.pot` and reads it back with our reader.
    func extractedMessages() throws -> [POEntry] {
        let pot = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-\(UUID().uuidString).pot")
        defer { try? FileManager.default.removeItem(at: pot) }
        let result = try ProcessRunner.run("/usr/bin/python3", [Self.root.appendingPathComponent("scripts/messages.py").path, "--pot", pot.path])
        #expect(result.status == 0, "\(result.output)")
        return try POFile(path: pot.path).entries
    }

    @Test func everyMessageInTheCodeHasATranslationInEveryCatalog() throws {
        let messages = try extractedMessages()
        // The kinds of message the service shows: API errors, validators, mails and pages.
        for known in ["No active account found with the given credentials", "This field is required.", "This password is too common.",
                      "Reset your {{site_name}} password", "Set your password", "%(count)s day"] {
            #expect(messages.contains { $0.msgid == known }, "\(known) was not extracted")
        }
        for language in ShippedCatalogs.languages where language != "en" {
            let catalog = ShippedCatalogs.translations.catalog(language)
            let missing = messages.filter { !catalog.msgids.contains($0.msgid) }.map(\.msgid)
            #expect(missing.isEmpty, "\(language) lacks \(missing)")
        }
    }

    @Test func theCheckModeOfTheScriptAgrees() throws {
        let pot = FileManager.default.temporaryDirectory.appendingPathComponent("check.pot").path
        let result = try ProcessRunner.run("/usr/bin/python3", [Self.root.appendingPathComponent("scripts/messages.py").path, "--check", "--pot", pot])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func gettextToolsAcceptEveryCatalog() throws {
        for language in ShippedCatalogs.languages {
            let path = "\(ShippedCatalogs.directory)/\(language)/LC_MESSAGES/jwt-allauth.po"
            // -c: header, plural forms and python-format placeholders, as a translator's tools check them.
            let result = try ProcessRunner.run("/usr/bin/msgfmt", ["-c", "-o", "/dev/null", path])
            #expect(result.status == 0, "\(language): \(result.output)")
        }
    }
}
