import Foundation
import Testing
@testable import AllauthDomain

/// `verify.cache`: nginx reuses verify/'s 200 for the same token for a few seconds, through the
/// real auth_request location of `dev`'s nginx (`/protected/`, whose application echoes the
/// identity nginx passed to it). The session check is on in these tests, so that a revocation is
/// visible to verify/ at once and only the cache can make a revoked token pass.
struct VerifyCacheTests {
    static func cachedInstance(seconds: Int, environment: [String: String] = [:]) throws -> TestInstance {
        try TestInstance(environment: [
            "JWT_ALLAUTH_VERIFY_CACHE": "\(seconds)s",
            "JWT_ALLAUTH_TOKENS_ACCESS_TOKEN_SESSION_CHECK": "true",
            "JWT_ALLAUTH_VERIFY_CACHE_ACCEPTS_REVOCATION_LAG": "true",
        ].merging(environment) { $1 })
    }

    /// When the protected location first refused `bearer` (polled every 50 ms), or nil if it still
    /// passed at `deadline`.
    static func firstRefusal(_ instance: TestInstance, _ bearer: (String, String), before deadline: Date) throws -> Date? {
        while Date() < deadline {
            if try instance.client.get("/protected/page", headers: [bearer]).status == 401 { return Date() }
            usleep(50_000)
        }
        return nil
    }

    @Test func anEntryNeverOutlivesItsToken() throws {
        // A 30 s cache in front of 3 s tokens: verify/ tells nginx to keep each 200 only until the token expires.
        let instance = try Self.cachedInstance(seconds: 30, environment: ["JWT_ALLAUTH_TOKENS_ACCESS_LIFETIME": "3s"])
        try instance.createUser("short@example.com")
        let session = try instance.session("short@example.com")
        let exp = try #require(try JWTParts(session.access).claims["exp"]?.int)
        #expect(try instance.client.get("/protected/page", headers: [session.bearer]).status == 200)
        let expiry = Date(timeIntervalSince1970: Double(exp))
        let refused = try #require(try Self.firstRefusal(instance, session.bearer, before: expiry.addingTimeInterval(5)),
                                   "the expired token still passed 5 s after its exp, from the cache")
        #expect(refused.timeIntervalSince(expiry) < 1.2, "refused \(refused.timeIntervalSince(expiry)) s after exp")
        // A fresh token of the same session is cached again (and passes).
        let fresh = try #require(ClientSession(try instance.refresh(cookie: session.refresh)))
        #expect(try instance.client.get("/protected/page", headers: [fresh.bearer]).status == 200)
    }

    @Test func aRevokedSessionsTokenPassesFromTheCacheForAtMostTheCacheTimeThenFails() throws {
        let cacheSeconds = 2.0
        let instance = try Self.cachedInstance(seconds: Int(cacheSeconds))
        try instance.createUser("cached@example.com")
        let session = try instance.session("cached@example.com")
        let cachedAt = Date()
        #expect(try instance.client.get("/protected/page", headers: [session.bearer]).status == 200)
        let logout = try instance.client.post("/jwt-allauth/logout/", headers: [session.bearer, session.cookie])
        #expect(logout.status == 200)
        // The service itself refuses the token at once; only nginx's copy still lets it through.
        #expect(try instance.client.get("/jwt-allauth/verify/", headers: [session.bearer]).status == 401)
        #expect(try instance.client.get("/protected/page", headers: [session.bearer]).status == 200, "served from the cache")

        let refused = try Self.firstRefusal(instance, session.bearer, before: cachedAt.addingTimeInterval(cacheSeconds + 3))
        let elapsed = try #require(refused?.timeIntervalSince(cachedAt), "the revoked token still passed \(cacheSeconds + 3) s after it was cached")
        // nginx's clock and cache times are whole seconds: an entry lives up to one second longer.
        #expect(elapsed <= cacheSeconds + 1.3, "passed for \(elapsed) s with a \(cacheSeconds) s cache")
        for _ in 0..<3 {
            #expect(try instance.client.get("/protected/page", headers: [session.bearer]).status == 401)
        }
    }

    @Test func aRefusalIsNeverCached() throws {
        let instance = try Self.cachedInstance(seconds: 30)
        let user = try instance.createUser("later@example.com")
        // A well-signed token of a session that has no whitelist row yet: 401 from the session check.
        let now = Int64(Date().timeIntervalSince1970)
        let sessionID = TokenService.newIdentifier()
        let claims = TokenClaims(tokenType: .access, exp: now + 600, iat: now, jti: TokenService.newIdentifier(),
                                 userID: String(user.id), session: sessionID, sessionIat: now, role: 0, emailVerified: true, custom: [])
        let bearer = ("Authorization", "Bearer \(try instance.tokenService().mint(claims))")
        #expect(try instance.client.get("/protected/page", headers: [bearer]).status == 401)
        try Whitelist(instance.database()).insert(
            WhitelistEntry(jti: TokenService.newIdentifier(), session: sessionID, userID: user.id, enabled: true,
                           created: now, expires: now + 600, sessionIat: now), device: .none)
        // Had nginx kept the 401, this would stay 401 for the 30 s of the cache.
        #expect(try instance.client.get("/protected/page", headers: [bearer]).status == 200)
        #expect(try instance.client.get("/protected/page").status == 401, "no token")
        #expect(try instance.client.get("/protected/page").status == 401, "still no token, after a cached 200")
    }

    @Test func differentTokensNeverShareAnEntry() throws {
        let instance = try Self.cachedInstance(seconds: 30)
        let alice = try instance.createUser("alice@example.com")
        let bob = try instance.createUser("bob@example.com", role: 1)
        let aliceSession = try instance.session("alice@example.com")
        let bobSession = try instance.session("bob@example.com")
        for _ in 0..<2 {  // the second round is answered from the cache
            let asAlice = try instance.client.get("/protected/page", headers: [aliceSession.bearer])
            #expect(asAlice.text == "user=\(alice.id) role=0\n")
            let asBob = try instance.client.get("/protected/page", headers: [bobSession.bearer])
            #expect(asBob.text == "user=\(bob.id) role=1\n")
        }
        var parts = aliceSession.access.split(separator: ".").map(String.init)
        parts[2] = String(parts[2].reversed())
        let forged = try instance.client.get("/protected/page", headers: [("Authorization", "Bearer \(parts.joined(separator: "."))")])
        #expect(forged.status == 401, "a tampered copy of a cached token")
        let otherScheme = try instance.client.get("/protected/page", headers: [("Authorization", "Token \(aliceSession.access)")])
        #expect(otherScheme.status == 401, "the same token under another scheme")
    }

    @Test func theServiceDoesNotStartWithTheCacheInFrontOfTheSessionCheckUnlessTheLagIsAccepted() throws {
        do {
            _ = try TestInstance(environment: ["JWT_ALLAUTH_VERIFY_CACHE": "5s", "JWT_ALLAUTH_TOKENS_ACCESS_TOKEN_SESSION_CHECK": "true"])
            Issue.record("dev started with verify.cache in front of the session check")
        } catch TestInstance.InstanceError.notHealthy(let log) {
            #expect(log.contains("verify.cache"), "\(log)")
            #expect(log.contains("verify.cache_accepts_revocation_lag"), "\(log)")
        }
    }
}
