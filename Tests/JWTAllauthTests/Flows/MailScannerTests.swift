import Foundation
import Testing
@testable import AllauthCore

/// Links survive mail scanners (issue 18.3), in process: a HEAD or a pre-fetch GET of a
/// link changes nothing a person relies on. Only the confirmation page's button confirms, and a
/// reset link is spent by the password it sets, not by being opened.
struct MailScannerTests {
    static let mandatory = ["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"]
    static let resetCookie = "password_reset_access_token"

    func isConfirmed(_ instance: InProcessInstance, _ email: String) throws -> Bool {
        try instance.database().first("SELECT email_verified FROM users WHERE email_lower = ?", [.text(email)]) { $0.bool(0) } ?? false
    }

    @Test func aScannersHeadAndGetOfAConfirmationLinkConfirmNothingTheButtonDoes() throws {
        let instance = try InProcessInstance.withMail(Self.mandatory)
        #expect(try instance.register("scanned@example.com").status == 201)
        let link = instance.path(of: try #require(try instance.awaitMail(to: "scanned@example.com").link(port: instance.port)))

        let head = try instance.client.request("HEAD", link)
        #expect(head.status == 200 && head.headers("Set-Cookie").isEmpty && head.body.isEmpty)
        let prefetch = try instance.client.get(link)
        #expect(prefetch.status == 200 && prefetch.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(try !isConfirmed(instance, "scanned@example.com"), "neither HEAD nor GET confirms")
        #expect(try instance.login("scanned@example.com").json?["code"]?.string == "email_not_verified")

        // The button's POST needs the page's CSRF value: a form on another site (or a bare POST) fails.
        let form = try #require(ConfirmationForm(prefetch))
        let bare = try instance.client.request("POST", form.action, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                               body: Array("csrfmiddlewaretoken=\(form.token)".utf8))
        #expect(bare.status == 403, "no CSRF cookie: \(bare.text)")
        let foreign = try instance.pressConfirmButton(on: prefetch, headers: [("Origin", "https://evil.example")])
        #expect(foreign?.status == 403 && foreign?.json?["code"]?.string == "origin_not_allowed")
        #expect(try !isConfirmed(instance, "scanned@example.com"))

        let pressed = try #require(try instance.pressConfirmButton(on: prefetch))
        #expect(pressed.status == 302 && pressed.header("Location") == "/jwt-allauth/registration/verified/")
        #expect(try isConfirmed(instance, "scanned@example.com"))
        #expect(try instance.login("scanned@example.com").status == 200)
        #expect(try instance.client.get(link).status == 400, "a used link shows the failure page")
    }

    @Test func confirmEmailOnGetKeepsTheReferencesGetButHeadStillConfirmsNothing() throws {
        let instance = try InProcessInstance.withMail(Self.mandatory.merging(["JWT_ALLAUTH_ACCOUNTS_CONFIRM_EMAIL_ON_GET": "true"]) { $1 })
        #expect(try instance.register("legacy@example.com").status == 201)
        let link = instance.path(of: try #require(try instance.awaitMail(to: "legacy@example.com").link(port: instance.port)))
        #expect(try instance.client.request("HEAD", link).status == 200)
        #expect(try !isConfirmed(instance, "legacy@example.com"), "HEAD never changes anything")
        let get = try instance.client.get(link)
        #expect(get.status == 302 && get.header("Location") == "/jwt-allauth/registration/verified/")
        #expect(try isConfirmed(instance, "legacy@example.com"))
    }

    @Test func aScannersHeadAndGetOfAResetLinkLeaveTheOwnersClickWorking() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("owner@example.com")
        #expect(try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"owner@example.com"}"#).status == 200)
        let link = instance.path(of: try #require(try instance.awaitMail(to: "owner@example.com").link(port: instance.port)))

        let head = try instance.client.request("HEAD", link)
        #expect(head.status == 200 && head.headers("Set-Cookie").isEmpty)
        let scanner = try instance.client.get(link)
        #expect(scanner.status == 302 && scanner.cookie(Self.resetCookie) != nil)
        let owner = try instance.client.get(link)
        #expect(owner.status == 302, "the scanner's fetch did not spend the link")
        let scannerCookies = try instance.capabilityCookies(scanner, name: Self.resetCookie)
        let ownerCookies = try instance.capabilityCookies(owner, name: Self.resetCookie)
        #expect(scannerCookies.capability != ownerCookies.capability)

        let set = try instance.setPassword("password/reset/set-new/", ownerCookies, cookieName: Self.resetCookie, password: "N3w-Passw0rd-42")
        #expect(set.status == 200, "\(set.text)")
        // Spent together: the link and every capability made from it.
        #expect(try instance.setPassword("password/reset/set-new/", scannerCookies, cookieName: Self.resetCookie, password: "Sc4nner-Passw0rd").status == 401)
        let again = try instance.client.get(link)
        #expect(again.status == 200 && again.cookie(Self.resetCookie) == nil, "the link is spent")
        #expect(try instance.login("owner@example.com", password: "N3w-Passw0rd-42").status == 200)
    }

    @Test func aScannersGetOfAnInvitationLinkConfirmsNothingAndVoidsNoCapability() throws {
        let instance = try InProcessInstance.withMail(InvitationTests.adminManaged)
        #expect(try instance.command(["invite", "--email", "invitee@example.com"]).status == 0)
        let link = instance.path(of: try #require(try instance.awaitMail(to: "invitee@example.com").link(port: instance.port)))
        #expect(try instance.client.request("HEAD", link).headers("Set-Cookie").isEmpty)
        let owner = try instance.capabilityCookies(try instance.client.get(link), name: "set_password_access_token")
        _ = try instance.client.get(link)  // the scanner, after the owner's click
        #expect(try !isConfirmed(instance, "invitee@example.com"), "opening an invitation confirms nothing by itself")
        let set = try instance.setPassword("registration/set-password/", owner, cookieName: "set_password_access_token", password: "Inv1ted-Passw0rd")
        #expect(set.status == 200, "\(set.text)")
        #expect(try isConfirmed(instance, "invitee@example.com"))
    }
}
