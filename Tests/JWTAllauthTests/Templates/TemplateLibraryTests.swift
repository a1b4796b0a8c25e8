import Foundation
import Testing
@testable import AllauthRuntime
@testable import AllauthDomain

/// The template library: the shipped templates, overrides, escaping, and refusals that name the file.
struct TemplateLibraryTests {
    let share: URL
    let overrides: URL

    init() throws {
        share = try ShareDirectory.locate()
        overrides = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: overrides, withIntermediateDirectories: true)
    }

    func library(_ overrideFiles: [String: String]? = nil) throws -> TemplateLibrary {
        for (name, text) in overrideFiles ?? [:] {
            let url = overrides.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return try TemplateLibrary(shareDirectory: share, overrideDirectory: overrideFiles == nil ? nil : overrides.path)
    }

    func refusal(_ overrideFiles: [String: String]) -> TemplateError? {
        do {
            _ = try library(overrideFiles)
            return nil
        } catch {
            return error as? TemplateError
        }
    }

    @Test func everyShippedMailRendersSubjectTextAndHTMLWithItsLink() throws {
        let templates = try library()
        for template in MailTemplate.allCases {
            let context = MailContext.sample(for: template)
            let mail = try templates.mail(template, context)
            #expect(!mail.subject.isEmpty && !mail.subject.contains("\n"), "\(template)")
            #expect(mail.html.contains("<table role=\"presentation\""), "\(template)")
            #expect(mail.text.contains("ada@example.com") && mail.html.contains("ada@example.com"), "\(template)")
            if let link = context.link {
                #expect(mail.text.contains(link) && mail.html.contains("href=\"\(link)\""), "\(template)")
            }
            // Each mail names its button after what it does.
            #expect(!mail.html.contains("Open the link"), "\(template)")
        }
    }

    @Test func htmlMailEscapesUserControlledValuesAndTextKeepsThemVerbatim() throws {
        var context = MailContext.sample(for: .confirmation)
        context.firstName = "<script>alert(\"x\")</script>"
        context.link = "https://auth.example.com/jwt-allauth/registration/verification/k/?a=1&b=2"
        let mail = try library().mail(.confirmation, context)
        #expect(!mail.html.contains("<script>"))
        #expect(mail.html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"))
        #expect(mail.html.contains("href=\"https://auth.example.com/jwt-allauth/registration/verification/k/?a=1&amp;b=2\""))
        // The text part is not HTML: escaping it would break the link a reader copies.
        #expect(mail.text.contains("Hello <script>alert(\"x\")</script>,"))
        #expect(mail.text.contains("?a=1&b=2"))
    }

    @Test func aSubjectIsOneLineEvenWhenAValueCarriesLineBreaks() throws {
        let templates = try library(["confirmation.subject.mustache": "Welcome {{first_name}}\n"])
        var context = MailContext.sample(for: .confirmation)
        context.firstName = "Ada\r\nBcc: victim@example.com"
        #expect(try templates.mail(.confirmation, context).subject == "Welcome Ada Bcc: victim@example.com")
    }

    @Test func anEmptyFirstNameLeavesNoGap() throws {
        var context = MailContext.sample(for: .passwordReset)
        context.firstName = ""
        let mail = try library().mail(.passwordReset, context)
        #expect(mail.text.hasPrefix("Hello,\n"))
    }

    @Test func linkLifetimeIsShownInWords() throws {
        #expect(MailContext.words(3 * 86400) == "3 days")
        #expect(MailContext.words(3600) == "1 hour")
        #expect(MailContext.words(5400) == "90 minutes")
        var context = MailContext.sample(for: .passwordReset)
        context.linkLifetime = 86400
        #expect(try library().mail(.passwordReset, context).text.contains("expires in 1 day"))
    }

    @Test func accountExistsShowsAResetButtonOnlyWhenAResetPageIsConfigured() throws {
        let templates = try library()
        var context = MailContext.sample(for: .accountExists)
        let with = try templates.mail(.accountExists, context)
        #expect(with.html.contains("href=\"https://app.example.com/forgot-password\""))
        #expect(with.html.contains(">Reset my password</a>"))
        #expect(with.text.contains("https://app.example.com/forgot-password"))
        context.passwordResetURL = nil
        let without = try templates.mail(.accountExists, context)
        #expect(!without.html.contains("href="))
        #expect(without.text.contains("from the sign-in page"))
    }

    @Test func formPagesShowTheFormOnlyWithTheCapability() throws {
        let templates = try library()
        for template in [PageTemplate.passwordResetForm, .setPasswordForm] {
            let form = try templates.page(template, .sample(for: template, hasCapability: true))
            #expect(form.contains("autocomplete=\"new-password\""))
            #expect(form.contains("<script nonce=\"c2FtcGxlLW5vbmNl\">"))
            let invalid = try templates.page(template, .sample(for: template, hasCapability: false))
            #expect(!invalid.contains("<form") && !invalid.contains("<script"))
            #expect(invalid.contains("invalid"))
        }
    }

    @Test func anOverrideReplacesTheShippedTemplateOfTheSameName() throws {
        let templates = try library(["mail/password_reset.subject.mustache": "Your {{site_name}} reset\n",
                                     "verified.mustache": "<!doctype html><p>Custom {{site_name}}</p>"])
        #expect(try templates.mail(.passwordReset, .sample(for: .passwordReset)).subject == "Your auth.example.com reset")
        #expect(try templates.page(.verified, .sample(for: .verified, hasCapability: false)) == "<!doctype html><p>Custom auth.example.com</p>")
        // Everything not overridden is still the shipped template.
        #expect(try templates.mail(.confirmation, .sample(for: .confirmation)).subject.hasPrefix("Welcome"))
    }

    @Test func anUnparsableOverrideIsRefusedNamingTheFileAndLine() throws {
        let error = try #require(refusal(["mail/invitation.html.mustache": "<p>\n{{#link}}never closed\n"]))
        #expect(error.file == overrides.appendingPathComponent("mail/invitation.html.mustache").path)
        #expect(error.problem.contains("a section is never closed"))
    }

    @Test func anOverrideThatReplacesNothingIsRefused() throws {
        let error = try #require(refusal(["pasword_reset.subject.mustache": "typo"]))
        #expect(error.file.hasSuffix("pasword_reset.subject.mustache"))
        #expect(error.problem.contains("replaces no shipped template"))
    }

    @Test func aMissingOverrideDirectoryIsRefused() throws {
        let missing = overrides.appendingPathComponent("nope").path
        #expect(throws: TemplateError(file: missing, problem: "the override directory (templates.directory) does not exist")) {
            try TemplateLibrary(shareDirectory: share, overrideDirectory: missing)
        }
    }

    @Test func anOverrideThatDropsTheLinkIsRefused() throws {
        let error = try #require(refusal(["confirmation.txt.mustache": "Hello {{first_name}}, welcome.\n"]))
        #expect(error.file.hasSuffix("confirmation.txt.mustache"))
        #expect(error.problem.contains("{{link}}"))
    }

    @Test func anOverrideThatRendersNothingIsRefused() throws {
        // A parent that does not exist renders as nothing: caught by the sample render.
        let error = try #require(refusal(["set_password_form.mustache": "{{<no_such_layout}}{{$content}}x{{/content}}{{/no_such_layout}}"]))
        #expect(error.file.hasSuffix("set_password_form.mustache"))
        #expect(error.problem.contains("empty page"))
    }

    @Test func twoOverridesWithTheSameNameAreRefused() throws {
        let error = try #require(refusal(["a/verified.mustache": "<p>a</p>", "b/verified.mustache": "<p>b</p>"]))
        #expect(error.problem.contains("same name"))
    }
}
