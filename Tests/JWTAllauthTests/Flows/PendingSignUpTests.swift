import Foundation
import Testing
@testable import AllauthCore

/// A stranger's sign-up of somebody else's address, tried as the stranger would (issue 18.2, 18.4,
/// 18.9), in process: it cannot replace the owner's pending sign-up, bring a second factor
/// of its own, tell taken addresses from free ones, or lock the owner out.
struct PendingSignUpTests {
    @Test func underRequiredMFANoSetupChallengeWorksBeforeConfirmationSoNewAndTakenLookAlike() throws {
        let instance = try InProcessInstance.mfa("required", mail: true, ["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        try instance.createUser("owner@example.com")
        let fresh = try instance.register("victim@example.com")
        let taken = try instance.register("owner@example.com")
        #expect(fresh.status == 201 && taken.status == 201)
        #expect(fresh.json?.keys == taken.json?.keys && fresh.json?["mfa_setup_required"]?.bool == true)

        func setup(_ signUp: HTTPResponse) throws -> HTTPResponse {
            try instance.mfaPost("setup/", #"{"setup_challenge_id":"\#(try #require(signUp.json?["setup_challenge_id"]?.string))"}"#)
        }
        let freshSetup = try setup(fresh), takenSetup = try setup(taken)
        #expect(freshSetup.status == takenSetup.status && freshSetup.body == takenSetup.body,
                "a decoy and a real id answer alike: \(freshSetup.text) / \(takenSetup.text)")
        #expect(freshSetup.json?["secret"] == nil, "no secret before the address is confirmed")
        #expect(try instance.database().first("SELECT COUNT(*) FROM mfa_setup_secrets") { $0.int(0) } == 0)
        #expect(try instance.database().first("SELECT COUNT(*) FROM mfa_authenticators") { $0.int(0) } == 0)
    }

    @Test func aStrangersSecondSignUpOfAPendingAddressChangesNothing() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        #expect(try instance.register("pending@example.com").status == 201)
        let ownersLink = try #require(try instance.awaitMail(to: "pending@example.com").link(port: instance.port))
        let before = try instance.database().first("SELECT id, password FROM users") { ($0.int(0), $0.string(1)) }
        #expect(try instance.register("pending@example.com", password: "Str4nger-Passw0rd").status == 201)
        _ = try instance.awaitMail(to: "pending@example.com", count: 2)
        let after = try instance.database().first("SELECT id, password FROM users") { ($0.int(0), $0.string(1)) }
        #expect(before?.0 == after?.0 && before?.1 == after?.1, "the pending account, its password and its link are untouched")
        #expect(try instance.pressConfirmButton(on: try instance.client.get(instance.path(of: ownersLink)))?.status == 302)
        #expect(try instance.login("pending@example.com").status == 200)
    }

    /// Optional verification: the stranger's account works at once, so the owner's way back is the
    /// reset, which now reaches an unconfirmed address, confirms it and ends the stranger's access.
    @Test func theOwnersResetTakesAStrangersUnconfirmedAccountOver() throws {
        let instance = try InProcessInstance.mfa("optional", mail: true, ["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "optional"])
        let strangerSignUp = try instance.register("owner@example.com", password: "Str4nger-Passw0rd")
        let stranger = try #require(ClientSession(strangerSignUp))
        // The stranger cannot bring a second factor before the address is confirmed.
        #expect(try instance.reauthenticate(stranger, password: "Str4nger-Passw0rd").status == 200)
        let enrol = try instance.mfaPost("setup/", "{}", headers: [stranger.bearer])
        #expect(enrol.status == 403 && enrol.json?["code"]?.string == "email_not_verified", "\(enrol.text)")
        #expect(try instance.register("owner@example.com").status == 400, "optional mode reports the conflict")

        // The owner asks for a reset: the unconfirmed address gets it.
        #expect(try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"owner@example.com"}"#).status == 200)
        let reset = try instance.awaitMail(to: "owner@example.com", count: 2)
        #expect((reset.subject ?? "").lowercased().contains("password"), "\(reset.subject ?? "")")
        let cookies = try instance.capabilityCookies(try instance.client.get(instance.path(of: try #require(reset.link(port: instance.port)))),
                                                     name: "password_reset_access_token")
        let set = try instance.setPassword("password/reset/set-new/", cookies, cookieName: "password_reset_access_token", password: "0wner-Passw0rd-42")
        let owner = try #require(ClientSession(set), "\(set.text)")
        #expect(try JWTParts(owner.access).claims["email_verified"]?.bool == true, "the reset confirmed the address")

        #expect(try instance.refresh(cookie: stranger.refresh).status == 401, "the stranger's session died with the reset")
        #expect(try instance.login("owner@example.com", password: "Str4nger-Passw0rd").status == 401)
        #expect(try instance.refresh(cookie: owner.refresh).status == 200)
    }

    /// The setting that does not log out on a password change still ends a stranger's sessions when
    /// a reset takes an unconfirmed account over.
    @Test func takingOverEndsTheStrangersSessionsEvenWithoutLogoutOnPasswordChange() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "optional",
                                                  "JWT_ALLAUTH_ACCOUNTS_LOGOUT_ON_PASSWORD_CHANGE": "false"])
        let stranger = try #require(ClientSession(try instance.register("owner@example.com", password: "Str4nger-Passw0rd")))
        #expect(try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"owner@example.com"}"#).status == 200)
        let reset = try instance.awaitMail(to: "owner@example.com", count: 2)
        let cookies = try instance.capabilityCookies(try instance.client.get(instance.path(of: try #require(reset.link(port: instance.port)))),
                                                     name: "password_reset_access_token")
        #expect(try instance.setPassword("password/reset/set-new/", cookies, cookieName: "password_reset_access_token", password: "0wner-Passw0rd-42").status == 200)
        #expect(try instance.refresh(cookie: stranger.refresh).status == 401)
    }
}
