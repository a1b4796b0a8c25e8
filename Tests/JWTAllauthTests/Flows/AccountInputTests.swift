import Foundation
import Testing
@testable import AllauthCore

/// Hostile input on every account endpoint, in process: malformed and non-object JSON,
/// wrong types, missing fields, 10 kB addresses, NUL bytes, garbage link tokens. Every answer is a
/// 4xx (JSON for the JSON endpoints), no worker dies, and nothing is left half-written.
struct AccountInputTests {
    static let hostileBodies: [String] = [
        "{", "[1]", "\"text\"", "null", "42", "{\"email\":", "\u{FEFF}{}",
        #"{"email":true,"password1":[],"password2":{},"new_password1":1,"new_password2":null,"old_password":false,"role":"x"}"#,
        #"{"email":"\#(String(repeating: "a", count: 10_000))@example.com","password1":"Val1dPasw0rd!","password2":"Val1dPasw0rd!","role":0}"#,
        #"{"email":"nul\u0000@example.com","password1":"Val1d\u0000Pasw0rd!","password2":"Val1d\u0000Pasw0rd!","role":0,"first_name":"A\u0000"}"#,
        #"{"email":"a@example.com\r\nBcc: victim@example.com","password1":"Val1dPasw0rd!","password2":"Val1dPasw0rd!","role":0}"#,
        #"{"email":"a@example.com","password1":"Val1dPasw0rd!","password2":"Val1dPasw0rd!","role":0,"first_name":"<script>"}"#,
        #"{"email":"no-at-sign","role":-1,"new_password1":"x","new_password2":"y"}"#,
        #"{"email":"not-an-address","role":1e400}"#,
        "{}",
    ]

    @Test func garbageLinkTokensGetTheFailurePagesAndNoCookies() throws {
        let instance = try InProcessInstance.withMail(["JWT_ALLAUTH_ACCOUNTS_INVITATIONS": "true"])
        let user = try instance.createUser("victim@example.com")
        let uid = Base64URL.encode(Array(String(user.id).utf8))
        let garbage = ["x", String(repeating: "A", count: 4000), "%00", "..%2F..%2Fetc", "%F0%28%8C%28", "a%20b"]
        for token in garbage {
            let verification = try instance.client.get("/jwt-allauth/registration/verification/\(token)/")
            #expect([400, 404].contains(verification.status), "verification \(token.prefix(20)): \(verification.status)")
            #expect(verification.headers("Set-Cookie").isEmpty)
            for path in ["password/reset/confirm/\(uid)/\(token)/", "password/reset/confirm/\(token)/\(token)/"] {
                let reset = try instance.client.get("/jwt-allauth/\(path)")
                #expect([200, 400, 404].contains(reset.status), "\(path.prefix(40)): \(reset.status)")
                #expect(reset.cookie("password_reset_access_token") == nil)
            }
        }
        // The confirmation page's button posts here; a POST without the page's CSRF value does nothing.
        let forged = try instance.client.request("POST", "/jwt-allauth/registration/verification/abc/")
        #expect(forged.status == 403 && forged.json?["code"]?.string == "csrf_failed", "\(forged.text)")
        #expect(try instance.client.request("PUT", "/jwt-allauth/registration/verification/abc/").status == 405)
        #expect(try instance.client.get("/jwt-allauth/password/reset/").status == 405)
    }

    @Test func aStaleBearerHeaderDoesNotStopAnonymousAccountEndpoints() throws {
        let instance = try InProcessInstance.withMail()
        let stale = ("Authorization", "Bearer not.a.token")
        #expect(try instance.client.post("/jwt-allauth/registration/",
                                         json: #"{"email":"fresh@example.com","password1":"Val1dPasw0rd!","password2":"Val1dPasw0rd!"}"#,
                                         headers: [stale]).status == 201)
        #expect(try instance.client.post("/jwt-allauth/password/reset/", json: #"{"email":"fresh@example.com"}"#, headers: [stale]).status == 200)
    }
}
