import Foundation
import Testing
@testable import AllauthDomain

/// TOTP MFA in process and the worker pool, with codes computed by `IndependentTOTP`.
struct MFAFlowTests {
    static let email = "person1@world.com"

    @Test func disabledModeAnswers403OnEveryMFAEndpointAndLoginIsUnchanged() throws {
        let instance = try InProcessInstance.mfa("disabled")
        let user = try instance.createUser(Self.email)
        // Enrolled while MFA was on, then the operator turned it off: the password alone signs in.
        try instance.database().run("INSERT INTO mfa_authenticators (user_id, type, secret, created_at) VALUES (?, 'totp', ?, 0)",
                                    [.integer(user.id), .blob([0])])
        let session = try instance.session(Self.email)
        for (endpoint, body) in [("setup/", "{}"), ("activate/", #"{"code":"123456"}"#), ("verify/", #"{"challenge_id":"x","code":"123456"}"#),
                                 ("verify-recovery/", #"{"challenge_id":"x","recovery_code":"1"}"#), ("deactivate/", #"{"password":"x"}"#)] {
            let response = try instance.mfaPost(endpoint, body, headers: [session.bearer])
            #expect(response.status == 403 && response.json?["detail"]?.string == "MFA TOTP is disabled.", "\(endpoint): \(response.text)")
        }
        #expect(try instance.client.get("/jwt-allauth/mfa/authenticators/", headers: [session.bearer]).status == 403)

        // Another mode needs the TOTP key: `check` (and `serve`) name the key when it is missing.
        #expect(try instance.command(["check"], extraEnvironment: ["JWT_ALLAUTH_MFA_MODE": "optional"]).status == 0)
        let missing = try instance.command(["check"], extraEnvironment: ["JWT_ALLAUTH_MFA_MODE": "optional",
                                                                         "JWT_ALLAUTH_MFA_SECRET_KEY": "/nonexistent/mfa.key"])
        #expect(missing.status != 0 && missing.output.contains("mfa.secret_key"), "\(missing.output)")
    }

    @Test func optionalModeEnrolLogoutLoginChallengeVerifyAndRecoveryCodeWorksOnce() throws {
        let instance = try InProcessInstance.mfa("optional")
        try instance.createUser(Self.email)
        let first = try instance.session(Self.email)
        #expect(try instance.client.get("/jwt-allauth/mfa/authenticators/", headers: [first.bearer]).text == "[]")
        #expect(try instance.mfaPost("setup/", "{}").status == 401, "setup needs a Bearer token or a setup challenge")
        let unconfirmed = try instance.mfaPost("setup/", "{}", headers: [first.bearer])
        #expect(unconfirmed.status == 401 && unconfirmed.json?["code"]?.string == "reauthentication_required", "\(unconfirmed.text)")
        #expect(try instance.reauthenticate(first).status == 200)

        let setup = try instance.mfaPost("setup/", "{}", headers: [first.bearer])
        let secret = try #require(setup.json?["secret"]?.string)
        let uri = try #require(setup.json?["provisioning_uri"]?.string)
        #expect(IndependentTOTP.decodeBase32(secret).count == 20)
        #expect(uri == "otpauth://totp/JWT-Allauth:person1%40world.com?secret=\(secret)&issuer=JWT-Allauth")
        let svg = try #require(setup.json?["qr_code"]?.string)
        #expect(svg.contains("<svg"))
        #expect(try decodeQRCode(svg: svg) == uri, "the QR code carries the provisioning URI")
        #expect(try instance.mfaPost("activate/", #"{"code":"000000"}"#, headers: [first.bearer]).json?["detail"]?.string == "Invalid code.")
        IndependentTOTP.awaitStepWithRoom()
        let activationCode = IndependentTOTP.code(secret: secret, stepsFromNow: -1)
        let activated = try instance.mfaPost("activate/", #"{"code":"\#(activationCode)"}"#, headers: [first.bearer])
        #expect(activated.status == 200 && activated.json?["success"]?.bool == true && activated.json?["access"] == nil)
        let recovery = try #require(activated.json?["recovery_codes"]?.array).compactMap(\.string)
        #expect(recovery.count == 10 && recovery.allSatisfy { $0.count == 8 && $0.allSatisfy(\.isASCII) && Int($0) != nil })
        #expect(try instance.mfaPost("setup/", "{}", headers: [first.bearer]).json?["detail"]?.string == "TOTP already activated.")

        // At rest: the secret is sealed, recovery codes are keyed digests.
        let stored = try instance.database().first("SELECT secret FROM mfa_authenticators WHERE type = 'totp'") { $0.blob(0) }
        #expect(stored != nil && stored != IndependentTOTP.decodeBase32(secret))
        var digests = ""
        try instance.database().query("SELECT code_digest FROM mfa_recovery_codes") { digests += $0.string(0) + "," }
        #expect(!recovery.contains { digests.contains($0) })

        let listed = try instance.client.get("/jwt-allauth/mfa/authenticators/", headers: [first.bearer])
        #expect(listed.json?.array?.compactMap { $0["type"]?.string } == ["totp", "recovery_codes"])
        #expect(!listed.text.contains(secret) && !listed.text.contains("secret"))

        #expect(try instance.client.post("/jwt-allauth/logout/", headers: [first.bearer, first.cookie]).status == 200)
        let challenge = try instance.challenge(Self.email)
        #expect(try instance.verify(challenge, code: activationCode).json?["detail"]?.string == "Invalid code.",
                "the activation code was used once already")
        let verified = try instance.verify(challenge, code: IndependentTOTP.code(secret: secret))
        let session = try #require(ClientSession(verified), "verify answers as login/ does: \(verified.text)")
        #expect(verified.setCookieHeader("refresh_token")?.contains("HttpOnly") == true)
        #expect(try instance.refresh(cookie: session.refresh).status == 200)
        #expect(try instance.verify(challenge, code: IndependentTOTP.code(secret: secret, stepsFromNow: 1)).json?["detail"]?.string
                == "Challenge expired or invalid.", "a used challenge is refused")
        let lastUsed = try instance.client.get("/jwt-allauth/mfa/authenticators/", headers: [session.bearer]).json?[0]?["last_used_at"]?.string
        #expect(lastUsed?.hasSuffix("Z") == true)

        let viaRecovery = try instance.verifyRecovery(try instance.challenge(Self.email), code: recovery[3])
        #expect(ClientSession(viaRecovery) != nil, "\(viaRecovery.text)")
        let reused = try instance.verifyRecovery(try instance.challenge(Self.email), code: recovery[3])
        #expect(reused.status == 400 && reused.json?["detail"]?.string == "Invalid recovery code.")

        // Deactivation needs the password; afterwards login is one step again.
        #expect(try instance.mfaPost("deactivate/", #"{"password":"wrong"}"#, headers: [session.bearer]).json?["detail"]?.string == "Invalid password.")
        #expect(try instance.mfaPost("deactivate/", #"{"password":"Val1dPasw0rd!"}"#, headers: [session.bearer]).json?["success"]?.bool == true)
        #expect(ClientSession(try instance.login(Self.email)) != nil)
        #expect(try instance.mfaPost("deactivate/", #"{"password":"Val1dPasw0rd!"}"#, headers: [session.bearer]).json?["detail"]?.string
                == "TOTP not activated.")
    }

    @Test func budgetsInvalidateTheChallengeThenLockTheUserOutWith429AndRetryAfter() throws {
        let instance = try InProcessInstance.mfa("optional", ["JWT_ALLAUTH_MFA_CHALLENGE_MAX_ATTEMPTS": "2", "JWT_ALLAUTH_MFA_MAX_ATTEMPTS": "3",
                                                         "JWT_ALLAUTH_MFA_LOCKOUT": "10m"])
        try instance.createUser(Self.email)
        let (enrolment, _) = try instance.enrol(bearer: try instance.session(Self.email))
        let wrong = IndependentTOTP.code(secret: enrolment.secret, stepsFromNow: 5)

        let first = try instance.challenge(Self.email)
        #expect(try instance.verify(first, code: wrong).json?["detail"]?.string == "Invalid code.")
        #expect(try instance.verifyRecovery(first, code: "12345678").json?["detail"]?.string == "Too many failed attempts. Challenge invalidated.",
                "recovery-code failures count against the same budgets")
        #expect(try instance.verify(first, code: wrong).json?["detail"]?.string == "Challenge expired or invalid.")

        let second = try instance.challenge(Self.email)
        let third = try instance.challenge(Self.email)
        let locked = try instance.verify(second, code: wrong)
        #expect(locked.status == 429 && locked.json?["detail"]?.string == "Too many failed MFA attempts. Try again later.")
        let retryAfter = try #require(locked.header("Retry-After").flatMap(Int.init))
        #expect((590...600).contains(retryAfter))
        #expect(try instance.verify(third, code: IndependentTOTP.code(secret: enrolment.secret)).status == 400,
                "the lockout dropped every outstanding challenge, a right code included")
        let login = try instance.login(Self.email)
        #expect(login.status == 429 && login.json?["challenge_id"] == nil && login.header("Retry-After").flatMap(Int.init) != nil)
        #expect(login.json?["detail"]?.string?.hasPrefix("Too many failed MFA attempts. Try again later. Expected available in ") == true)

        // Each wrong factor is a security event that the shipped fail2ban filter bans on; the
        // lockouts are throttled lines. No line carries a code.
        let logPath = instance.directory.appendingPathComponent("log/security.log").path
        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let events = lines.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
        #expect(Array(events.prefix(2)) == ["jwt-allauth event=mfa_failed client=127.0.0.1 factor=totp",
                                            "jwt-allauth event=mfa_failed client=127.0.0.1 factor=recovery_code"], "\(events)")
        #expect(events.contains("jwt-allauth event=throttled client=127.0.0.1 route=mfa/verify/"), "\(events)")
        #expect(events.contains("jwt-allauth event=throttled client=127.0.0.1 route=login/"), "\(events)")
        #expect(!lines.contains { $0.contains(wrong) || $0.contains("12345678") })
        let filter = SecurityEventTests.repository.appendingPathComponent("config/fail2ban/filter.d/jwt-allauth.conf").path
        let output = try SecurityEventTests.run("/usr/bin/fail2ban-regex", [logPath, filter])
        #expect(output.contains("Lines: \(lines.count) lines, 0 ignored, \(lines.count) matched, 0 missed"), "\(output)")

        // The operator removes the authenticator (a lost phone): sessions go, login is one step again.
        let removed = try instance.command(["mfa-remove", "--email", Self.email])
        #expect(removed.status == 0, "\(removed.output)")
        #expect(try instance.whitelistRows(userID: 1) == 0)
        #expect(ClientSession(try instance.login(Self.email)) != nil)
    }

    @Test func expiredAndGuessedChallengesAreRefusedAndAnotherUsersSetupChallengeIsNotAccepted() throws {
        let instance = try InProcessInstance.mfa("optional", ["JWT_ALLAUTH_THROTTLE_MFA_VERIFY_IP": "3/m"])
        try instance.createUser(Self.email)
        try instance.createUser("other@world.com")
        let (enrolment, _) = try instance.enrol(bearer: try instance.session(Self.email))
        let challenge = try instance.challenge(Self.email)
        // Age the challenge past its lifetime, as five minutes of waiting would.
        try instance.database().run("UPDATE mfa_challenges SET expires = expires - 301")
        let expired = try instance.verify(challenge, code: IndependentTOTP.code(secret: enrolment.secret))
        #expect(expired.status == 400 && expired.json?["detail"]?.string == "Challenge expired or invalid.")
        #expect(try instance.verify(String(repeating: "0", count: 32), code: "123456").status == 400)
        #expect(try instance.verify(String(repeating: "1", count: 32), code: "123456").status == 400)
        let guessing = try instance.verify(String(repeating: "2", count: 32), code: "123456")
        #expect(guessing.status == 429 && guessing.header("Retry-After") != nil, "the fourth failure from one address in a minute")
        let purged = try instance.command(["purge-tokens"])
        #expect(purged.output.contains("expired MFA challenges, setup secrets and old MFA failures: 1 deleted"), "\(purged.output)")
        // A Bearer user cannot spend someone else's (or a made-up) setup challenge.
        let other = try instance.session("other@world.com")
        let foreign = try instance.mfaPost("setup/", #"{"setup_challenge_id":"\#(challenge)"}"#, headers: [other.bearer])
        #expect(foreign.status == 400 && foreign.json?["detail"]?.string == "Challenge expired or invalid.")
    }

    @Test func passwordResetOnAnEnrolledAccountEndsAtTheChallenge() throws {
        let instance = try InProcessInstance.mfa("optional", mail: true)
        try instance.createUser(Self.email)
        let (enrolment, _) = try instance.enrol(bearer: try instance.session(Self.email))
        #expect(try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"\#(Self.email)"}"#).status == 200)
        let cookies = try instance.capabilityCookies(try instance.followMailLink(to: Self.email), name: "password_reset_access_token")
        let set = try instance.setPassword("password/reset/set-new/", cookies, cookieName: "password_reset_access_token", password: "N3w-Passw0rd-42")
        #expect(set.status == 200 && set.json?["mfa_required"]?.bool == true && set.json?["access"] == nil, "\(set.text)")
        #expect(set.cookie("refresh_token") == nil, "mail control alone is not full access")
        let challenge = try #require(set.json?["challenge_id"]?.string)
        #expect(ClientSession(try instance.verify(challenge, code: IndependentTOTP.code(secret: enrolment.secret))) != nil)
    }

    @Test func requiredModeBootstrapsLoginSignUpAndInvitationThroughEnrolment() throws {
        let instance = try InProcessInstance.mfa("required", mail: true, ["JWT_ALLAUTH_ACCOUNTS_INVITATIONS": "true"])
        // Login of an account without TOTP: a setup challenge, no session.
        try instance.createUser(Self.email)
        let login = try instance.login(Self.email)
        #expect(login.status == 200 && login.json?["mfa_setup_required"]?.bool == true && login.json?["access"] == nil)
        #expect(login.cookie("refresh_token") == nil)
        let setupChallenge = try #require(login.json?["setup_challenge_id"]?.string)
        #expect(try instance.verify(setupChallenge, code: "123456").status == 400, "a setup challenge is no login challenge")
        let (enrolment, activated) = try instance.enrol(setupChallenge: setupChallenge)
        let session = try #require(ClientSession(activated), "the bootstrap activation opens the session: \(activated.text)")
        #expect(try instance.mfaPost("deactivate/", #"{"password":"Val1dPasw0rd!"}"#, headers: [session.bearer]).status == 403)
        let verified = try instance.verify(try instance.challenge(Self.email), code: IndependentTOTP.code(secret: enrolment.secret))
        #expect(ClientSession(verified) != nil)
        #expect(try instance.mfaPost("setup/", #"{"setup_challenge_id":"\#(setupChallenge)"}"#).status == 401, "the setup challenge is spent")

        // Sign-up (mandatory verification): the reference's shape, but no second factor before the
        // address is confirmed; the first login after the link owes the enrolment.
        let signUp = try instance.register("newcomer@world.com")
        #expect(signUp.status == 201 && signUp.json?["mfa_setup_required"]?.bool == true && signUp.json?["access"] == nil, "\(signUp.text)")
        let early = try instance.mfaPost("setup/", #"{"setup_challenge_id":"\#(try #require(signUp.json?["setup_challenge_id"]?.string))"}"#)
        #expect(early.status == 401, "nothing to enrol before the link: \(early.text)")
        #expect(try instance.followMailLink(to: "newcomer@world.com").status == 302)
        let firstLogin = try instance.login("newcomer@world.com")
        let (newcomer, signUpActivation) = try instance.enrol(setupChallenge: try #require(firstLogin.json?["setup_challenge_id"]?.string))
        #expect(ClientSession(signUpActivation) != nil, "\(signUpActivation.text)")
        #expect(ClientSession(try instance.verify(try instance.challenge("newcomer@world.com"), code: IndependentTOTP.code(secret: newcomer.secret))) != nil)

        // Signing up with a taken address answers the same shape (no enumeration); its id leads nowhere.
        let taken = try instance.register(Self.email)
        #expect(taken.status == 201 && taken.json?["mfa_setup_required"]?.bool == true, "\(taken.text)")
        #expect(taken.json?["detail"]?.string == signUp.json?["detail"]?.string)
        let nowhere = try #require(taken.json?["setup_challenge_id"]?.string)
        let nowhereSetup = try instance.mfaPost("setup/", #"{"setup_challenge_id":"\#(nowhere)"}"#)
        #expect(nowhere.count == 32 && nowhereSetup.status == 401)
        #expect(nowhereSetup.body == early.body, "a taken address's id and a new sign-up's answer alike")

        // Invitation: set-password ends at the setup challenge; activation opens the session.
        #expect(try instance.command(["invite", "--email", "invitee@world.com"]).status == 0)
        let cookies = try instance.capabilityCookies(try instance.followMailLink(to: "invitee@world.com"), name: "set_password_access_token")
        let set = try instance.setPassword("registration/set-password/", cookies, cookieName: "set_password_access_token", password: "Inv1ted-Passw0rd")
        #expect(set.status == 200 && set.json?["access"] == nil && set.cookie("refresh_token") == nil, "\(set.text)")
        #expect(set.json?["detail"]?.string == "Password set. Please configure MFA to complete registration.")
        let (_, invitedActivation) = try instance.enrol(setupChallenge: try #require(set.json?["setup_challenge_id"]?.string))
        #expect(ClientSession(invitedActivation) != nil, "\(invitedActivation.text)")
    }
}
