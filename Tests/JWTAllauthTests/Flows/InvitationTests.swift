import Foundation
import Testing
@testable import AllauthCore

/// Admin-managed registration in process: invitation → mail → link → set-password
/// capability + CSRF cookies → `set-password/` → a session.
struct InvitationTests {
    static let cookie = "set_password_access_token"
    static let adminManaged = ["JWT_ALLAUTH_ACCOUNTS_ADMIN_MANAGED_REGISTRATION": "true"]

    func invite(_ instance: InProcessInstance, _ inviter: ClientSession, _ email: String, role: String = "0") throws -> HTTPResponse {
        try instance.client.post("/jwt-allauth/registration/user-register/",
                                 json: #"{"email":"\#(email)","role":\#(role),"first_name":"Ada","last_name":"Lovelace"}"#,
                                 headers: [inviter.bearer])
    }

    @Test func staffInvitesAndTheInviteeSetsAPasswordThroughTheLinkOnce() throws {
        let instance = try InProcessInstance.withMail(Self.adminManaged)
        try instance.createUser("staff@example.com", role: 1000)
        let staff = try instance.session("staff@example.com")
        #expect(try instance.register("walk-in@example.com").status == 404, "admin-managed: no public sign-up")

        let invited = try invite(instance, staff, "Ada@Example.com", role: "900")
        #expect(invited.status == 201 && invited.text == "{}")
        let mail = try instance.awaitMail(to: "ada@example.com")
        #expect((mail.subject ?? "").lowercased().contains("invit"))
        let link = try #require(mail.link(port: instance.port))
        #expect(try instance.login("ada@example.com").status == 401, "no password yet")

        let opened = try instance.client.get(instance.path(of: link))
        #expect(opened.status == 302)
        #expect(opened.header("Location") == "/jwt-allauth/registration/set-password/default/", "a working page below the mount")
        #expect(opened.setCookieHeader(Self.cookie)?.contains("Max-Age=86400") == true)
        let cookies = try instance.capabilityCookies(opened, name: Self.cookie)
        #expect(try instance.client.get("/jwt-allauth/registration/set-password/default/",
                                        headers: [("Cookie", "\(Self.cookie)=\(cookies.capability)")]).status == 200)

        let set = try instance.setPassword("registration/set-password/", cookies, cookieName: Self.cookie, password: "Inv1ted-Passw0rd")
        #expect(set.status == 200 && set.json?["detail"]?.string == "Password set.")
        let session = try #require(ClientSession(set))
        let claims = try JWTParts(session.access).claims
        #expect(claims["role"]?.int == 900 && claims["email_verified"]?.bool == true)
        #expect(try instance.refresh(cookie: session.refresh).status == 200)

        let replay = try instance.setPassword("registration/set-password/", cookies, cookieName: Self.cookie, password: "Sec0nd-Passw0rd")
        #expect(replay.status == 401 && replay.header("WWW-Authenticate") == "Cookie")
        #expect(try instance.client.get(instance.path(of: link)).status == 400, "the invitation is used up once the password is set")
        #expect(try instance.login("ada@example.com", password: "Inv1ted-Passw0rd").status == 200)
    }

    /// Each click hands over a capability of its own (a mail scanner's fetch after the owner's click
    /// must not void the owner's form); the first password set spends them all.
    @Test func eachClickOpensItsOwnCapabilityTheFirstPasswordSpendsAllAndCSRFIsRequired() throws {
        let instance = try InProcessInstance.withMail(Self.adminManaged)
        try instance.createUser("staff@example.com", role: 1000)
        #expect(try invite(instance, try instance.session("staff@example.com"), "twice@example.com").status == 201)
        let first = try instance.capabilityCookies(try instance.followMailLink(to: "twice@example.com"), name: Self.cookie)
        let second = try instance.capabilityCookies(try instance.followMailLink(to: "twice@example.com"), name: Self.cookie)
        let noCSRF = try instance.setPassword("registration/set-password/", second, cookieName: Self.cookie, password: "Inv1ted-Passw0rd",
                                              csrfHeader: .some(nil))
        #expect(noCSRF.status == 403)
        #expect(try instance.setPassword("registration/set-password/", first, cookieName: Self.cookie, password: "Inv1ted-Passw0rd").status == 200)
        #expect(try instance.setPassword("registration/set-password/", second, cookieName: Self.cookie, password: "Sec0nd-Passw0rd").status == 401)
    }

    @Test func expiredInvitationsAndSetPasswordCapabilitiesOpenNothing() throws {
        let instance = try InProcessInstance.withMail(Self.adminManaged.merging(["JWT_ALLAUTH_ACCOUNTS_EMAIL_CONFIRMATION_EXPIRE": "4s",
                                                                            "JWT_ALLAUTH_COOKIES_PASSWORD_SET_MAX_AGE": "2s"]) { $1 })
        try instance.createUser("staff@example.com", role: 1000)
        #expect(try invite(instance, try instance.session("staff@example.com"), "late@example.com").status == 201)
        let opened = try instance.followMailLink(to: "late@example.com")
        #expect(opened.setCookieHeader(Self.cookie)?.contains("Max-Age=2") == true)
        let cookies = try instance.capabilityCookies(opened, name: Self.cookie)
        sleep(3)
        #expect(try instance.setPassword("registration/set-password/", cookies, cookieName: Self.cookie, password: "Inv1ted-Passw0rd").status == 401,
                "the capability lives as long as its cookie")
        sleep(2)
        #expect(try instance.followMailLink(to: "late@example.com").status == 400, "the invitation itself has expired")
        #expect(try instance.login("late@example.com", password: "Inv1ted-Passw0rd").status == 401)
    }

    @Test func onlyInvitingRolesMayInviteAndTakenAddressesAreReported() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_INVITATIONS": "true"])
        try instance.createUser("regular@example.com")
        try instance.createUser("staff@example.com", role: 1000)
        let regular = try instance.session("regular@example.com")
        let staff = try instance.session("staff@example.com")
        #expect(try invite(instance, regular, "friend@example.com").status == 403)
        #expect(try instance.client.post("/jwt-allauth/registration/user-register/", json: #"{"email":"x@example.com","role":0}"#).status == 401)
        let taken = try invite(instance, staff, "regular@example.com")
        #expect(taken.status == 400 && taken.json?["email"]?.array?.first?.string == "A user is already registered with this e-mail address.")
        let noRole = try instance.client.post("/jwt-allauth/registration/user-register/", json: #"{"email":"y@example.com"}"#, headers: [staff.bearer])
        #expect(noRole.status == 400 && noRole.json?["role"]?.array?.first?.string == "This field is required.")

        #expect(try invite(instance, staff, "pending@example.com").status == 201)
        let oldLink = try #require(try instance.awaitMail(to: "pending@example.com").link(port: instance.port))
        #expect(try invite(instance, staff, "pending@example.com").status == 201, "re-inviting replaces the pending invitation")
        #expect(try instance.client.get(instance.path(of: oldLink)).status == 400)
        #expect(try instance.followMailLink(to: "pending@example.com", count: 2).status == 302)
        #expect(try instance.register("pending@example.com").status == 201, "open sign-up answers as usual")
        #expect(try instance.database().first("SELECT COUNT(*) FROM users WHERE email_lower = 'pending@example.com' AND role = 0 AND password LIKE '!%'") { $0.int(0) } == 1,
                "but a live invitation reserves the address")
    }

    @Test func operatorCommandsInviteVerifyAndDeactivate() throws {
        let instance = try InProcessInstance.withMail()
        let invited = try instance.command(["invite", "--email", "Ops@Example.com", "--role", "1000"])
        #expect(invited.status == 0, "\(invited.output)")
        #expect(try instance.followMailLink(to: "ops@example.com").status == 302, "the CLI's invitation link works like the API's")
        #expect(try instance.command(["verify-email", "--email", "ops@example.com"]).status == 0)
        #expect(try instance.command(["invite", "--email", "ops@example.com"]).status != 0, "a confirmed address is taken")

        try instance.createUser("unconfirmed@example.com", verified: false)
        #expect(try instance.command(["verify-email", "--email", "unconfirmed@example.com"]).status == 0)
        #expect(try JWTParts(try instance.session("unconfirmed@example.com").access).claims["email_verified"]?.bool == true)

        try instance.createUser("leaver@example.com")
        let session = try instance.session("leaver@example.com")
        _ = try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"leaver@example.com"}"#)
        let cookies = try instance.capabilityCookies(try instance.followMailLink(to: "leaver@example.com"), name: "password_reset_access_token")
        _ = try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"leaver@example.com"}"#)
        let pendingLink = try #require(try instance.awaitMail(to: "leaver@example.com", count: 2).link(port: instance.port))

        let deactivated = try instance.command(["deactivate", "--email", "leaver@example.com"])
        #expect(deactivated.status == 0 && deactivated.output.contains("revoked 1"), "\(deactivated.output)")
        // A deactivated account can do nothing.
        #expect(try instance.refresh(cookie: session.refresh).status == 401)
        #expect(try instance.login("leaver@example.com").json?["code"]?.string == "no_active_account")
        #expect(try instance.client.get(instance.path(of: pendingLink)).cookie("password_reset_access_token") == nil)
        #expect(try instance.setPassword("password/reset/set-new/", cookies, cookieName: "password_reset_access_token",
                                         password: "N3w-Passw0rd-42").status == 401)
        #expect(try instance.client.get("/jwt-allauth/user/", headers: [session.bearer]).status == 401, "not even with a live access token")
        #expect(try instance.client.post("/jwt-allauth/password/change/",
                                         json: #"{"old_password":"Val1dPasw0rd!","new_password1":"N3w-Passw0rd-42","new_password2":"N3w-Passw0rd-42"}"#,
                                         headers: [session.bearer]).status == 401)
        _ = try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"leaver@example.com"}"#)
        usleep(300_000)
        #expect(try instance.queuedMails(to: "leaver@example.com") == 2, "no reset mail for a deactivated account")
        #expect(try instance.login("leaver@example.com").status == 401, "the password is unchanged and still refused")
    }
}
