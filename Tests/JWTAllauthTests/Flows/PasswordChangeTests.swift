import Foundation
import Testing
@testable import AllauthCore

/// `POST password/change/` in process: logout-on-change and the replacement session.
struct PasswordChangeTests {
    func change(_ instance: InProcessInstance, _ session: ClientSession, old: String? = InProcessInstance.strongPassword,
                new: String = "Ch4nged-Passw0rd", confirmation: String? = nil) throws -> HTTPResponse {
        var fields = [#""new_password1":"\#(new)""#, #""new_password2":"\#(confirmation ?? new)""#]
        if let old { fields.insert(#""old_password":"\#(old)""#, at: 0) }
        return try instance.client.post("/jwt-allauth/password/change/", json: "{\(fields.joined(separator: ","))}", headers: [session.bearer])
    }

    @Test func changeRevokesEverySessionAndLinkAndAnswersAReplacementSession() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("changer@example.com")
        let laptop = try instance.session("changer@example.com")
        let phone = try instance.session("changer@example.com")
        _ = try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"changer@example.com"}"#)
        let pendingReset = try #require(try instance.awaitMail(to: "changer@example.com").link(port: instance.port))

        let changed = try change(instance, laptop)
        #expect(changed.status == 200 && changed.json?["detail"]?.string == "New password has been saved.")
        let replacement = try #require(ClientSession(changed))
        #expect(try instance.refresh(cookie: laptop.refresh).status == 401, "the caller's old session is gone too")
        #expect(try instance.refresh(cookie: phone.refresh).status == 401)
        #expect(try instance.refresh(cookie: replacement.refresh).status == 200)
        #expect(try instance.client.get(instance.path(of: pendingReset)).cookie("password_reset_access_token") == nil,
                "an outstanding reset link dies with the old password")
        #expect(try instance.login("changer@example.com").status == 401)
        #expect(try instance.login("changer@example.com", password: "Ch4nged-Passw0rd").status == 200)
    }

    @Test func wrongOldPasswordMissingFieldsAndWeakPasswordsAreRefusedWithTheReferenceMessages() throws {
        let instance = try InProcessInstance.withMail()
        try instance.createUser("careful@example.com", firstName: "Grace", lastName: "Hopper")
        let session = try instance.session("careful@example.com")
        let wrongOld = try change(instance, session, old: "not-my-password")
        #expect(wrongOld.status == 400 && wrongOld.json?.keys == ["old_password"])
        #expect(wrongOld.json?["old_password"]?.array?.first?.string == "Your old password was entered incorrectly. Please enter it again.")
        let empty = try instance.client.post("/jwt-allauth/password/change/", json: "{}", headers: [session.bearer])
        #expect(empty.json?.keys == ["old_password", "new_password1", "new_password2"])
        let mismatch = try change(instance, session, confirmation: "Ch4nged-Passw0rd?")
        #expect(mismatch.json?["new_password2"]?.array?.first?.string == "The two password fields didn\u{2019}t match.")
        let similar = try change(instance, session, new: "Hopper1234")
        #expect(similar.json?["new_password2"]?.array?.first?.string == "The password is too similar to the last name.")
        let long = try change(instance, session, new: String(repeating: "x", count: 129))
        #expect(long.json?["new_password1"]?.array?.first?.string == "Ensure this field has no more than 128 characters.")
        #expect(try instance.refresh(cookie: session.refresh).status == 200, "nothing was revoked by refused changes")
        #expect(try instance.client.post("/jwt-allauth/password/change/", json: "{}").status == 401)
    }

    @Test func withoutLogoutOnChangeSessionsSurviveAndNoNewSessionIsHandedOut() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_LOGOUT_ON_PASSWORD_CHANGE": "false",
                                                      "JWT_ALLAUTH_ACCOUNTS_OLD_PASSWORD_FIELD_ENABLED": "false"])
        try instance.createUser("relaxed@example.com")
        let session = try instance.session("relaxed@example.com")
        let changed = try change(instance, session, old: nil)
        #expect(changed.status == 200 && changed.json?.keys == ["detail"] && changed.cookie("refresh_token") == nil)
        #expect(try instance.refresh(cookie: session.refresh).status == 200)
        #expect(try instance.login("relaxed@example.com", password: "Ch4nged-Passw0rd").status == 200)
    }
}
