import Foundation
import Testing
@testable import AllauthDomain

/// The `.po` reader and the checks `check` and startup run on every catalog.
@Suite struct CatalogFileTests {
    static let header = """
        msgid ""
        msgstr ""
        "Language: de\\n"
        "Content-Type: text/plain; charset=UTF-8\\n"
        "Plural-Forms: nplurals=2; plural=(n != 1);\\n"

        """

    func catalog(_ body: String) throws(CatalogError) -> Catalog {
        try Catalog(code: "de", file: POFile(text: Self.header + body, file: "de.po"), path: "de.po")
    }

    func problem(_ body: String) -> CatalogError? {
        do { _ = try catalog(body); return nil } catch { return error }
    }

    @Test func readsContinuedStringsEscapesPluralsAndSkipsFuzzyEntries() throws {
        let catalog = try catalog(#"""
            #: somewhere.swift:1
            msgid ""
            "Two "
            "lines\n"
            msgstr "Zwei \"Zeilen\"\n"

            msgid "%(count)s day"
            msgid_plural "%(count)s days"
            msgstr[0] "%(count)s Tag"
            msgstr[1] "%(count)s Tage"

            #, fuzzy
            msgid "Guess"
            msgstr "Geraten"
            """#)
        #expect(catalog.translate("Two lines\n") == "Zwei \"Zeilen\"\n")
        #expect(catalog.translate("1 day") == "1 Tag")
        #expect(catalog.translate("4 days") == "4 Tage")
        #expect(catalog.translate("Guess") == "Guess")
    }

    @Test func aBrokenLineIsNamedByFileAndLine() {
        let unterminated = problem("msgid \"Open\nmsgstr \"Offen\"\n")
        #expect(unterminated?.file == "de.po" && unterminated?.line == 6, "\(String(describing: unterminated))")
        let unknown = problem("msgid \"a\"\nmsgstring \"b\"\n")
        #expect(unknown?.line == 7 && unknown?.description.contains("msgstring") == true)
        #expect(problem("msgid \"a\"\n\nmsgstr \"b\"\n")?.line == 6)
        #expect(problem("msgid \"a\"\nmsgstr \"b\\q\"\n")?.line == 7)
    }

    @Test func aTranslationMustKeepItsPlaceholders() {
        let lost = problem("msgid \"Ensure %(limit)s.\"\nmsgstr \"Sicherstellen.\"\n")
        #expect(lost?.line == 6 && lost?.description.contains("%(limit)s") == true, "\(String(describing: lost))")
        #expect(problem("msgid \"Hi {{email}}\"\nmsgstr \"Hallo {{name}}\"\n") != nil)
        #expect(problem("msgid \"Hi{{#first_name}} {{first_name}}{{/first_name}}\"\nmsgstr \"Hallo {{first_name}}\"\n") != nil)
        #expect(problem("msgid \"Hi {{email}}\"\nmsgstr \"Hallo {{email}}\"\n") == nil)
    }

    @Test func pluralEntriesNeedEveryFormTheHeaderDeclares() {
        let short = problem("msgid \"%(count)s day\"\nmsgid_plural \"%(count)s days\"\nmsgstr[0] \"%(count)s Tag\"\n")
        #expect(short?.line == 6 && short?.description.contains("plural forms") == true)
    }

    @Test func aBadPluralFormsHeaderIsRefused() {
        let broken = POFile.self
        #expect(throws: CatalogError.self) {
            try Catalog(code: "de", file: broken.init(text: "msgid \"\"\nmsgstr \"Plural-Forms: nplurals=2; plural=(n >;\\n\"\n", file: "x.po"), path: "x.po")
        }
    }
}
