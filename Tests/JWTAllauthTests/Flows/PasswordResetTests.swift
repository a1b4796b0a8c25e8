import Foundation
import Testing
@testable import AllauthCore

/// Password reset in process: request → mail → link → capability + CSRF cookies →
/// `set-new/` → a new session; every single-use step tried twice.
struct PasswordResetTests {
    static let cookie = "password_reset_access_token"

    func requestReset(_ instance: InProcessInstance, _ email: String) throws -> HTTPResponse {
        try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"\#(email)"}"#)
    }

    @Test func resetFromRequestToMailToLinkToNewSessionAndEachStepWorksOnce() throws {
        let instance = try InProcessInstance.withMail()
        let user = try instance.createUser("forgetful@example.com")
        let oldSession = try instance.session("forgetful@example.com")

        let requested = try requestReset(instance, " Forgetful@Example.com ")
        #expect(requested.status == 200 && requested.json?["detail"]?.string == "Password reset e-mail has been sent.")
        let mail = try instance.awaitMail(to: "forgetful@example.com")
        #expect((mail.subject ?? "").lowercased().contains("password"))
        let link = try #require(mail.link(port: instance.port))
        #expect(link.contains("/jwt-allauth/password/reset/confirm/\(Base64URL.encode(Array(String(user.id).utf8)))/"))

        let opened = try instance.client.get(instance.path(of: link))
        #expect(opened.status == 302)
        #expect(opened.header("Location") == "/jwt-allauth/password/reset/default/")
        let capabilityHeader = try #require(opened.setCookieHeader(Self.cookie))
        #expect(capabilityHeader.contains("HttpOnly") && capabilityHeader.contains("Max-Age=3600") && capabilityHeader.contains("SameSite=Lax"))
        #expect(opened.setCookieHeader("csrftoken")?.contains("HttpOnly") == false)
        let cookies = try instance.capabilityCookies(opened, name: Self.cookie)

        let reopened = try instance.client.get(instance.path(of: link))
        #expect(reopened.status == 302 && reopened.cookie(Self.cookie) != nil, "opening spends nothing until a password is set")

        let set = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "N3w-Passw0rd-42")
        #expect(set.status == 200)
        let spent = try instance.client.get(instance.path(of: link))
        #expect(spent.status == 200 && spent.cookie(Self.cookie) == nil, "the set password spent the link")
        #expect(set.json?["detail"]?.string == "Password reset.")
        let fresh = try #require(ClientSession(set))
        #expect(set.setCookieHeader(Self.cookie)?.contains("Max-Age=0") == true, "the spent capability cookie is cleared")

        let replay = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "Th1rd-Passw0rd-42")
        #expect(replay.status == 401 && replay.json?["code"]?.string == "token_not_valid")
        #expect(replay.header("WWW-Authenticate") == "Cookie")

        #expect(try instance.refresh(cookie: oldSession.refresh).status == 401, "every earlier session is revoked")
        #expect(try instance.refresh(cookie: fresh.refresh).status == 200, "the replacement session works")
        #expect(try instance.login("forgetful@example.com").status == 401)
        #expect(try instance.login("forgetful@example.com", password: "N3w-Passw0rd-42").status == 200)
    }

    @Test func missingOrWrongCSRFIsRefusedWithoutSpendingTheCapability() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("csrf@example.com")
        _ = try requestReset(instance, "csrf@example.com")
        let cookies = try instance.capabilityCookies(try instance.followMailLink(to: "csrf@example.com"), name: Self.cookie)

        let missing = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "N3w-Passw0rd-42",
                                               csrfHeader: .some(nil))
        #expect(missing.status == 403 && missing.json?["detail"]?.string == "CSRF Failed: CSRF token missing.")
        let wrong = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "N3w-Passw0rd-42",
                                             csrfHeader: String(repeating: "x", count: 32))
        #expect(wrong.status == 403 && wrong.json?["detail"]?.string == "CSRF Failed: CSRF token incorrect.")
        let noCookie = try instance.client.post("/jwt-allauth/password/reset/set-new/", json: #"{"new_password1":"N3w-Passw0rd-42","new_password2":"N3w-Passw0rd-42"}"#,
                                                headers: [("Cookie", "\(Self.cookie)=\(cookies.capability)"), ("X-CSRFToken", cookies.csrf)])
        #expect(noCookie.status == 403 && noCookie.json?["detail"]?.string == "CSRF Failed: CSRF cookie not set.")
        let crossSite = try instance.client.post("/jwt-allauth/password/reset/set-new/",
                                                 json: #"{"new_password1":"N3w-Passw0rd-42","new_password2":"N3w-Passw0rd-42"}"#,
                                                 headers: cookies.headers(cookieName: Self.cookie, csrfHeader: cookies.csrf) + [("Origin", "https://evil.example")])
        #expect(crossSite.status == 403, "the answer would set a refresh cookie: another site may not ask for it")
        #expect(try instance.login("csrf@example.com").status == 200, "nothing changed")

        let set = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "N3w-Passw0rd-42")
        #expect(set.status == 200, "the capability survived the refused attempts")
    }

    @Test func aRejectedNewPasswordDoesNotSpendTheCapability() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("typo@example.com")
        _ = try requestReset(instance, "typo@example.com")
        let cookies = try instance.capabilityCookies(try instance.followMailLink(to: "typo@example.com"), name: Self.cookie)
        let common = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "password")
        #expect(common.status == 400)
        #expect(common.json?["new_password2"]?.array?.compactMap(\.string).contains("This password is too common.") == true)
        let mismatch = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "N3w-Passw0rd-42",
                                                confirmation: "N3w-Passw0rd-43")
        #expect(mismatch.json?["new_password2"]?.array?.first?.string == "The two password fields didn\u{2019}t match.")
        let similar = try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "typo@example.com")
        #expect(similar.json?["new_password2"]?.array?.first?.string == "The password is too similar to the email address.")
        #expect(try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "N3w-Passw0rd-42").status == 200)
    }

    /// Only the latest link opens; a capability it handed over lives until one of them sets the
    /// password (a newer request does not void the form the owner has open).
    @Test func onlyTheLatestLinkOpensAndTheFirstPasswordSetSpendsEveryCapability() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("latest@example.com")
        _ = try requestReset(instance, "latest@example.com")
        _ = try requestReset(instance, "latest@example.com")
        let first = try #require(try instance.awaitMail(to: "latest@example.com", count: 1).link(port: instance.port))
        #expect(try instance.client.get(instance.path(of: first)).cookie(Self.cookie) == nil, "superseded by the second mail")
        let second = try instance.followMailLink(to: "latest@example.com", count: 2)
        #expect(second.status == 302)
        let olderCapability = try instance.capabilityCookies(second, name: Self.cookie)

        _ = try requestReset(instance, "latest@example.com")
        let newerCapability = try instance.capabilityCookies(try instance.followMailLink(to: "latest@example.com", count: 3), name: Self.cookie)
        #expect(try instance.setPassword("password/reset/set-new/", newerCapability, cookieName: Self.cookie, password: "N3w-Passw0rd-42").status == 200)
        #expect(try instance.setPassword("password/reset/set-new/", olderCapability, cookieName: Self.cookie, password: "Th1rd-Passw0rd-42").status == 401)
        #expect(try instance.openMailLink(to: "latest@example.com", count: 3).cookie(Self.cookie) == nil, "the used link is spent")
    }

    @Test func anUnknownAddressIsIndistinguishableFromAKnownOne() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("known@example.com")
        var known: [(HTTPResponse, TimeInterval)] = []
        var unknown: [(HTTPResponse, TimeInterval)] = []
        for round in 0..<3 {
            for (address, bucket) in [("known@example.com", 0), ("nobody\(round)@example.com", 1)] {
                let started = Date()
                let response = try requestReset(instance, address)
                let pair = (response, Date().timeIntervalSince(started))
                if bucket == 0 { known.append(pair) } else { unknown.append(pair) }
            }
        }
        for (a, b) in zip(known, unknown) {
            #expect(a.0.status == 200 && a.0.status == b.0.status)
            #expect(a.0.body == b.0.body)
            #expect(a.0.stableHeaders == b.0.stableHeaders)
            #expect(a.0.headers("Set-Cookie").isEmpty && b.0.headers("Set-Cookie").isEmpty)
        }
        let knownMedian = known.map(\.1).sorted()[1], unknownMedian = unknown.map(\.1).sorted()[1]
        #expect(max(knownMedian, unknownMedian) < 2 * min(knownMedian, unknownMedian), "timing within 2×: \(knownMedian) vs \(unknownMedian)")
        #expect(try instance.queuedMails(to: "known@example.com") == 3)
        #expect(try instance.outboxCount == 3, "no mail for unknown addresses")
    }

    @Test func requestsPerAddressAreLimitedAlikeForKnownAndUnknownAddresses() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_THROTTLE_PASSWORD_RESET_ADDRESS": "2/m"])
        try instance.createUser("limited@example.com")
        for address in ["limited@example.com", "ghost@example.com"] {
            #expect(try requestReset(instance, address).status == 200)
            #expect(try requestReset(instance, address.uppercased()).status == 200, "counted after normalising")
            let limited = try requestReset(instance, address)
            #expect(limited.status == 429 && limited.header("Retry-After") != nil)
            #expect(limited.json?["detail"]?.string == "Too many password reset requests for this e-mail address.")
        }
        #expect(try requestReset(instance, "other@example.com").status == 200, "the budget is per address")
        #expect(try instance.queuedMails(to: "limited@example.com") == 2)
    }

    @Test func expiredLinksAndCapabilitiesOpenNothing() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_PASSWORD_RESET_TIMEOUT": "2s",
                                                      "JWT_ALLAUTH_COOKIES_PASSWORD_RESET_MAX_AGE": "2s"])
        try instance.createUser("slow@example.com")
        _ = try requestReset(instance, "slow@example.com")
        _ = try instance.awaitMail(to: "slow@example.com")
        sleep(3)
        let expiredLink = try instance.followMailLink(to: "slow@example.com")
        #expect(expiredLink.status == 200 && expiredLink.cookie(Self.cookie) == nil)

        _ = try requestReset(instance, "slow@example.com")
        let opened = try instance.followMailLink(to: "slow@example.com", count: 2)
        #expect(opened.setCookieHeader(Self.cookie)?.contains("Max-Age=2") == true, "the capability lives as long as its cookie")
        let cookies = try instance.capabilityCookies(opened, name: Self.cookie)
        sleep(3)
        #expect(try instance.setPassword("password/reset/set-new/", cookies, cookieName: Self.cookie, password: "N3w-Passw0rd-42").status == 401)
        #expect(try instance.login("slow@example.com").status == 200, "password unchanged")
    }

    /// An unconfirmed address does get its mail (`PendingSignUpTests`): a stranger's sign-up of it
    /// must not lock its owner out.
    @Test func inactiveAndPasswordlessAccountsGetNoMail() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("inactive@example.com", active: false)
        _ = try instance.command(["invite", "--email", "passwordless@example.com"])
        _ = try instance.awaitMail(to: "passwordless@example.com")
        _ = try instance.database().run("DELETE FROM outbox")
        for address in ["inactive@example.com", "passwordless@example.com"] {
            #expect(try requestReset(instance, address).status == 200)
        }
        usleep(300_000)
        #expect(try instance.outboxCount == 0)
    }
}
