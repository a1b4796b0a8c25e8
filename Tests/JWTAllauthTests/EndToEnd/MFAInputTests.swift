import Foundation
import Testing
@testable import AllauthCore

/// Hostile and careless input to the `mfa/` endpoints: always a 4xx JSON answer, never a 5xx,
/// and nothing spent by a request that was refused for its shape.
@Suite(.serialized)
struct MFAInputTests {
    @Test func malformedCodesAndChallengesAnswer4xxJSON() throws {
        let instance = try TestInstance.mfa("optional")
        try instance.createUser("person1@world.com")
        let session = try instance.session("person1@world.com")
        let (enrolment, _) = try instance.enrol(bearer: session)
        let challenge = try instance.challenge("person1@world.com")

        let bodies: [(String, String, String?)] = [
            ("verify/", "[]", "non_field_errors"),
            ("verify/", "{", nil),
            ("verify/", "{}", "challenge_id"),
            ("verify/", #"{"challenge_id":"\#(challenge)"}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":"12345"}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":"1234567"}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":"12a456"}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":"١٢٣٤٥٦"}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":"１２３４５６"}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":"12\u0000456"}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":true}"#, "code"),
            ("verify/", #"{"challenge_id":"\#(challenge)","code":[1,2,3,4,5,6]}"#, "code"),
            ("verify/", #"{"challenge_id":{"a":1},"code":"123456"}"#, "challenge_id"),
            ("verify/", #"{"challenge_id":"\#(String(repeating: "a", count: 5000))","code":"123456"}"#, "challenge_id"),
            ("verify/", #"{"challenge_id":"nope\u0000","code":"123456"}"#, nil),
            ("verify-recovery/", #"{"challenge_id":"\#(challenge)","recovery_code":""}"#, "recovery_code"),
            ("verify-recovery/", #"{"challenge_id":"\#(challenge)","recovery_code":null}"#, "recovery_code"),
            ("verify-recovery/", #"{"challenge_id":"\#(challenge)","recovery_code":"\#(String(repeating: "9", count: 500))"}"#, "recovery_code"),
            ("activate/", #"{"code":"12345"}"#, "code"),
            ("activate/", #"{"code":"١٢٣٤٥٦"}"#, "code"),
            ("activate/", #"{"code":123456.5}"#, "code"),
            ("deactivate/", "{}", "password"),
            ("deactivate/", #"{"password":7}"#, nil),
        ]
        for (endpoint, body, field) in bodies {
            let response = try instance.mfaPost(endpoint, body, headers: [session.bearer])
            #expect((400..<500).contains(response.status), "\(endpoint) \(body.prefix(80)): \(response.status) \(response.text)")
            #expect(response.header("Content-Type") == "application/json" && response.json != nil, "\(endpoint) \(body.prefix(80))")
            if let field { #expect(response.json?[field] != nil || response.json?["detail"] != nil, "\(endpoint) \(body.prefix(80)): \(response.text)") }
        }
        let plain = try instance.client.request("POST", "/jwt-allauth/mfa/verify/", headers: [("Content-Type", "text/plain")],
                                                body: Array(#"{"challenge_id":"x","code":"123456"}"#.utf8))
        #expect(plain.status == 415, "JSON only as application/json")
        let garbageBearer = try instance.mfaPost("setup/", "{}", headers: [("Authorization", "Bearer not.a.token")])
        #expect(garbageBearer.status == 401)
        let wrongMethod = try instance.client.get("/jwt-allauth/mfa/verify/")
        #expect(wrongMethod.status == 405)

        // None of that spent the challenge or counted as a failure: the right code still works.
        #expect(try instance.database().first("SELECT COUNT(*) FROM mfa_failures") { $0.int(0) } == 0)
        #expect(try instance.database().first("SELECT SUM(failures) FROM mfa_challenges") { $0.int(0) } == 0)
        let verified = try instance.verify(challenge, code: IndependentTOTP.code(secret: enrolment.secret))
        #expect(ClientSession(verified) != nil, "\(verified.text)")
        #expect(instance.workerPIDs.count == instance.expectedWorkers, "no worker died")
    }
}
