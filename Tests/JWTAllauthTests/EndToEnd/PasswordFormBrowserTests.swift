import Foundation
import Testing
@testable import AllauthCore

/// The issue's browser "Must show": a real Chromium follows the link from a real mail (read from
/// the SMTP server on loopback) through the built-in form, and the new password then signs in
/// through nginx. A screenshot of each step goes to `test-artifacts/screenshots/`.
@Suite(.serialized)
struct PasswordFormBrowserTests {
    static let newPassword = "Fresh-Passw0rd!9"

    /// Asks for a reset of `email` and opens the mailed link in `browser`: it lands on the form.
    func openResetLink(_ instance: TestInstance, _ browser: Browser, _ email: String) throws {
        #expect(try instance.client.post("\(instance.mount)/password/reset/", json: #"{"email":"\#(email)"}"#).status == 200)
        let mail = try instance.awaitMail(to: email)
        let link = try #require(mail.link(containing: "/password/reset/confirm/"), "a reset link in \(mail.text)")
        try browser.open(link)
        #expect(browser.currentURL == "http://127.0.0.1:\(instance.port)\(instance.mount)/password/reset/default/")
        #expect(browser.exists("#password-form"), "the capability cookie makes the form appear")
    }

    func submit(_ browser: Browser, _ first: String, _ second: String) throws {
        try browser.type("#new_password1", first)
        try browser.type("#new_password2", second)
        try browser.click("button[type=submit]")
    }

    @Test func theResetMailLeadsThroughTheFormToTheCompletePageAndTheNewPasswordSignsIn() throws {
        let instance = try TestInstance.withMail()
        try instance.createUser("ada@example.com", firstName: "Ada")
        let browser = try Browser()
        defer { browser.quit() }

        try openResetLink(instance, browser, "ada@example.com")
        try browser.screenshot("reset-1-form-from-mail-link")
        try submit(browser, Self.newPassword, Self.newPassword)
        let complete = "http://127.0.0.1:\(instance.port)\(instance.mount)/password/reset/complete/"
        try browser.wait(for: "the complete page") { browser.currentURL == complete }
        #expect(browser.text("h1") == "Password changed")
        try browser.screenshot("reset-2-complete")

        #expect(try instance.login("ada@example.com", password: Self.newPassword).status == 200, "the new password signs in through nginx")
        #expect(try instance.login("ada@example.com").status == 401, "the old one no longer does")
        // The link was spent: opening it again shows the invalid-link page, not the form.
        try browser.open(try #require(instance.awaitMail(to: "ada@example.com").link(containing: "/password/reset/confirm/")))
        #expect(!browser.exists("#password-form"))
        try browser.screenshot("reset-3-link-opened-again")
    }

    @Test func mismatchedPasswordsShowTheErrorBesideTheFieldAndTheLinkStillWorks() throws {
        let instance = try TestInstance.withMail()
        try instance.createUser("grace@example.com")
        let browser = try Browser()
        defer { browser.quit() }
        try openResetLink(instance, browser, "grace@example.com")

        try submit(browser, Self.newPassword, Self.newPassword + "x")
        try browser.wait(for: "the field error") { browser.isDisplayed("#new_password2-error") }
        #expect(!browser.text("#new_password2-error").isEmpty)
        #expect(browser.attribute("#new_password2", "aria-invalid") == "true")
        #expect(browser.attribute("#new_password2", "aria-describedby")?.contains("new_password2-error") == true)
        #expect(!browser.isDisplayed("#new_password1-error"))
        #expect(try browser.execute("return document.activeElement.id") as? String == "new_password2", "focus moves to the field at fault")
        try browser.screenshot("mismatch-1-error-beside-the-field")

        // A password the validators refuse: its message appears too, and nothing is spent.
        try submit(browser, "password123", "password123")
        try browser.wait(for: "the common-password error") { browser.text("#new_password2-error").lowercased().contains("common") }
        #expect(!browser.isDisplayed("#new_password1-error") || !browser.text("#new_password1-error").isEmpty)
        try browser.screenshot("mismatch-2-common-password")

        // This time from the keyboard alone: Enter in the second field submits the form.
        try browser.type("#new_password1", Self.newPassword)
        try browser.type("#new_password2", Self.newPassword + Browser.enterKey)
        try browser.wait(for: "the complete page") { browser.currentURL.hasSuffix("/password/reset/complete/") }
        try browser.screenshot("mismatch-3-complete-after-correcting")
        #expect(try instance.login("grace@example.com", password: Self.newPassword).status == 200)
    }

    @Test func theInvitationMailLeadsThroughTheSetPasswordFormAndThePasswordSignsIn() throws {
        let instance = try TestInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_ADMIN_MANAGED_REGISTRATION": "true"])
        try instance.createUser("staff@example.com", role: 1000)
        let staff = try instance.session("staff@example.com")
        let invited = try instance.client.post("\(instance.mount)/registration/user-register/",
                                               json: #"{"email":"lin@example.com","role":0,"first_name":"Lin"}"#, headers: [staff.bearer])
        #expect(invited.status == 201)
        let mail = try instance.awaitMail(to: "lin@example.com")
        let link = try #require(mail.link(port: instance.port), "an invitation link in \(mail.text)")

        let browser = try Browser()
        defer { browser.quit() }
        try browser.open(link)
        #expect(browser.currentURL == "http://127.0.0.1:\(instance.port)\(instance.mount)/registration/set-password/default/")
        #expect(browser.exists("#password-form"))
        try browser.screenshot("invitation-1-set-password-form")

        try submit(browser, "short", "short")
        try browser.wait(for: "the too-short error") { browser.isDisplayed("#new_password2-error") }
        try browser.screenshot("invitation-2-too-short")

        try submit(browser, Self.newPassword, Self.newPassword)
        try browser.wait(for: "the success message") { browser.isDisplayed("#form-done") }
        #expect(browser.text("#form-done h1") == "Your password is set")
        #expect(!browser.isDisplayed("#password-form") && !browser.isDisplayed("#form-intro"), "the form is done with")
        #expect(try browser.execute("return document.activeElement.textContent") as? String == "Your password is set",
                "focus moves to the result, so a screen reader announces it")
        try browser.screenshot("invitation-3-password-set")

        #expect(try instance.login("lin@example.com", password: Self.newPassword).status == 200, "the invitee signs in through nginx")
    }

    @Test func theConfirmationMailRendersAndItsLinkLandsOnTheVerifiedPageOnce() throws {
        let instance = try TestInstance.withMail()
        #expect(try instance.register("mo@example.com", extra: #","first_name":"Mo O'Neil""#).status == 201)
        let mail = try instance.awaitMail(to: "mo@example.com")
        let html = try #require(mail.html, "an HTML alternative")
        #expect(html.contains("Welcome, Mo O&#39;Neil!"), "the name, HTML-escaped")
        #expect((mail.text ?? "").contains("Hello Mo O'Neil,"), "the name, as typed, in the text part")
        let link = try #require(mail.link(port: instance.port))

        let browser = try Browser()
        defer { browser.quit() }
        // The HTML part as a mail client would show it.
        let file = instance.directory.appendingPathComponent("confirmation.html")
        try html.write(to: file, atomically: true, encoding: .utf8)
        try browser.open(file.absoluteString)
        #expect(browser.text("h1").hasPrefix("Welcome"))
        #expect(browser.attribute("a[href*='/registration/verification/']", "href") == link)
        try browser.screenshot("confirmation-1-mail")

        try browser.open(link)
        #expect(browser.text("h1") == "Confirm your email address", "opening the link shows its button")
        try browser.screenshot("confirmation-2-confirm-page")
        try browser.click("button[type=submit]")
        try browser.wait(for: "the verified page") { browser.currentURL.hasSuffix("/registration/verified/") }
        #expect(browser.currentURL == "http://127.0.0.1:\(instance.port)\(instance.mount)/registration/verified/")
        #expect(browser.text("h1") == "Email address confirmed")
        try browser.screenshot("confirmation-3-verified")
        #expect(try instance.login("mo@example.com").status == 200)

        try browser.open(link)
        #expect(browser.text("h1") == "This link can’t be used", "a used link gets the one failure page")
        try browser.screenshot("confirmation-4-link-used")
    }
}
