import Foundation
import Testing
@testable import AllauthCore

/// The built-in pages in headless Chromium: they render as designed on a desktop and on a
/// 320 px phone, and the form's script runs under the strict CSP. Every page visited is saved to
/// `test-artifacts/screenshots/`.
@Suite(.serialized)
struct PageBrowserTests {
    /// (screenshot name, path below the mount, capability cookie to hold)
    static let visits: [(String, String, String?)] = [
        ("verified", "registration/verified/", nil),
        ("verification-sent", "registration/account_email_verification_sent/", nil),
        ("reset-form", "password/reset/default/", "password_reset_access_token"),
        ("reset-form-invalid-link", "password/reset/default/", nil),
        ("reset-complete", "password/reset/complete/", nil),
        ("set-password-form", "registration/set-password/default/", "set_password_access_token"),
        ("set-password-invalid-link", "registration/set-password/default/", nil),
    ]

    @Test func everyPageRendersCleanlyOnADesktopAndOnA320PixelPhone() throws {
        let instance = try TestInstance()
        let origin = "http://127.0.0.1:\(instance.port)\(instance.mount)/"
        for (device, mobileWidth) in [("desktop", nil), ("phone", 320)] as [(String, Int?)] {
            let browser = try Browser(width: 1000, height: 760, mobileWidth: mobileWidth)
            defer { browser.quit() }
            for (name, path, cookie) in Self.visits {
                try browser.open(origin + path)
                if let cookie {
                    try browser.addCookie(cookie, "opaque-capability")
                    try browser.open(origin + path)
                }
                #expect(browser.isDisplayed("h1"), "\(device) \(name)")
                // The stylesheet applied: the CSP let its nonce through.
                let card = try browser.execute("return getComputedStyle(document.querySelector('.card')).borderRadius") as? String
                #expect(card == "14px" || card == "12px", "\(device) \(name): card radius \(card ?? "none")")
                #expect(browser.exists("#password-form") == (cookie != nil), "\(device) \(name)")
                // Nothing sticks out sideways, even at 320 px.
                let overflow = try browser.execute("return document.documentElement.scrollWidth - window.innerWidth") as? Int
                #expect(overflow == 0, "\(device) \(name): \(overflow ?? -1) px too wide")
                try browser.screenshot("page-\(device)-\(name)")
                if cookie != nil {
                    // Remove the capability before the next page so the invalid-link variant shows.
                    try browser.execute("document.cookie = arguments[0] + '=; Max-Age=0; Path=/'", [cookie!])
                }
            }
        }
    }

    @Test func theFormScriptRunsUnderTheCSPAndExplainsARefusedLinkInTheStatusRegion() throws {
        let instance = try TestInstance()
        let page = "http://127.0.0.1:\(instance.port)\(instance.mount)/password/reset/default/"
        // On a phone: the error state must fit 320 px too.
        let browser = try Browser(mobileWidth: 320)
        defer { browser.quit() }
        try browser.open(page)
        // A capability the server will not accept: the answer is an error the page must show.
        try browser.addCookie("password_reset_access_token", "not-a-real-capability")
        try browser.addCookie("csrftoken", "0123456789abcdef0123456789abcdef")
        try browser.open(page)
        try browser.type("#new_password1", "N3w-Passw0rd!x")
        try browser.type("#new_password2", "N3w-Passw0rd!x")
        try browser.click("button[type=submit]")
        try browser.wait(for: "the status region to show the answer") { !browser.text("#form-status").isEmpty }
        // The script handled it (a blocked script would have navigated to the JSON answer).
        #expect(browser.currentURL == page)
        #expect(browser.attribute("#form-status", "class")?.contains("notice-error") == true)
        #expect(browser.text("#form-status") == "This link has expired or was already used. Please ask for a new one.",
                "a refused capability (401) is told in words a person can act on")
        #expect(browser.attribute("#form-status", "aria-live") == "polite")
        try browser.screenshot("page-phone-reset-form-rejected-capability")
    }

    /// The page a confirmation link opens: the address and one button, a plain form (the page has
    /// no script at all), on a desktop and on a 320 px phone; pressing it confirms.
    @Test func theConfirmationPageShowsTheAddressAndItsButtonConfirms() throws {
        let instance = try TestInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        for (device, mobileWidth) in [("desktop", nil), ("phone", 320)] as [(String, Int?)] {
            let email = "\(device)@example.com"
            #expect(try instance.register(email).status == 201)
            let link = try #require(try instance.awaitMail(to: email).link(port: instance.port))
            let browser = try Browser(width: 1000, height: 760, mobileWidth: mobileWidth)
            defer { browser.quit() }
            try browser.open(link)
            #expect(browser.text("h1") == "Confirm your email address", "\(device)")
            #expect(browser.text("strong") == email)
            #expect(!browser.exists("script"), "the form works without JavaScript")
            let overflow = try browser.execute("return document.documentElement.scrollWidth - window.innerWidth") as? Int
            #expect(overflow == 0, "\(device): \(overflow ?? -1) px too wide")
            _ = try browser.screenshot("page-\(device)-confirm-email")
            #expect(try instance.login(email).json?["code"]?.string == "email_not_verified", "opening the page confirmed nothing")
            try browser.click("button[type=submit]")
            try browser.wait(for: "the verified page") { browser.currentURL.hasSuffix("/registration/verified/") }
            #expect(browser.text("h1") == "Email address confirmed")
            _ = try browser.screenshot("page-\(device)-confirm-email-done")
            #expect(try instance.login(email).status == 200)
        }
    }
}
