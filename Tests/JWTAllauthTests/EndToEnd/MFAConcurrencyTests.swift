import Foundation
import Testing
@testable import AllauthCore

/// One TOTP code sent to eight challenges at once across three workers: one succeeds.
@Suite(.serialized)
struct MFAConcurrencyTests {
    static let email = MFAFlowTests.email

    @Test func sameCodeSentAtOnceToSeveralWorkersIsAcceptedOnce() throws {
        let instance = try TestInstance.mfa("optional", ["JWT_ALLAUTH_SERVER_WORKERS": "3"])
        try instance.createUser(Self.email)
        let (enrolment, _) = try instance.enrol(bearer: try instance.session(Self.email))
        let challenges = try (0..<8).map { _ in try instance.challenge(Self.email) }
        let code = IndependentTOTP.code(secret: enrolment.secret, stepsFromNow: 1)
        let client = instance.client
        let statuses = simultaneously(challenges.count) { index in
            (try? client.post("/jwt-allauth/mfa/verify/", json: #"{"challenge_id":"\#(challenges[index])","code":"\#(code)"}"#))?.status ?? -1
        }
        #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 400 }.count == challenges.count - 1, "\(statuses)")
        // And one at a time: a code accepted by one worker is refused by whichever answers next.
        let again = try instance.verify(try instance.challenge(Self.email), code: code)
        #expect(again.status == 400 && again.json?["detail"]?.string == "Invalid code.")
    }
}
