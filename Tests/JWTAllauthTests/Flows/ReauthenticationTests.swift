import Foundation
import Testing
@testable import AllauthDomain

/// Adding a way into an account needs a recent reauthentication (issue 18.5), in process:
/// a stolen access token alone can no longer enrol a TOTP and take the recovery codes.
struct ReauthenticationTests {
    static let email = "careful@example.com"

    @Test func aStolenAccessTokenAloneCannotEnrolATOTP() throws {
        let instance = try InProcessInstance.mfa("optional")
        try instance.createUser(Self.email)
        let session = try instance.session(Self.email)

        for endpoint in ["setup/", "activate/"] {
            let body = endpoint == "setup/" ? "{}" : #"{"code":"123456"}"#
            let refused = try instance.mfaPost(endpoint, body, headers: [session.bearer])
            #expect(refused.status == 401 && refused.json?["code"]?.string == "reauthentication_required", "\(endpoint): \(refused.text)")
        }
        #expect(try instance.database().first("SELECT COUNT(*) FROM mfa_setup_secrets") { $0.int(0) } == 0)

        let wrong = try instance.reauthenticate(session, password: "not-the-password")
        #expect(wrong.status == 400 && wrong.json?["password"] != nil, "\(wrong.text)")
        #expect(try instance.mfaPost("setup/", "{}", headers: [session.bearer]).status == 401, "a wrong password marks nothing")
        #expect(try instance.client.post("/jwt-allauth/reauthenticate/", json: #"{"password":"Val1dPasw0rd!"}"#).status == 401, "needs the access token")

        let again = try instance.reauthenticate(session)
        #expect(again.status == 200 && again.json?["expires_at"]?.string != nil, "\(again.text)")
        let (enrolment, _) = try instance.enrol(bearer: session)
        #expect(enrolment.recoveryCodes.count == 10)

        // Another session of the same account is not reauthenticated by this one's proof.
        let other = try instance.session(Self.email, password: InProcessInstance.strongPassword, code: enrolment.secret)
        let otherSetup = try instance.mfaPost("setup/", "{}", headers: [other.bearer])
        #expect(otherSetup.status == 401 && otherSetup.json?["code"]?.string == "reauthentication_required")
    }

    @Test func theMarkExpiresAndDiesWithItsSession() throws {
        let instance = try InProcessInstance.mfa("optional", ["JWT_ALLAUTH_ACCOUNTS_REAUTHENTICATION_TIMEOUT": "2s"])
        try instance.createUser(Self.email)
        let session = try instance.session(Self.email)
        #expect(try instance.reauthenticate(session).status == 200)
        sleep(3)
        #expect(try instance.mfaPost("setup/", "{}", headers: [session.bearer]).json?["code"]?.string == "reauthentication_required")

        #expect(try instance.reauthenticate(session).status == 200)
        #expect(try instance.client.post("/jwt-allauth/logout-all/", json: "{}", headers: [session.bearer]).status == 200)
        let afterLogout = try instance.mfaPost("setup/", "{}", headers: [session.bearer])
        #expect(afterLogout.json?["code"]?.string == "reauthentication_required", "a revoked session keeps no mark: \(afterLogout.text)")
    }

    @Test func anEnrolledAccountReauthenticatesWithItsSecondFactorToo() throws {
        let instance = try InProcessInstance.mfa("optional")
        try instance.createUser(Self.email)
        let (enrolment, _) = try instance.enrol(bearer: try instance.session(Self.email))
        let session = try instance.session(Self.email, password: InProcessInstance.strongPassword, code: enrolment.secret)

        let passwordOnly = try instance.reauthenticate(session)
        #expect(passwordOnly.status == 400 && passwordOnly.json?["code"] != nil, "\(passwordOnly.text)")
        let wrongCode = try instance.reauthenticate(session, code: "000000")
        #expect(wrongCode.status == 400, "\(wrongCode.text)")
        // The login spent the current step; the next one is still within the accepted window.
        let next = IndependentTOTP.code(secret: enrolment.secret, stepsFromNow: 1)
        let withCode = try instance.reauthenticate(session, code: next)
        #expect(withCode.status == 200, "\(withCode.text)")
        let replayed = try instance.reauthenticate(session, code: next)
        #expect(replayed.status == 400, "a TOTP step works once, as at login")
    }


    @Test func connectingASocialProviderNeedsItToo() throws {
        let world = try InProcessSocialWorld()
        try world.instance.createUser(Self.email)
        let session = try world.instance.session(Self.email)
        let token = try world.provider.idToken(user: InProcessSocialWorld.user("u-careful", Self.email))
        let refused = try world.post("example/connect/token/", ["id_token": token], headers: [session.bearer])
        #expect(refused.status == 401 && refused.json?["code"]?.string == "reauthentication_required", "\(refused.text)")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
        #expect(try world.instance.reauthenticate(session).status == 200)
        let connected = try world.post("example/connect/token/", ["id_token": try world.provider.idToken(user: InProcessSocialWorld.user("u-careful", Self.email))],
                                       headers: [session.bearer])
        #expect(connected.status == 201, "\(connected.text)")
    }
}

extension ServiceInstance {
    /// Logs in through the MFA challenge with the TOTP of `secret`.
    func session(_ email: String, password: String, code secret: String) throws -> ClientSession {
        let challenge = try self.challenge(email)
        IndependentTOTP.awaitStepWithRoom()
        let verified = try verify(challenge, code: IndependentTOTP.code(secret: secret))
        return try #require(ClientSession(verified), "\(verified.text)")
    }
}
