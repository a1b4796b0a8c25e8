import Foundation
import Testing
@testable import AllauthDomain

/// Social login in process against the tests' own OpenID provider on loopback: the token and
/// code flows, account resolution, and every token the service must refuse.
struct SocialLoginTests {
    @Test func tokenLoginCreatesAVerifiedAccountWithAnUnusablePasswordAndAWhitelistedSession() throws {
        let world = try InProcessSocialWorld()
        let response = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-new", "New.Person@example.com")))
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
        let again = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-new", "New.Person@example.com"), alg: "ES256"))
        #expect(again.status == 200, "\(again.text)")
        #expect(try world.userCount() == 1)
        #expect(try world.instance.whitelistRows(userID: user.id) == 2)
    }

    @Test func codeFlowExchangesTheCodeWithThePKCEVerifierAndACodeWorksOnlyOnce() throws {
        let world = try InProcessSocialWorld()
        let verifier = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
        let code = try world.provider.code(user: InProcessSocialWorld.user("u-code", "code@example.com"), redirectURI: world.callbackURL, verifier: verifier)
        let body: [String: Any] = ["code": code, "callback_url": world.callbackURL, "code_verifier": verifier]
        let first = try world.post("example/code/", body)
        #expect(first.status == 200, "\(first.text)")
        #expect(ClientSession(first) != nil)
        // Replayed: the provider refuses the used code.
        let replay = try world.post("example/code/", body)
        #expect(replay.status == 401)
        #expect(replay.json?["code"]?.string == "invalid_social_token")

        // A verifier that does not match the challenge: refused, nothing created.
        let other = try world.provider.code(user: InProcessSocialWorld.user("u-pkce", "pkce@example.com"), redirectURI: world.callbackURL, verifier: verifier)
        let wrong = try world.post("example/code/", ["code": other, "callback_url": world.callbackURL, "code_verifier": verifier + "x"])
        #expect(wrong.status == 401)
        #expect(try UserStore(world.instance.database()).find(email: "pkce@example.com") == nil)
        #expect(try world.provider.fetches().token == 3)
    }

    @Test func callbackURLOutsideTheAllowListIsRefusedBeforeTheProviderIsAsked() throws {
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_CALLBACK_URLS": "https://app.example.com/callback"])
        let response = try world.codeLogin()
        #expect(response.status == 400)
        #expect(response.json?["code"]?.string == "callback_url_not_allowed")
        // Nor a URL that only starts like a listed one.
        let code = try world.provider.code(redirectURI: "https://app.example.com/callback.evil.example", verifier: String(repeating: "v", count: 43))
        let lookalike = try world.post("example/code/", ["code": code, "callback_url": "https://app.example.com/callback.evil.example",
                                                         "code_verifier": String(repeating: "v", count: 43)])
        #expect(lookalike.status == 400)
        #expect(try world.provider.fetches().token == 0)
    }

    @Test func withNoCallbackURLListedTheCodeFlowIsRefusedNamingTheSettingAndCheckReportsIt() throws {
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_CALLBACK_URLS": "[]"])
        let response = try world.codeLogin()
        #expect(response.status == 400, "\(response.text)")
        #expect(response.json?["code"]?.string == "callback_url_not_allowed")
        #expect(response.json?["detail"]?.string?.contains("social.callback_urls") == true, "\(response.text)")
        #expect(try world.provider.fetches().token == 0)
        // The token flow needs no callback and still works.
        #expect(try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-cb", "cb@example.com"))).status == 200)

        let check = try world.instance.command(["check"])
        #expect(check.status != 0, "\(check.output)")
        #expect(check.output.contains("social.callback_urls"), "\(check.output)")
        let listed = try world.instance.command(["check"], extraEnvironment: ["JWT_ALLAUTH_SOCIAL_CALLBACK_URLS": world.callbackURL])
        #expect(listed.status == 0, "\(listed.output)")
    }

    /// Presented many times at once to the pool: `SocialTokenRaceTests`.
    @Test func anIDTokenIsAcceptedOnceOnEveryEndpoint() throws {
        let world = try InProcessSocialWorld()
        let user = InProcessSocialWorld.user("u-once", "once@example.com")
        let token = try world.provider.idToken(user: user)
        #expect(try world.tokenLogin(token).status == 200)
        // The same token again: a replay.
        for _ in 0..<3 {
            let replay = try world.tokenLogin(token)
            #expect(replay.status == 401, "\(replay.text)")
            #expect(replay.json?["code"]?.string == "invalid_social_token")
            #expect(replay.json?["detail"]?.string == "This id_token has already been used.", "\(replay.text)")
        }
        try world.instance.createUser("me@example.com")
        let me = try world.instance.session("me@example.com")
        #expect(try world.instance.reauthenticate(me).status == 200)
        let connect = try world.post("example/connect/token/", ["id_token": token], headers: [me.bearer])
        #expect(connect.status == 401 && connect.json?["code"]?.string == "invalid_social_token", "\(connect.text)")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 1)

        // A token without a jti is remembered by its hash: of its signed part, since an ECDSA
        // signature can be rewritten into another valid one (s → n − s) without the key.
        let anonymous = try world.provider.idToken(user: user, alg: "ES256", omit: ["jti"])
        #expect(try world.tokenLogin(anonymous).status == 200)
        #expect(try world.tokenLogin(anonymous).status == 401)
        let twin = try OpenIDProvider.malleated(anonymous)
        #expect(twin != anonymous)
        let replayedTwin = try world.tokenLogin(twin)
        #expect(replayedTwin.status == 401, "\(replayedTwin.text)")
        #expect(replayedTwin.json?["detail"]?.string == "This id_token has already been used.", "the twin verifies, and is the same token")
    }

    @Test func aNonceInTheTokenMustBeSentBackByTheClient() throws {
        let world = try InProcessSocialWorld()
        let user = InProcessSocialWorld.user("u-nonce", "nonce@example.com")
        for (name, extra) in [("missing", [:]), ("wrong", ["nonce": "n-2"]), ("empty", ["nonce": ""])] as [(String, [String: Any])] {
            let response = try world.tokenLogin(try world.provider.idToken(user: user, claims: ["nonce": "n-1"]), extra: extra)
            #expect(response.status == 401 || response.status == 400, "\(name): \(response.status) \(response.text)")
        }
        // A nonce the client expects but the token lacks.
        #expect(try world.tokenLogin(try world.provider.idToken(user: user), extra: ["nonce": "n-1"]).status == 401)
        #expect(try world.userCount() == 0)
        // In the code flow too.
        let verifier = String(repeating: "n", count: 43)
        let code = try world.provider.code(user: user, redirectURI: world.callbackURL, verifier: verifier, nonce: "n-code")
        let missing = try world.post("example/code/", ["code": code, "callback_url": world.callbackURL, "code_verifier": verifier])
        #expect(missing.status == 401, "\(missing.text)")
        let again = try world.provider.code(user: user, redirectURI: world.callbackURL, verifier: verifier, nonce: "n-code")
        let matching = try world.post("example/code/", ["code": again, "callback_url": world.callbackURL, "code_verifier": verifier, "nonce": "n-code"])
        #expect(matching.status == 200, "\(matching.text)")
        #expect(try world.tokenLogin(try world.provider.idToken(user: user, claims: ["nonce": "n-3"]), extra: ["nonce": "n-3"]).status == 200)
    }

    @Test func aCriticalHeaderExtensionIsRefused() throws {
        let world = try InProcessSocialWorld()
        let user = InProcessSocialWorld.user("u-crit", "crit@example.com")
        for crit in [["exp"], ["b64"], [], ["https://example.com/ext"]] as [[String]] {
            var header: [String: Any] = ["crit": crit]
            if crit == ["b64"] { header["b64"] = true }
            let response = try world.tokenLogin(try world.provider.idToken(user: user, header: header))
            #expect(response.status == 401, "crit \(crit): \(response.status) \(response.text)")
            #expect(response.json?["code"]?.string == "invalid_social_token")
        }
        #expect(try world.userCount() == 0)
    }

    @Test func theAddressIsReadFromUserInfoWhenTheIDTokenCarriesNone() throws {
        let world = try InProcessSocialWorld()
        // Code flow: the id_token has only `sub`; UserInfo has the address.
        let response = try world.codeLogin(user: InProcessSocialWorld.user("u-ui", "UserInfo@example.com"), userInfoOnly: true)
        #expect(response.status == 200, "\(response.text)")
        let user = try #require(try UserStore(world.instance.database()).find(email: "userinfo@example.com"))
        #expect(user.emailVerified && !user.hasUsablePassword)
        #expect(try world.provider.fetches().userInfo == 1)
        // An id_token that has the address: UserInfo is not asked.
        #expect(try world.codeLogin(user: InProcessSocialWorld.user("u-ui2", "direct@example.com")).status == 200)
        #expect(try world.provider.fetches().userInfo == 1)

        // Token flow: the client's access token reads UserInfo.
        let token = try world.provider.idToken(user: ["sub": "u-tf"])
        let access = try world.provider.accessToken(claims: InProcessSocialWorld.user("u-tf", "tokenflow@example.com"))
        let tokenFlow = try world.tokenLogin(token, extra: ["access_token": access])
        #expect(tokenFlow.status == 200, "\(tokenFlow.text)")
        #expect(try UserStore(world.instance.database()).find(email: "tokenflow@example.com") != nil)
    }

    @Test func aUserInfoAnswerAboutAnotherSubjectIsRefused() throws {
        let world = try InProcessSocialWorld()
        // The provider's UserInfo speaks of someone else (OpenID Connect Core §5.3.2: never use it).
        let response = try world.codeLogin(user: InProcessSocialWorld.user("u-a", "a@example.com"), userInfoOnly: true,
                                           userInfo: InProcessSocialWorld.user("u-victim", "victim@example.com"))
        #expect(response.status == 401, "\(response.text)")
        #expect(response.json?["code"]?.string == "invalid_social_token")
        // Token flow: an access token of another user beside my id_token.
        let mine = try world.provider.idToken(user: ["sub": "u-attacker"])
        let theirs = try world.provider.accessToken(claims: InProcessSocialWorld.user("u-victim", "victim@example.com"))
        #expect(try world.tokenLogin(mine, extra: ["access_token": theirs]).status == 401)
        // No `sub` at all, or a UserInfo that refuses the access token.
        #expect(try world.codeLogin(user: InProcessSocialWorld.user("u-b", "b@example.com"), userInfoOnly: true, userInfo: ["email": "b@example.com", "email_verified": true]).status == 401)
        #expect(try world.tokenLogin(try world.provider.idToken(user: ["sub": "u-c"]), extra: ["access_token": "not-issued"]).status == 401)
        #expect(try world.userCount() == 0)
        #expect(world.instance.log.contains("another subject"), "logged for the operator")
    }

    @Test func providerFaultsAreLoggedWithTheProviderAndItsErrorCodeNeverASecretOrToken() throws {
        // The instance's client secret is not the one the provider issued.
        let world = try InProcessSocialWorld(secret: "wrong-secret-123")
        let verifier = String(repeating: "w", count: 43)
        let code = try world.provider.code(user: InProcessSocialWorld.user("u-w", "w@example.com"), redirectURI: world.callbackURL, verifier: verifier)
        let refused = try world.post("example/code/", ["code": code, "callback_url": world.callbackURL, "code_verifier": verifier])
        #expect(refused.status == 401, "\(refused.text)")
        #expect(refused.json?["code"]?.string == "invalid_social_token")
        #expect(!refused.text.contains("invalid_client"), "the user gets the generic answer")
        let line = try #require(world.instance.log.split(separator: "\n").first { $0.contains("invalid_client") }, "\(world.instance.log)")
        #expect(line.contains("example"), "names the provider: \(line)")
        #expect(!world.instance.log.contains("wrong-secret-123") && !world.instance.log.contains(code), "never the secret or the code")

        // A token endpoint that answers something that is not a token response.
        let fixed = try InProcessSocialWorld()
        let garbled = try fixed.codeLogin(reply: (200, "<html>maintenance</html>"))
        #expect(garbled.status == 401, "\(garbled.text)")
        let noToken = try fixed.codeLogin(reply: (200, #"{"access_token": "at-secret-value", "token_type": "Bearer"}"#))
        #expect(noToken.status == 401, "\(noToken.text)")
        let garbledLines = fixed.instance.log.split(separator: "\n").filter { $0.contains("example") && $0.contains("token endpoint") }
        #expect(garbledLines.count >= 2, "\(fixed.instance.log)")
        #expect(!fixed.instance.log.contains("at-secret-value"))

        // An unreachable token endpoint: 503 for the user, a line naming the provider for the operator.
        let verifierDown = String(repeating: "d", count: 43)
        let codeDown = try fixed.provider.code(redirectURI: fixed.callbackURL, verifier: verifierDown)
        fixed.provider.stop()
        let down = try fixed.post("example/code/", ["code": codeDown, "callback_url": fixed.callbackURL, "code_verifier": verifierDown])
        #expect(down.status == 503, "\(down.text)")
        #expect(fixed.instance.log.split(separator: "\n").contains { $0.contains("unavailable") && $0.contains("example") })
    }

    @Test func verifiedProviderAddressLinksAConfirmedAccountWhichKeepsItsPassword() throws {
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_EMAIL_LINKING": "true"])
        let owner = try world.instance.createUser("owner@example.com", verified: true)
        let response = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-owner", "OWNER@example.com")))
        #expect(response.status == 200, "\(response.text)")
        #expect(try world.userCount() == 1)
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts WHERE user_id = ?", [.integer(owner.id)]) == 1)
        #expect(try world.instance.login("owner@example.com").status == 200, "the password still works")
    }

    @Test func linkingIsOffByDefaultSoAConfirmedAccountsAddressAnswers409AndNothingIsWritten() throws {
        // As allauth's SOCIALACCOUNT_EMAIL_AUTHENTICATION: nobody gets into an account by a provider's word alone.
        let world = try InProcessSocialWorld()
        let owner = try world.instance.createUser("owner@example.com", verified: true)
        let response = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-owner", "owner@example.com")))
        #expect(response.status == 409)
        #expect(response.json?["code"]?.string == "email_already_registered")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
        #expect(try world.instance.whitelistRows(userID: owner.id) == 0)
    }

    @Test func anAccountInUseWithAnUnconfirmedAddressIsNeverTakenOver() throws {
        let world = try InProcessSocialWorld()
        let squatter = try world.instance.createUser("squat@example.com", verified: false)
        try UserStore(world.instance.database()).recordLogin(userID: squatter.id, at: 1_700_000_000)
        let response = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-squat", "squat@example.com")))
        #expect(response.status == 409)
        #expect(response.json?["code"]?.string == "local_account_unverified")
        #expect(try UserStore(world.instance.database()).find(id: squatter.id) == squatter.with(lastLogin: 1_700_000_000))
    }

    @Test func anAbandonedSignUpIsReplacedByTheVouchedForOwner() throws {
        let world = try InProcessSocialWorld()
        let abandoned = try world.instance.createUser("taken@example.com", verified: false)
        let response = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-real", "taken@example.com")))
        #expect(response.status == 200, "\(response.text)")
        let user = try #require(try UserStore(world.instance.database()).find(email: "taken@example.com"))
        #expect(user.id != abandoned.id)
        #expect(!user.hasUsablePassword && user.emailVerified)
    }

    @Test func anUnverifiedProviderAddressIsRefusedAndNoAccountIsMade() throws {
        let world = try InProcessSocialWorld()
        for user in [InProcessSocialWorld.user("u-unv", "unverified@example.com", verified: false), ["sub": "u-none"]] as [[String: Any]] {
            let response = try world.tokenLogin(try world.provider.idToken(user: user))
            #expect(response.status == 400)
            #expect(response.json?["code"]?.string == "provider_email_unverified")
        }
        #expect(try world.userCount() == 0)
    }

    @Test func withoutRequiredVerificationAnUnverifiedAddressMakesOnlyAnUnverifiedNewAccountAndNeverLinks() throws {
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_REQUIRE_VERIFIED_EMAIL": "false"])
        let owner = try world.instance.createUser("owner@example.com", verified: true)
        let takeover = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-t", "owner@example.com", verified: false)))
        #expect(takeover.status == 409)
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
        #expect(try world.instance.whitelistRows(userID: owner.id) == 0)

        let fresh = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-f", "fresh@example.com", verified: false)))
        #expect(fresh.status == 200, "\(fresh.text)")
        #expect(try UserStore(world.instance.database()).find(email: "fresh@example.com")?.emailVerified == false)
    }

    @Test func signUpClosedAnswers403AndAnInactiveAccountCannotLogIn() throws {
        // Linking on, so that the inactive account is reached (and refused) through its address.
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_ACCOUNTS_ADMIN_MANAGED_REGISTRATION": "true", "JWT_ALLAUTH_SOCIAL_EMAIL_LINKING": "true"])
        let closed = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-x", "x@example.com")))
        #expect(closed.status == 403)
        #expect(closed.json?["code"]?.string == "signup_closed")
        try world.instance.createUser("off@example.com", verified: true, active: false)
        let inactive = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-off", "off@example.com")))
        #expect(inactive.status == 401)
        #expect(inactive.json?["detail"]?.string == "No active account found with the given credentials")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
    }

    @Test func tokensTheProviderDidNotIssueToUsAreRefusedAndCreateNothing() throws {
        let world = try InProcessSocialWorld()
        let user = InProcessSocialWorld.user("u-evil", "evil@example.com")
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
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_SERVER_WORKERS": "1"])
        let user = InProcessSocialWorld.user("u-rot", "rot@example.com")
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
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_SOCIAL_HTTP_TIMEOUT": "1s"])
        let token = try world.provider.idToken(user: InProcessSocialWorld.user("u-down", "down@example.com"))

        try world.provider.setDelay(5)
        var started = Date()
        let slow = try world.tokenLogin(token)
        #expect(slow.status == 503, "\(slow.text)")
        #expect(slow.json?["code"]?.string == "provider_unavailable")
        // Bounded by social.http_timeout (1 s), not by the provider's 5 s; the margin is for a
        // loaded 2-core machine running the in-process suites in parallel.
        #expect(Date().timeIntervalSince(started) < 4.5, "bounded by social.http_timeout")

        // A code issued before the provider went away: the exchange cannot reach it.
        let verifier = String(repeating: "d", count: 43)
        let code = try world.provider.code(redirectURI: world.callbackURL, verifier: verifier)
        world.provider.stop()
        started = Date()
        let down = try world.post("example/code/", ["code": code, "callback_url": world.callbackURL, "code_verifier": verifier])
        #expect(down.status == 503, "\(down.text)")
        #expect(Date().timeIntervalSince(started) < 4.5)
        #expect(try world.userCount() == 0)
        // Every worker is still there to answer.
        #expect(try world.instance.client.get("\(world.instance.mount)/health/").status == 200)
    }

    @Test func providersListShowsTheClientIDAndNeverTheSecret() throws {
        let world = try InProcessSocialWorld()
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
