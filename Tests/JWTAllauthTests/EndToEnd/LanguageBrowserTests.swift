import Foundation
import Testing
@testable import AllauthDomain

/// The pages in a browser set to a non-Latin language: the browser's own `Accept-Language`
/// chooses the page's language, the text renders in real glyphs (screenshots saved to
/// `test-artifacts/screenshots/`), and the form script shows the API's answers in it too.
@Suite(.serialized)
struct LanguageBrowserTests {
    @Test func aReaderOfRussianChineseOrKoreanGetsTheResetFormInTheirScript() throws {
        let instance = try TestInstance()
        let page = "http://127.0.0.1:\(instance.port)\(instance.mount)/password/reset/default/"
        for (language, acceptLanguage) in [("ru", "ru-RU,ru"), ("zh_Hans", "zh-CN,zh"), ("ko", "ko-KR,ko")] {
            let catalog = ShippedCatalogs.translations.catalog(language)
            let browser = try Browser(mobileWidth: 360, language: acceptLanguage)
            defer { browser.quit() }
            try browser.open(page)
            try browser.addCookie("password_reset_access_token", "not-a-real-capability")
            try browser.addCookie("csrftoken", "0123456789abcdef0123456789abcdef")
            try browser.open(page)
            #expect(try browser.execute("return document.documentElement.lang") as? String == Translations.tag(language))
            #expect(browser.text("h1") == catalog.translate("Choose a new password"))
            #expect(browser.text("label[for=new_password1]") == catalog.translate("New password"))
            // The capability is not a real one: the page's own words for a refused link, in the same language.
            try browser.type("#new_password1", "N3w-Passw0rd!x")
            try browser.type("#new_password2", "0ther-Passw0rd!y")
            try browser.click("button[type=submit]")
            try browser.wait(for: "the answer to show") { !browser.text("#form-status").isEmpty || !browser.text("#new_password2-error").isEmpty }
            let shown = browser.text("#form-status") + browser.text("#new_password2-error")
            #expect(shown == catalog.translate("This link has expired or was already used. Please ask for a new one."), "\(language): \(shown)")
            // The text is set in glyphs, not boxes: the CJK and Cyrillic fonts are installed.
            let width = try browser.execute("""
                const c = document.createElement('canvas').getContext('2d'); c.font = '16px sans-serif';
                return Math.round(c.measureText(arguments[0]).width - c.measureText('\\u{10FFFF}'.repeat(arguments[0].length)).width);
                """, [catalog.translate("New password")]) as? Int
            #expect(width != 0, "\(language): the label measures like missing-glyph boxes")
            try browser.screenshot("page-phone-reset-form-\(language)")
        }
    }
}
