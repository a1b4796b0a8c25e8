import Foundation
import Testing
@testable import AllauthDomain

/// Rights come from the account's row, never from the access token's claims alone (issue 18.1,
/// 18.11), in process: a deactivated or demoted account loses them with its next request,
/// while its access token is still valid by signature.
struct AuthorisationTests {
    func invite(_ instance: InProcessInstance, _ inviter: ClientSession, _ email: String, role: Int) throws -> HTTPResponse {
        try instance.client.post("/jwt-allauth/registration/user-register/", json: #"{"email":"\#(email)","role":\#(role)}"#,
                                 headers: [inviter.bearer])
    }

    @Test func aDeactivatedStaffAccountsLiveAccessTokenInvitesNobody() throws {
        let instance = try InProcessInstance.withMail(InvitationTests.adminManaged)
        try instance.createUser("staff@example.com", role: Role.staff)
        let staff = try instance.session("staff@example.com")
        #expect(try instance.command(["deactivate", "--email", "staff@example.com"]).status == 0)

        let refused = try invite(instance, staff, "newcomer@example.com", role: Role.staff)
        #expect(refused.status == 401 && refused.json?["code"]?.string == "user_inactive", "\(refused.text)")
        #expect(try instance.queuedMails(to: "newcomer@example.com") == 0, "no invitation was mailed")
        #expect(try instance.database().first("SELECT COUNT(*) FROM users WHERE email_lower = 'newcomer@example.com'") { $0.int(0) } == 0)
        // Every endpoint that acts for a user refuses the same token.
        let post = #"{"old_password":"Val1dPasw0rd!","new_password1":"N3w-Passw0rd-42","new_password2":"N3w-Passw0rd-42"}"#
        for (method, path, body) in [("GET", "user/", nil), ("PATCH", "user/", #"{"first_name":"Eve"}"#), ("GET", "sessions/", nil),
                                     ("POST", "password/change/", post), ("POST", "logout-all/", "{}")] {
            let answer = try instance.client.request(method, "/jwt-allauth/\(path)",
                                                     headers: [staff.bearer, ("Content-Type", "application/json")],
                                                     body: Array((body ?? "").utf8))
            #expect(answer.status == 401 && answer.json?["code"]?.string == "user_inactive", "\(method) \(path): \(answer.text)")
        }
    }

    @Test func aDemotedAccountLosesTheRightToInviteAtOnce() throws {
        let instance = try InProcessInstance.withMail(InvitationTests.adminManaged)
        try instance.createUser("staff@example.com", role: Role.staff)
        let staff = try instance.session("staff@example.com")
        #expect(try JWTParts(staff.access).claims["role"]?.int == Role.staff)
        _ = try instance.database().run("UPDATE users SET role = 0 WHERE email_lower = 'staff@example.com'")

        let refused = try invite(instance, staff, "newcomer@example.com", role: 0)
        #expect(refused.status == 403, "the token still says 1000; the row says 0: \(refused.text)")
        #expect(try instance.queuedMails(to: "newcomer@example.com") == 0)
    }

    @Test func aSuperuserCannotInviteARoleAboveItsOwn() throws {
        let instance = try InProcessInstance.withMail(InvitationTests.adminManaged)
        try instance.createUser("super@example.com", role: Role.superuser)
        let superuser = try instance.session("super@example.com")

        let above = try invite(instance, superuser, "staff-to-be@example.com", role: Role.staff)
        #expect(above.status == 400 && above.json?["role"] != nil, "\(above.text)")
        #expect(try instance.queuedMails(to: "staff-to-be@example.com") == 0)
        #expect(try invite(instance, superuser, "peer@example.com", role: Role.superuser).status == 201)
        #expect(try invite(instance, superuser, "user@example.com", role: 0).status == 201)
    }

    @Test func userDetailsApplyTheSignUpNameRules() throws {
        let instance = try InProcessInstance()
        try instance.createUser("names@example.com")
        let session = try instance.session("names@example.com")
        for (method, body) in [("PATCH", #"{"first_name":"<script>alert(1)</script>"}"#), ("PATCH", #"{"last_name":"Robert'); DROP TABLE users;--"}"#),
                               ("PUT", #"{"first_name":"Ada","last_name":"L0velace"}"#)] {
            let answer = try instance.client.request(method, "/jwt-allauth/user/", headers: [session.bearer, ("Content-Type", "application/json")],
                                                     body: Array(body.utf8))
            #expect(answer.status == 400, "\(method) \(body): \(answer.text)")
        }
        let accepted = try instance.client.request("PATCH", "/jwt-allauth/user/", headers: [session.bearer, ("Content-Type", "application/json")],
                                                   body: Array(#"{"first_name":"Ó Súilleabháin-O'Brien"}"#.utf8))
        #expect(accepted.status == 200 && accepted.json?["first_name"]?.string == "Ó Súilleabháin-O'Brien", "\(accepted.text)")
        #expect(try instance.client.get("/jwt-allauth/user/", headers: [session.bearer]).json?["last_name"]?.string == "")
    }

    @Test func internationalisedDomainsAreRefusedAtSignUpWithAClearError() throws {
        let instance = try InProcessInstance.withMail()
        let answer = try instance.register("anna@bücher.de")
        #expect(answer.status == 400 && answer.json?["email"]?.array?.first?.string?.contains("xn--") == true, "\(answer.text)")
        #expect(try instance.userCount == 0)
        #expect(try instance.register("anna@xn--bcher-kva.de").status == 201)
    }
}
