import Foundation
import Testing
@testable import AllauthCore

/// Sign-up in the three verification modes and the confirmation link, in process, from
/// the request to the mail to the link to the final state.
struct RegistrationTests {
    @Test func signUpMailsALinkThatConfirmsOnceThenLoginWorks() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        let signUp = try instance.register("New.Comer@Example.com", extra: #","first_name":"Zoë","last_name":"O'Brien-Smith""#)
        #expect(signUp.status == 201)
        #expect(signUp.json?.keys == ["detail"] && signUp.json?["detail"]?.string == "Verification e-mail sent.")
        #expect(signUp.cookie("refresh_token") == nil, "no session before the address is proven")
        let refused = try instance.login("new.comer@example.com")
        #expect(refused.status == 401 && refused.json?["code"]?.string == "email_not_verified")

        let mail = try instance.awaitMail(to: "new.comer@example.com")
        #expect((mail.subject ?? "").lowercased().contains("confirm"))
        let link = try #require(mail.link(port: instance.port))
        #expect(link.contains("/jwt-allauth/registration/verification/"))
        let page = try instance.client.get(instance.path(of: link))
        #expect(page.status == 200 && page.text.contains("new.comer@example.com"), "the link shows what it confirms")
        #expect(try instance.login("new.comer@example.com").status == 401, "opening the link confirms nothing")
        let confirmed = try #require(try instance.pressConfirmButton(on: page))
        #expect(confirmed.status == 302)
        #expect(confirmed.header("Location") == "/jwt-allauth/registration/verified/")

        let login = try instance.login("new.comer@example.com")
        #expect(login.status == 200)
        #expect(try JWTParts(login.json?["access"]?.string ?? "").claims["email_verified"]?.bool == true)
        let details = try instance.client.get("/jwt-allauth/user/", headers: [try #require(ClientSession(login)).bearer])
        #expect(details.json?["first_name"]?.string == "Zoë" && details.json?["last_name"]?.string == "O'Brien-Smith")

        let again = try instance.client.get(instance.path(of: link))
        #expect(again.status == 400, "a used link fails")
        #expect(again.header("Content-Type")?.hasPrefix("text/html") == true)
        let garbage = try instance.client.get("/jwt-allauth/registration/verification/not-a-key/")
        #expect(garbage.status == 400 && garbage.pageWithoutNonce == again.pageWithoutNonce, "bad and used keys get the same page")
    }

    @Test func aTakenAddressAnswersLikeAFreeOneAndMailsTheOwnerInstead() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        try instance.createUser("owner@example.com")
        let free = try instance.register("stranger@example.com")
        let taken = try instance.register("OWNER@example.com", password: "An0ther-Passw0rd")
        #expect(taken.status == free.status && taken.body == free.body)
        #expect(taken.stableHeaders == free.stableHeaders)
        #expect(try instance.userCount == 2, "nothing created for the taken address")
        let notice = try instance.awaitMail(to: "owner@example.com")
        #expect((notice.subject ?? "").contains("already have an account"))
        #expect(!(notice.text ?? "").contains("/registration/verification/"), "the notice confirms nothing")
        #expect(try instance.login("owner@example.com").status == 200, "the owner's password is untouched")
    }

    /// Unlike the reference, which deletes a pending sign-up when its address signs up again: a
    /// stranger's second sign-up would swap the owner's pending account for the stranger's password.
    @Test func aPendingSignUpIsNeverReplacedAndTheSecondSignUpMailsTheNotice() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        let first = try instance.register("twice@example.com")
        #expect(first.status == 201)
        #expect(try instance.awaitMail(to: "twice@example.com").link(port: instance.port) != nil)
        let second = try instance.register("twice@example.com", password: "Str4nger-Passw0rd")
        #expect(second.status == first.status && second.body == first.body, "the stranger learns nothing")
        let notice = try instance.awaitMail(to: "twice@example.com", count: 2)
        #expect((notice.subject ?? "").contains("already have an account"), "\(notice.subject ?? "")")
        #expect(!(notice.text ?? "").contains("/registration/verification/"), "the notice confirms nothing")
        #expect(try instance.userCount == 1)
        #expect(try instance.followMailLink(to: "twice@example.com").status == 302, "the owner's link still works")
        #expect(try instance.login("twice@example.com", password: "Str4nger-Passw0rd").status == 401, "the stranger's password opens nothing")
        #expect(try instance.login("twice@example.com").status == 200, "the owner's password does")
    }

    @Test func optionalVerificationSignsInAtOnceAndTheLinkFlipsTheClaimAtTheNextRotation() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "optional"])
        let signUp = try instance.register("optional@example.com")
        #expect(signUp.status == 201)
        let session = try #require(ClientSession(signUp))
        #expect(try JWTParts(session.access).claims["email_verified"]?.bool == false)
        #expect(try instance.followMailLink(to: "optional@example.com").status == 302)
        let rotated = try instance.refresh(cookie: session.refresh)
        #expect(rotated.status == 200)
        #expect(try JWTParts(rotated.json?["access"]?.string ?? "").claims["email_verified"]?.bool == true)
        #expect(try instance.register("optional@example.com").json?["email"]?.array?.first?.string
                == "A user is already registered with this e-mail address.", "without mandatory verification a conflict is reported")
    }

    @Test func withoutVerificationSignUpIsALoginAndSendsNoMail() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "none"])
        let signUp = try instance.register("plain@example.com")
        #expect(signUp.status == 201 && signUp.json?["access"]?.string != nil)
        #expect(try instance.refresh(cookie: try #require(signUp.cookie("refresh_token"))).status == 200)
        #expect(try instance.outboxCount == 0)
        #expect(try instance.client.get("/jwt-allauth/registration/verification/anything/").status == 404, "no link route without verification")
    }

    @Test func withEnumerationHidingOffTheSignUpSessionStaysDisabledUntilTheLink() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory",
                                                      "JWT_ALLAUTH_ACCOUNTS_PREVENT_ENUMERATION": "false"])
        let signUp = try instance.register("disabled@example.com")
        #expect(signUp.status == 201 && signUp.json?.keys == ["detail"])
        let refresh = try #require(signUp.cookie("refresh_token"))
        let early = try instance.refresh(cookie: refresh)
        #expect(early.status == 401 && early.json?["code"]?.string == "email_not_verified")
        #expect(try instance.followMailLink(to: "disabled@example.com").status == 302)
        #expect(try instance.refresh(cookie: refresh).status == 200, "the link enabled the waiting session")
        try instance.createUser("verified@example.com")
        #expect(try instance.register("verified@example.com").status == 400, "hiding off: the conflict is reported")
    }

    @Test func configuredRedirectsAndTheResetRequestLinkAreHonoured() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory",
                                                  "JWT_ALLAUTH_REDIRECTS_EMAIL_VERIFIED": "https://app.example.com/welcome",
                                                  "JWT_ALLAUTH_REDIRECTS_PASSWORD_RESET": "https://app.example.com/new-password",
                                                  "JWT_ALLAUTH_REDIRECTS_PASSWORD_RESET_REQUEST": "/forgot-password"])
        #expect(try instance.register("redirected@example.com").status == 201)
        #expect(try instance.followMailLink(to: "redirected@example.com").header("Location") == "https://app.example.com/welcome")
        _ = try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"redirected@example.com"}"#)
        let reset = try instance.followMailLink(to: "redirected@example.com", count: 2)
        #expect(reset.status == 302 && reset.header("Location") == "https://app.example.com/new-password")
        #expect(reset.cookie("password_reset_access_token") != nil)
        #expect(try instance.register("redirected@example.com").status == 201)
        let notice = try instance.awaitMail(to: "redirected@example.com", count: 3)
        #expect(notice.links.contains("http://127.0.0.1:\(instance.port)/forgot-password"), "\(notice.links)")
    }

    @Test func anExpiredConfirmationLinkFailsAndConfirmsNothing() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory",
                                                      "JWT_ALLAUTH_ACCOUNTS_EMAIL_CONFIRMATION_EXPIRE": "2s"])
        #expect(try instance.register("late@example.com").status == 201)
        _ = try instance.awaitMail(to: "late@example.com")
        sleep(3)
        let expired = try instance.followMailLink(to: "late@example.com")
        #expect(expired.status == 400)
        #expect(try instance.login("late@example.com").json?["code"]?.string == "email_not_verified")
    }

    @Test func passwordRulesAnswerDjangosMessagesAndCreateNothing() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        func problems(_ email: String, _ password: String) throws -> [String] {
            try instance.register(email, password: password).json?["password1"]?.array?.compactMap(\.string) ?? []
        }
        #expect(try problems("a@example.com", "password") == ["This password is too common."])
        #expect(try problems("a@example.com", "short$") == ["This password is too short. It must contain at least 8 characters."])
        #expect(try problems("a@example.com", "90817263544536") == ["This password is entirely numeric."])
        #expect(try problems("margaret.hamilton@example.com", "hamiltonmargaret") == ["The password is too similar to the email address."])
        let mismatch = try instance.client.post("/jwt-allauth/registration/",
                                                json: #"{"email":"b@example.com","password1":"Val1dPasw0rd!","password2":"Val1dPasw0rd?"}"#)
        #expect(mismatch.status == 400 && mismatch.json?["non_field_errors"]?.array?.first?.string == "The two password fields didn't match.")
        let missing = try instance.client.post("/jwt-allauth/registration/", json: "{}")
        #expect(missing.json?.keys == ["email", "password1", "password2"])
        #expect(try instance.userCount == 0 && instance.outboxCount == 0)
    }

    @Test func signUpsPerClientAddressAreLimited() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_THROTTLE_REGISTRATION_IP": "3/m"])
        for index in 0..<3 { #expect(try instance.register("limit\(index)@example.com").status == 201) }
        let limited = try instance.register("limit3@example.com")
        #expect(limited.status == 429 && limited.header("Retry-After") != nil)
        #expect(try instance.userCount == 3)
    }

    @Test func confirmationMailsPerAddressAreCapped() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory",
                                                      "JWT_ALLAUTH_THROTTLE_CONFIRMATION_MAIL_ADDRESS": "2/m"])
        for _ in 0..<4 { #expect(try instance.register("flood@example.com").status == 201) }
        _ = try instance.awaitMail(to: "flood@example.com", count: 2)
        usleep(500_000)
        #expect(try instance.queuedMails(to: "flood@example.com") == 2, "nobody can flood a mailbox through sign-up")
    }
}
