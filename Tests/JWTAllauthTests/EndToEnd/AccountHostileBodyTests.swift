import Foundation
import Testing
@testable import AllauthCore

/// Hostile bodies on every account endpoint through real nginx and the pool: every answer is a 4xx
/// JSON error, nothing is left half-written and no worker dies.
@Suite(.serialized)
struct AccountHostileBodyTests {
    static let hostileBodies = AccountInputTests.hostileBodies

    @Test func everyAccountEndpointAnswersHostileBodiesWithA4xxJSONErrorAndWritesNothing() throws {
        let instance = try TestInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_INVITATIONS": "true",
                                                      "JWT_ALLAUTH_THROTTLE_SCALE": "1000"])
        try instance.createUser("staff@example.com", role: 1000)
        let staff = try instance.session("staff@example.com")
        let usersBefore = try instance.userCount
        let workersBefore = instance.workerPIDs
        let endpoints: [(path: String, headers: [(String, String)])] = [
            ("registration/", []),
            ("registration/user-register/", [staff.bearer]),
            ("password/reset/", []),
            ("password/change/", [staff.bearer]),
            ("password/reset/set-new/", [("Cookie", "password_reset_access_token=garbage; csrftoken=abc"), ("X-CSRFToken", "abc")]),
            ("registration/set-password/", [("Cookie", "set_password_access_token=garbage; csrftoken=abc"), ("X-CSRFToken", "abc")]),
        ]
        for endpoint in endpoints {
            for body in Self.hostileBodies {
                let response = try instance.client.post("/jwt-allauth/\(endpoint.path)", json: body, headers: endpoint.headers)
                let what = "\(endpoint.path) with \(body.prefix(60))"
                // A reset request for a well-formed (unknown) address is valid input: 200, and no mail.
                let wellFormedReset = endpoint.path == "password/reset/" && body.contains(#""email":"a@example.com""#)
                let expected = wellFormedReset ? 200..<201 : 400..<500
                #expect(expected.contains(response.status), "\(what): \(response.status) \(response.text.prefix(200))")
                #expect(response.header("Content-Type") == "application/json", "\(what)")
                #expect(response.json != nil, "\(what): a JSON body")
            }
        }
        #expect(try instance.userCount == usersBefore, "no partial account")
        #expect(try instance.outboxCount == 0, "no mail")
        #expect(instance.workerPIDs == workersBefore, "no worker died")
        #expect(try instance.refresh(cookie: staff.refresh).status == 200, "the service still works")
    }
}
