import Foundation
import Testing
@testable import JWTAllauth

/// Social login through nginx against the tests' own OpenID provider on loopback: the token and
/// code flows, account resolution, and every token the service must refuse.
@Suite(.serialized)
struct SocialLoginTests {
    @Test func tokenLoginCreatesAVerifiedAccountWithAnUnusablePasswordAndAWhitelistedSession() throws {
        let world = try SocialWorld()
        let response = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-new", "New.Person@example.com")))
        #expect(response.status == 200, "\(response.text)")
        let session = try #require(ClientSession(response))
        let user = try #require(try UserStore(world.instance.database()).find(email: "new.person@example.com"))
        #expect(!user.hasUsablePassword)
        #expect(user.emailVerified)
        #expect(user.lastLogin != nil)
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts WHERE user_id = ? AND provider = 'example' AND uid = 'u-new'", [.integer(user.id)]) == 1)
        #expect(try world.instance.whitelistRows(userID: user.id) == 1)
        // A normal session: it reads user/ and rotates.
        let me = try world.instance.client.get("\(world.instance.mount)/user/", headers: [session.bearer])
        #expect(me.json?["email"]?.string == "New.Person@example.com")
        #expect(try world.instance.refresh(cookie: session.refresh).status == 200)

        // The same identity again: the same account, a second session, no second user.
        let again = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-new", "New.Person@example.com"), alg: "ES256"))
        #expect(again.status == 200, "\(again.text)")
        #expect(try world.userCount() == 1)
        #expect(try world.instance.whitelistRows(userID: user.id) == 2)
    }

    @Test func codeFlowExchangesTheCodeWithThePKCEVerifierAndACodeWorksOnlyOnce() throws {
        let world = try SocialWorld()
        let verifier = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
        let code = try world.provider.code(user: SocialWorld.user("u-code", "code@example.com"), redirectURI: world.callbackURL, verifier: verifier)
        let body: [String: Any] = ["code": code, "callback_url": world.callbackURL, "code_verifier": verifier]
        let first = try world.post("example/code/", body)
        #expect(first.status == 200, "\(first.text)")
        #expect(ClientSession(first) != nil)
        // Replayed: the provider refuses the used code.
        let replay = try world.post("example/code/", body)
        #expect(replay.status == 401)
        #expect(replay.json?["code"]?.string == "invalid_social_token")

        // A verifier that does not match the challenge: refused, nothing created.
        let other = try world.provider.code(user: SocialWorld.user("u-pkce", "pkce@example.com"), redirectURI: world.callbackURL, verifier: verifier)
        let wrong = try world.post("example/code/", ["code": other, "callback_url": world.callbackURL, "code_verifier": verifier + "x"])
        #expect(wrong.status == 401)
        #expect(try UserStore(world.instance.database()).find(email: "pkce@example.com") == nil)
        #expect(try world.provider.fetches().token == 3)
    }

    @Test func callbackURLOutsideTheAllowListIsRefusedBeforeTheProviderIsAsked() throws {
        let world = try SocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_CALLBACK_URLS": "https://app.example.com/callback"])
        let response = try world.codeLogin()
        #expect(response.status == 400)
        #expect(response.json?["code"]?.string == "callback_url_not_allowed")
        #expect(try world.provider.fetches().token == 0)
    }

    @Test func verifiedProviderAddressLinksAConfirmedAccountWhichKeepsItsPassword() throws {
        let world = try SocialWorld()
        let owner = try world.instance.createUser("owner@example.com", verified: true)
        let response = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-owner", "OWNER@example.com")))
        #expect(response.status == 200, "\(response.text)")
        #expect(try world.userCount() == 1)
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts WHERE user_id = ?", [.integer(owner.id)]) == 1)
        #expect(try world.instance.login("owner@example.com").status == 200, "the password still works")
    }

    @Test func withLinkingOffAConfirmedAccountsAddressAnswers409AndNothingIsWritten() throws {
        let world = try SocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_EMAIL_LINKING": "false"])
        let owner = try world.instance.createUser("owner@example.com", verified: true)
        let response = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-owner", "owner@example.com")))
        #expect(response.status == 409)
        #expect(response.json?["code"]?.string == "email_already_registered")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
        #expect(try world.instance.whitelistRows(userID: owner.id) == 0)
    }

    @Test func anAccountInUseWithAnUnconfirmedAddressIsNeverTakenOver() throws {
        let world = try SocialWorld()
        let squatter = try world.instance.createUser("squat@example.com", verified: false)
        try UserStore(world.instance.database()).recordLogin(userID: squatter.id, at: 1_700_000_000)
        let response = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-squat", "squat@example.com")))
        #expect(response.status == 409)
        #expect(response.json?["code"]?.string == "local_account_unverified")
        #expect(try UserStore(world.instance.database()).find(id: squatter.id) == squatter.with(lastLogin: 1_700_000_000))
    }

    @Test func anAbandonedSignUpIsReplacedByTheVouchedForOwner() throws {
        let world = try SocialWorld()
        let abandoned = try world.instance.createUser("taken@example.com", verified: false)
        let response = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-real", "taken@example.com")))
        #expect(response.status == 200, "\(response.text)")
        let user = try #require(try UserStore(world.instance.database()).find(email: "taken@example.com"))
        #expect(user.id != abandoned.id)
        #expect(!user.hasUsablePassword && user.emailVerified)
    }

    @Test func anUnverifiedProviderAddressIsRefusedAndNoAccountIsMade() throws {
        let world = try SocialWorld()
        for user in [SocialWorld.user("u-unv", "unverified@example.com", verified: false), ["sub": "u-none"]] as [[String: Any]] {
            let response = try world.tokenLogin(try world.provider.idToken(user: user))
            #expect(response.status == 400)
            #expect(response.json?["code"]?.string == "provider_email_unverified")
        }
        #expect(try world.userCount() == 0)
    }

    @Test func withoutRequiredVerificationAnUnverifiedAddressMakesOnlyAnUnverifiedNewAccountAndNeverLinks() throws {
        let world = try SocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_REQUIRE_VERIFIED_EMAIL": "false"])
        let owner = try world.instance.createUser("owner@example.com", verified: true)
        let takeover = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-t", "owner@example.com", verified: false)))
        #expect(takeover.status == 409)
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
        #expect(try world.instance.whitelistRows(userID: owner.id) == 0)

        let fresh = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-f", "fresh@example.com", verified: false)))
        #expect(fresh.status == 200, "\(fresh.text)")
        #expect(try UserStore(world.instance.database()).find(email: "fresh@example.com")?.emailVerified == false)
    }

    @Test func signUpClosedAnswers403AndAnInactiveAccountCannotLogIn() throws {
        let world = try SocialWorld(environment: ["JWT_ALLAUTH_ACCOUNTS_ADMIN_MANAGED_REGISTRATION": "true"])
        let closed = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-x", "x@example.com")))
        #expect(closed.status == 403)
        #expect(closed.json?["code"]?.string == "signup_closed")
        try world.instance.createUser("off@example.com", verified: true, active: false)
        let inactive = try world.tokenLogin(try world.provider.idToken(user: SocialWorld.user("u-off", "off@example.com")))
        #expect(inactive.status == 401)
        #expect(inactive.json?["detail"]?.string == "No active account found with the given credentials")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
    }

    @Test func tokensTheProviderDidNotIssueToUsAreRefusedAndCreateNothing() throws {
        let world = try SocialWorld()
        let user = SocialWorld.user("u-evil", "evil@example.com")
        let provider = world.provider
        let now = Int(Date().timeIntervalSince1970)
        let refused: [(String, String)] = [
            ("another client", try provider.idToken(user: user, claims: ["aud": "someone-else"])),
            ("another client in a list", try provider.idToken(user: user, claims: ["aud": ["someone-else", "abc"], "azp": "someone-else"])),
            ("expired", try provider.idToken(user: user, claims: ["exp": now - 3600, "iat": now - 7200])),
            ("issued in the future", try provider.idToken(user: user, claims: ["iat": now + 3600, "exp": now + 7200])),
            ("another issuer", try provider.idToken(user: user, claims: ["iss": "https://evil.example.com"])),
            ("unpublished RSA key", try provider.idToken(user: user, key: "unpublished")),
            ("unpublished EC key", try provider.idToken(user: user, alg: "ES256", key: "unpublished")),
            ("alg none", try provider.idToken(user: user, alg: "none")),
            ("HS256 header on an RSA signature", try provider.idToken(user: user, header: ["alg": "HS256"])),
            ("unknown kid", try provider.idToken(user: user, header: ["kid": "nobody"])),
            ("no subject", try provider.idToken(user: user, omit: ["sub"])),
            ("garbage", "not.a.token"),
        ]
        for (name, token) in refused {
            let response = try world.tokenLogin(token)
            #expect(response.status == 401, "\(name): \(response.status) \(response.text)")
            #expect(response.json?["code"]?.string == "invalid_social_token", "\(name)")
        }
        // The nonce, when the client sends one, must be the token's.
        let withNonce = try provider.idToken(user: user, claims: ["nonce": "n-1"])
        #expect(try world.tokenLogin(withNonce, extra: ["nonce": "n-2"]).status == 401)
        #expect(try world.userCount() == 0)
        #expect(try world.tokenLogin(withNonce, extra: ["nonce": "n-1"]).status == 200)
    }

    @Test func keyRotationAtTheProviderIsPickedUpThroughTheUnknownKidRefetch() throws {
        // One worker, so one cache: the fetch counts are exact.
        let world = try SocialWorld(environment: ["JWT_ALLAUTH_SERVER_WORKERS": "1"])
        let user = SocialWorld.user("u-rot", "rot@example.com")
        #expect(try world.tokenLogin(try world.provider.idToken(user: user)).status == 200)
        #expect(try world.tokenLogin(try world.provider.idToken(user: user, alg: "ES256")).status == 200)
        let cached = try world.provider.fetches()
        #expect(cached.discovery == 1 && cached.jwks == 1, "discovery and keys cached for their max-age: \(cached)")

        try world.provider.rotateKeys()
        // Refetches are spaced at least a second apart (so garbage kids cannot flood the provider).
        Thread.sleep(forTimeInterval: 1.2)
        let rotated = try world.tokenLogin(try world.provider.idToken(user: user))
        #expect(rotated.status == 200, "\(rotated.text)")
        #expect(try world.provider.fetches().jwks == 2)
    }

    @Test func aProviderThatIsDownOrSlowAnswers503WithinTheTimeout() throws {
        let world = try SocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_HTTP_TIMEOUT": "1s"])
        let token = try world.provider.idToken(user: SocialWorld.user("u-down", "down@example.com"))

        try world.provider.setDelay(5)
        var started = Date()
        let slow = try world.tokenLogin(token)
        #expect(slow.status == 503, "\(slow.text)")
        #expect(slow.json?["code"]?.string == "provider_unavailable")
        #expect(Date().timeIntervalSince(started) < 3, "bounded by social.http_timeout")

        // A code issued before the provider went away: the exchange cannot reach it.
        let verifier = String(repeating: "d", count: 43)
        let code = try world.provider.code(redirectURI: world.callbackURL, verifier: verifier)
        world.provider.stop()
        started = Date()
        let down = try world.post("example/code/", ["code": code, "callback_url": world.callbackURL, "code_verifier": verifier])
        #expect(down.status == 503, "\(down.text)")
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(try world.userCount() == 0)
        // Every worker is still there to answer.
        #expect(try world.instance.client.get("\(world.instance.mount)/health/").status == 200)
    }

    @Test func providersListShowsTheClientIDAndNeverTheSecret() throws {
        let world = try SocialWorld()
        let response = try world.instance.client.get("\(world.instance.mount)/social/providers/")
        #expect(response.status == 200)
        #expect(response.json?[0]?["id"]?.string == "example")
        #expect(response.json?[0]?["name"]?.string == "Example")
        #expect(response.json?[0]?["client_id"]?.string == "abc")
        #expect(!response.text.contains("s3cret"))
    }
}

extension UserRecord {
    func with(lastLogin: Int64?) -> UserRecord {
        var copy = self
        copy.lastLogin = lastLogin
        return copy
    }
}
