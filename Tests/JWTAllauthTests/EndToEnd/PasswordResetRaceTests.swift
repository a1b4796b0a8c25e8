import Foundation
import Testing
@testable import AllauthCore

/// One reset capability used by eight clients at once, through real nginx and the worker pool:
/// the password is set exactly once.
@Suite(.serialized)
struct PasswordResetRaceTests {
    static let cookie = PasswordResetTests.cookie

    func requestReset(_ instance: TestInstance, _ email: String) throws -> HTTPResponse {
        try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"\#(email)"}"#)
    }

    @Test func eightSimultaneousUsesOfOneCapabilitySetThePasswordExactlyOnce() throws {
        let instance = try TestInstance.withMail()
        let user = try instance.createUser("race@example.com")
        _ = try requestReset(instance, "race@example.com")
        let cookies = try instance.capabilityCookies(try instance.followMailLink(to: "race@example.com"), name: Self.cookie)
        let client = instance.client
        let statuses = simultaneously(8) { index in
            (try? client.post("/jwt-allauth/password/reset/set-new/",
                              json: #"{"new_password1":"Racer-Passw0rd-\#(index)","new_password2":"Racer-Passw0rd-\#(index)"}"#,
                              headers: cookies.headers(cookieName: Self.cookie, csrfHeader: cookies.csrf)))?.status ?? -1
        }
        #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 401 }.count == 7, "\(statuses)")
        #expect(try instance.whitelistRows(userID: user.id) == 1, "one session handed out")
        let winner = try #require(statuses.firstIndex(of: 200))
        #expect(try instance.login("race@example.com", password: "Racer-Passw0rd-\(winner)").status == 200)
    }
}
