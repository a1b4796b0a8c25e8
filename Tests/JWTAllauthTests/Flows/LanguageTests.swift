import Foundation
import Testing
@testable import AllauthRuntime
@testable import AllauthDomain

/// Every answer a person reads, in their language, in process: API errors and
/// validation messages by `Accept-Language` (with `Content-Language` saying so), pages, and mails
/// (read from the real SMTP server) in the language stored for the user.
@Suite(.serialized) struct LanguageTests {
    let translations = ShippedCatalogs.translations

    /// The `Accept-Language` a browser of each language sends.
    static let browserHeaders = [
        "en": "en-US,en;q=0.9", "cs": "cs-CZ,cs;q=0.9,en;q=0.5", "de": "de-DE,de;q=0.9,en;q=0.5", "es": "es-ES,es;q=0.9",
        "fr": "fr-FR,fr;q=0.9,en;q=0.5", "ko": "ko-KR,ko;q=0.9", "pl": "pl,en;q=0.5", "pt_BR": "pt-BR,pt;q=0.9",
        "ru": "ru-RU,ru;q=0.9,en;q=0.5", "tr": "tr-TR,tr;q=0.9", "zh_Hans": "zh-CN,zh;q=0.9", "zh_Hant": "zh-TW,zh;q=0.9",
    ]

    func headers(_ language: String) -> [(String, String)] { [("Accept-Language", Self.browserHeaders[language]!)] }

    /// `message` in `language`, checked to be a real translation (not the English text) except in English.
    func expected(_ message: String, _ language: String) -> String {
        let text = translations.catalog(language).translate(message)
        #expect(language == "en" || text != message, "\(language) has no translation for \(message)")
        return text
    }

    @Test func failedLoginValidationErrorAndResetMailComeInEachLanguage() throws {
        // Twelve failed logins and sign-ups from one address: the throttle is another test's subject.
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_THROTTLE_ENABLED": "false"])
        for language in ShippedCatalogs.languages {
            let tag = Translations.tag(language)

            let login = try instance.login("nobody-\(language)@example.com", password: "wrong", headers: headers(language))
            #expect(login.status == 401 && login.header("Content-Language") == tag, "\(language): \(login.status) \(login.headers)")
            #expect(login.json?["detail"]?.string == expected("Incorrect credentials", language), "\(login.text)")
            #expect(login.json?["code"]?.string == "incorrect_credentials", "codes never change")

            let invalid = try instance.client.post("\(instance.mount)/registration/", json: #"{"email":"not-an-address","password1":"x","password2":"x"}"#,
                                                   headers: headers(language))
            #expect(invalid.status == 400 && invalid.header("Content-Language") == tag, "\(language): \(invalid.text)")
            #expect(invalid.json?["email"]?[0]?.string == expected("Enter a valid email address.", language), "\(invalid.text)")

            // The user's language is stored at login; the reset mail goes out in it.
            let email = "reset-\(language.lowercased())@example.com"
            _ = try instance.createUser(email, firstName: "Ada")
            #expect(try instance.login(email, headers: headers(language)).status == 200)
            let reset = try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"\#(email)"}"#, headers: headers(language))
            #expect(reset.status == 200 && reset.json?["detail"]?.string == expected("Password reset e-mail has been sent.", language))
            let mail = try instance.awaitMail(to: email)
            let siteName = "127.0.0.1"
            #expect(mail.subject == expected("Reset your {{site_name}} password", language).replacingOccurrences(of: "{{site_name}}", with: siteName),
                    "\(language): \(mail.subject ?? "")")
            let text = try #require(mail.text)
            #expect(text.contains(expected("If you did not ask for this, ignore this email: your password stays as it is.", language)), "\(text)")
            #expect(text.contains(translations.catalog(language).translate("\(3) days")) || text.contains(translations.catalog(language).translate("\(1) day")),
                    "the link lifetime in words, translated: \(text)")
            #expect(mail.link(port: instance.port) != nil, "the link survives translation")
            let html = try #require(mail.html)
            #expect(html.contains("<html lang=\"\(tag)\">"), "\(html.prefix(200))")
        }
    }

    @Test func theStoredLanguageIsUsedForLaterMailsWhateverTheRequestSays() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "none"])
        let email = "stored@example.com"
        #expect(try instance.register(email, headers: headers("ru")).status == 201)
        #expect(try instance.database().first("SELECT language FROM users WHERE email = ?", [.text(email)]) { $0.string(0) } == "ru")

        // Asked for from a German browser (or a script): the mail is still Russian.
        #expect(try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"\#(email)"}"#, headers: headers("de")).status == 200)
        #expect(try instance.awaitMail(to: email).subject == expected("Reset your {{site_name}} password", "ru").replacingOccurrences(of: "{{site_name}}", with: "127.0.0.1"))

        // A login from a Korean browser makes Korean the language of the next mail.
        #expect(try instance.login(email, headers: headers("ko")).status == 200)
        #expect(try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"\#(email)"}"#).status == 200)
        let second = try instance.awaitMail(to: email, count: 2)
        #expect(second.subject == expected("Reset your {{site_name}} password", "ko").replacingOccurrences(of: "{{site_name}}", with: "127.0.0.1"))
    }

    @Test func pagesRenderInTheNegotiatedLanguage() throws {
        let instance = try InProcessInstance()
        for language in ["de", "ru", "zh_Hant", "en"] {
            let page = try instance.client.get("\(instance.mount)/registration/account_email_verification_sent/", headers: headers(language))
            #expect(page.status == 200 && page.header("Content-Language") == Translations.tag(language))
            #expect(page.text.contains("<html lang=\"\(Translations.tag(language))\">"))
            #expect(page.text.contains(expected("We have sent you an email with a link to confirm your address. Open it to activate your account.", language)))
            #expect(page.text.contains("<title>\(expected("Check your inbox", language)) · "), "\(page.text.prefix(400))")
        }
    }

    @Test func everyAnswerSaysItsLanguageAndUnknownLanguagesGetTheDefault() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_I18N_DEFAULT_LANGUAGE": "fr"])
        let health = try instance.client.get("\(instance.mount)/health/", headers: [("Accept-Language", "da, sv;q=0.8")])
        #expect(health.header("Content-Language") == "fr")
        let missing = try instance.client.get("\(instance.mount)/no-such-endpoint/", headers: [("Accept-Language", "pt")])
        #expect(missing.status == 404 && missing.header("Content-Language") == "pt-BR")
        #expect(missing.json?["detail"]?.string == expected("Not found.", "pt_BR"))
        let hostile = try instance.client.post("\(instance.mount)/login/", json: "[1]", headers: [("Accept-Language", String(repeating: "zz;q=0.1,", count: 800))])
        #expect(hostile.status == 400 && hostile.header("Content-Language") == "fr", "\(hostile.text)")
    }

    @Test func theMFAAndSocialAnswersComeInTheLanguageToo() throws {
        // A provider is configured (so the social routes exist) but never contacted.
        let instance = try InProcessInstance(environment: [
            "JWT_ALLAUTH_SOCIAL_PROVIDERS": #"{example: {name: Example, issuer: "http://127.0.0.1:9", client_id: abc, client_secret: s3cret}}"#])
        let mfa = try instance.client.post("\(instance.mount)/mfa/verify/", json: #"{"mfa_challenge_id":"x","code":"123456"}"#, headers: headers("ko"))
        #expect(mfa.status == 403 && mfa.header("Content-Language") == "ko", "\(mfa.text)")
        #expect(mfa.json?["detail"]?.string == expected("MFA TOTP is disabled.", "ko"), "\(mfa.text)")
        let social = try instance.client.post("\(instance.mount)/social/other/token/", json: #"{"id_token":"x"}"#, headers: headers("tr"))
        #expect(social.status == 404 && social.header("Content-Language") == "tr", "\(social.text)")
        #expect(social.json?["detail"]?.string == expected("Provider not configured.", "tr"))
        #expect(social.json?["code"]?.string == "provider_not_configured")
    }

    @Test func checkNamesABrokenCatalogsFileAndLine() throws {
        let instance = try InProcessInstance()
        // A copy of the installation whose German catalog has a translation that lost its placeholder.
        let share = instance.directory.appendingPathComponent("share")
        let original = try ShareDirectory.locate()
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        for entry in try FileManager.default.contentsOfDirectory(atPath: original.path) where entry != "Templates" && !entry.hasPrefix(".") {
            try FileManager.default.createSymbolicLink(at: share.appendingPathComponent(entry), withDestinationURL: original.appendingPathComponent(entry))
        }
        try FileManager.default.copyItem(at: original.appendingPathComponent("Templates"), to: share.appendingPathComponent("Templates"))
        let catalog = share.appendingPathComponent("Templates/locale/de/LC_MESSAGES/jwt-allauth.po")
        var lines = try String(contentsOf: catalog, encoding: .utf8).components(separatedBy: "\n")
        let msgid = try #require(lines.firstIndex(of: #"msgid "Request body exceeds %(limit)s bytes.""#))
        lines[msgid + 1] = #"msgstr "Der Request-Body ist zu groß.""#
        try lines.joined(separator: "\n").write(to: catalog, atomically: true, encoding: .utf8)

        let environment = ["JWT_ALLAUTH_SHARE_DIR": share.path]
        let check = try instance.command(["check"], extraEnvironment: environment)
        #expect(check.status != 0)
        #expect(check.output.contains("\(catalog.path):\(msgid + 1):") && check.output.contains("%(limit)s"), "\(check.output)")

        // A syntax error is named by its own line.
        lines[msgid + 1] = #"msgstr "Der Request-Body überschreitet %(limit)s Bytes."#
        try lines.joined(separator: "\n").write(to: catalog, atomically: true, encoding: .utf8)
        let unterminated = try instance.command(["check"], extraEnvironment: environment)
        #expect(unterminated.status != 0 && unterminated.output.contains("\(catalog.path):\(msgid + 2):"), "\(unterminated.output)")

        lines[msgid + 1] = #"msgstr "Der Request-Body überschreitet %(limit)s Bytes.""#
        try lines.joined(separator: "\n").write(to: catalog, atomically: true, encoding: .utf8)
        let fixed = try instance.command(["check"], extraEnvironment: environment)
        #expect(fixed.status == 0 && fixed.output.contains("translations ok"), "\(fixed.output)")
    }
}
