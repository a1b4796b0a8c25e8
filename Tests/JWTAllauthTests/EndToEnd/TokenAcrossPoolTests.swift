import Foundation
import Testing
@testable import AllauthCore

/// What a token and a failed login mean to nginx and the whole pool: auth_request in front of another
/// upstream, and the per-account login limit held across the workers.
@Suite(.serialized)
struct TokenAcrossPoolTests {
    /// verify/'s own answer is `TokenSecurityTests.verifyAnswersTheIdentityAuthRequestPasses`; here
    /// nginx's auth_request turns it into the protected upstream's answer.
    @Test func authRequestProtectsAnotherUpstreamAndPassesClaims() throws {
        let instance = try TestInstance()
        let user = try instance.createUser("staff@example.com", role: 1000)
        let session = try instance.session("staff@example.com")
        let allowed = try instance.client.get("/protected/page", headers: [session.bearer])
        #expect(allowed.status == 200)
        #expect(allowed.text == "user=\(user.id) role=1000\n")
        #expect(try instance.client.get("/protected/page").status == 401)
    }

    /// Every forged access token `TokenSecurityTests` refuses at user/ and verify/ is refused by
    /// nginx's auth_request too.
    @Test func forgedAccessTokensAreRefusedByAuthRequest() throws {
        let instance = try TestInstance()
        let user = try instance.createUser("victim@example.com")
        let good = try instance.session("victim@example.com")
        #expect(try instance.client.get("/protected/page", headers: [good.bearer]).status == 200)
        for (name, token) in try TokenSecurityTests.forgeries(instance, userID: user.id, session: good) {
            let protected = try instance.client.get("/protected/page", headers: [("Authorization", "Bearer \(token)")])
            #expect(protected.status == 401, "auth_request \(name)")
        }
    }

    @Test func withTheSessionCheckAuthRequestRefusesARevokedSessionsAccessToken() throws {
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_TOKENS_ACCESS_TOKEN_SESSION_CHECK": "true"])
        try instance.createUser("checked@example.com")
        let session = try instance.session("checked@example.com")
        #expect(try instance.client.get("/protected/x", headers: [session.bearer]).status == 200)
        #expect(try instance.client.post("/jwt-allauth/logout/", headers: [session.bearer, session.cookie]).status == 200)
        #expect(try instance.client.get("/protected/x", headers: [session.bearer]).status == 401)
    }

    @Test func failedLoginsAreThrottledPerAccountAcrossWorkers() throws {
        let instance = try TestInstance()
        try instance.createUser("target@example.com")
        for attempt in 1...5 {
            #expect(try instance.login("target@example.com", password: "wrong-\(attempt)").status == 401)
        }
        let limited = try instance.login("target@example.com")
        #expect(limited.status == 429, "the correct password does not get past the limit")
        #expect(Int(limited.header("Retry-After") ?? "") ?? 0 > 0)
        #expect(limited.json?["code"]?.string == "throttled")
        // Successful logins give their unit back: another account from the same address still works.
        try instance.createUser("fine@example.com")
        for _ in 0..<6 { #expect(try instance.login("fine@example.com").status == 200) }
    }
}
