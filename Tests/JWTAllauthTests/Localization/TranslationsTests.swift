import Foundation
import Testing
@testable import AllauthRuntime
@testable import AllauthDomain

/// The shipped catalogs, as the service loads them.
enum ShippedCatalogs {
    static let directory = (try! ShareDirectory.locate()).appendingPathComponent("Templates/locale").path
    static let translations = try! Translations(directory: directory, defaultLanguage: "en")
    static let languages = ["en", "cs", "de", "es", "fr", "ko", "pl", "pt_BR", "ru", "tr", "zh_Hans", "zh_Hant"]
}

@Suite struct TranslationsTests {
    let translations = ShippedCatalogs.translations

    @Test func shipsTheTwelveLanguages() {
        #expect(translations.languages == ShippedCatalogs.languages.sorted())
    }

    @Test func acceptLanguageIsNegotiatedByQValueThenOrder() {
        #expect(translations.negotiate("de;q=0.5, fr;q=0.9, es") == "es")
        #expect(translations.negotiate("da, fr;q=0.8, de;q=0.8") == "fr")
        #expect(translations.negotiate("fr;q=0, de;q=0.1") == "de")
        #expect(translations.negotiate("da, sv") == "en")
        #expect(translations.negotiate(nil) == "en")
        #expect(translations.negotiate("*") == "en")
        #expect(translations.negotiate("de-AT") == "de")
        #expect(translations.negotiate("FR-ca;q=1.0") == "fr")
    }

    @Test func regionalAndScriptTagsFallBackToTheShippedCatalog() {
        for tag in ["pt-BR", "pt", "pt-PT"] { #expect(translations.negotiate(tag) == "pt_BR", "\(tag)") }
        for tag in ["zh-CN", "zh-Hans", "zh-SG", "zh", "zh-Hans-CN"] { #expect(translations.negotiate(tag) == "zh_Hans", "\(tag)") }
        for tag in ["zh-TW", "zh-HK", "zh-Hant", "zh-MO", "zh-Hant-TW"] { #expect(translations.negotiate(tag) == "zh_Hant", "\(tag)") }
    }

    @Test func malformedAcceptLanguageFallsBackToTheDefault() {
        for header in ["", ";;;", "q=1", "de;q=abc", "d\u{0}e", String(repeating: "xx-", count: 5000), "fr;q=2"] {
            #expect(translations.negotiate(header) == "en", "\(header.prefix(40))")
        }
        // Only the first ranges are read: a hostile header cannot make negotiation slow.
        let long = Array(repeating: "xx", count: 10_000).joined(separator: ",") + ",de"
        #expect(translations.negotiate(long) == "en")
    }

    @Test func defaultLanguageIsConfigurable() throws {
        let german = try Translations(directory: ShippedCatalogs.directory, defaultLanguage: "de")
        #expect(german.negotiate("da") == "de")
        #expect(german.catalog(nil).code == "de")
        #expect(throws: CatalogError.self) { try Translations(directory: ShippedCatalogs.directory, defaultLanguage: "xx") }
    }

    @Test func messagesWithValuesAreTranslatedWithTheirValues() {
        let ru = translations.catalog("ru")
        #expect(ru.translate("Ensure this field has no more than 150 characters.") == "Убедитесь, что это поле содержит не более 150 символов.")
        #expect(ru.translate("This password is too short. It must contain at least 1 character.").hasSuffix("не менее 1 символа."))
        #expect(ru.translate("This password is too short. It must contain at least 8 characters.").hasSuffix("не менее 8 символов."))
        #expect(ru.translate("3 days") == "3 дня")
        #expect(ru.translate("5 days") == "5 дней")
        #expect(ru.translate("21 days") == "21 день")
        #expect(translations.catalog("pl").translate("22 minutes") == "22 minuty")
        #expect(translations.catalog("pl").translate("12 minutes") == "12 minut")
        #expect(translations.catalog("cs").translate("1 hour") == "1 hodinu")
        #expect(translations.catalog("fr").translate("Method \"PATCH\" not allowed.") == "Méthode «\u{a0}PATCH\u{a0}» non autorisée.")
        #expect(translations.catalog("de").translate("An unknown message.") == "An unknown message.")
        // A value that is itself a message is translated in place.
        #expect(translations.catalog("de").translate("The password is too similar to the first name.") == "Das Passwort ist dem Feld „Vorname“ zu ähnlich.")
    }

    @Test func pluralRulesFollowEachLanguage() throws {
        let russian = try #require(PluralRule(header: "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"))
        #expect([1, 2, 5, 11, 12, 21, 22, 25, 111].map(russian.index) == [0, 1, 2, 2, 2, 0, 1, 2, 2])
        let french = try #require(PluralRule(header: "nplurals=2; plural=(n > 1);"))
        #expect([0, 1, 2].map(french.index) == [0, 0, 1])
        #expect(PluralRule(header: "nplurals=2; plural=(n > ;") == nil)
        #expect(PluralRule(header: "plural=n;") == nil)
    }
}
