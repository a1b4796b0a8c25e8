import Crypto
import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// Every bad token is a 401, on every path that reads tokens; malformed bodies are 400s.
struct TokenSecurityTests {
    /// Tokens a client must never get through with, crafted with the instance's real keys.
    static func forgeries(_ instance: some ServiceInstance, userID: Int64, session good: ClientSession) throws -> [(String, String)] {
        let tokens = try instance.tokenService()
        let now = Int64(Date().timeIntervalSince1970)
        let claims = TokenClaims(tokenType: .access, exp: now + 600, iat: now, jti: TokenService.newIdentifier(), userID: String(userID),
                                 session: try JWTParts(good.access).claims["session"]?.string ?? "", sessionIat: now, role: 1000,
                                 emailVerified: true, custom: [])
        var expired = claims
        expired.exp = now - 10
        expired.iat = now - 700
        var future = claims
        future.iat = now + 3600
        future.exp = now + 7200
        let parts = good.access.split(separator: ".").map(String.init)
        let header = try JWTParts(good.access).header
        let kid = header["kid"]?.string ?? ""

        // alg "none": no signature at all.
        let noneHeader = JWTParts.encode(Array(#"{"alg":"none","typ":"JWT","kid":"\#(kid)"}"#.utf8))
        // HS256 "signed" with the public key as the HMAC secret (the classic key-confusion attack).
        let jwks = try #require(try instance.client.get("/jwt-allauth/jwks/").json)
        let publicKeyBytes = Array(jwks["keys"]?[0]?["x"]?.string?.utf8 ?? "".utf8)
        let hsHeader = JWTParts.encode(Array(#"{"alg":"HS256","typ":"JWT","kid":"\#(kid)"}"#.utf8))
        let hsInput = hsHeader + "." + parts[1]
        let hsSignature = HMAC<SHA256>.authenticationCode(for: Array(hsInput.utf8), using: SymmetricKey(data: publicKeyBytes))
        // A claim changed after signing.
        var tamperedPayload = try JWTParts.base64url(parts[1])
        let text = String(decoding: tamperedPayload, as: UTF8.self).replacingOccurrences(of: "\"role\":0", with: "\"role\":1000")
        tamperedPayload = Array(text.utf8)
        let unknownKid = JWTParts.encode(Array(#"{"alg":"\#(header["alg"]?.string ?? "")","typ":"JWT","kid":"someone-elses"}"#.utf8))

        return [
            ("garbage", "not-a-token"),
            ("empty parts", ".."),
            ("two parts", parts[0] + "." + parts[1]),
            ("alg none", noneHeader + "." + parts[1] + "."),
            ("HS256 with the public key", hsInput + "." + JWTParts.encode(Array(hsSignature))),
            ("tampered claims", parts[0] + "." + JWTParts.encode(tamperedPayload) + "." + parts[2]),
            ("unknown kid", unknownKid + "." + parts[1] + "." + parts[2]),
            ("expired", try tokens.mint(expired)),
            ("issued in the future", try tokens.mint(future)),
            ("a refresh token as access", good.refresh),
            ("oversized", String(repeating: "a", count: 9000)),
        ]
    }

    @Test func badAccessTokensAreRefusedByEveryAuthenticatedEndpoint() throws {
        let instance = try InProcessInstance()
        let user = try instance.createUser("victim@example.com")
        let good = try instance.session("victim@example.com")
        #expect(try instance.client.get("/jwt-allauth/user/", headers: [good.bearer]).status == 200)
        #expect(try instance.client.get("/jwt-allauth/verify/", headers: [good.bearer]).status == 200)
        for (name, token) in try Self.forgeries(instance, userID: user.id, session: good) {
            let details = try instance.client.get("/jwt-allauth/user/", headers: [("Authorization", "Bearer \(token)")])
            #expect(details.status == 401, "\(name): \(details.status)")
            #expect(details.json?["code"]?.string == "token_not_valid", "\(name): \(details.text)")
            let verify = try instance.client.get("/jwt-allauth/verify/", headers: [("Authorization", "Bearer \(token)")])
            #expect(verify.status == 401, "verify \(name)")
            #expect(verify.json?["code"]?.string == "token_not_valid", "verify/ called directly explains its 401 in JSON")
            #expect(verify.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        }
        let expired = try instance.client.get("/jwt-allauth/user/", headers: [("Authorization", "Bearer \(try Self.forgeries(instance, userID: user.id, session: good)[7].1)")])
        #expect(expired.json?["messages"]?[0]?["message"]?.string == "Token is expired")
        let missing = try instance.client.get("/jwt-allauth/user/")
        #expect(missing.status == 401)
        #expect(missing.json?["detail"]?.string == "Authentication credentials were not provided.")
        let threeParts = try instance.client.get("/jwt-allauth/user/", headers: [("Authorization", "Bearer a b")])
        #expect(threeParts.json?["code"]?.string == "bad_authorization_header")
        #expect(try instance.client.get("/jwt-allauth/health/").status == 200, "no worker died")
    }

    @Test func badRefreshTokensAreRefusedWithoutRevokingAnything() throws {
        let instance = try InProcessInstance()
        let user = try instance.createUser("r@example.com")
        let good = try instance.session("r@example.com")
        let tokens = try instance.tokenService()
        let now = Int64(Date().timeIntervalSince1970)
        let refreshClaims = try JWTParts(good.refresh).claims
        let expired = TokenClaims(tokenType: .refresh, exp: now - 5, iat: now - 100, jti: refreshClaims["jti"]?.string ?? "",
                                  userID: String(user.id), session: refreshClaims["session"]?.string ?? "", sessionIat: now - 100,
                                  role: 0, emailVerified: true, custom: [])
        let cases: [(String, String)] = [
            ("garbage", "garbage"),
            ("an access token", good.access),
            ("expired", try tokens.mint(expired)),
            ("tampered", { var p = good.refresh.split(separator: ".").map(String.init); p[2] = String(p[2].reversed()); return p.joined(separator: ".") }()),
        ]
        for (name, token) in cases {
            let response = try instance.refresh(cookie: token)
            #expect(response.status == 401, "\(name)")
            #expect(response.json?["code"]?.string == "token_not_valid", "\(name): \(response.text)")
        }
        let after = try #require(ClientSession(try instance.refresh(cookie: good.refresh)), "none of that revoked the real session")
        let noCookie = try instance.client.post("/jwt-allauth/refresh/")
        #expect(noCookie.status == 400)
        #expect(noCookie.json?["refresh"]?[0]?.string == "This field is required.")
        let crossSite = try instance.refresh(cookie: after.refresh, headers: [("Origin", "https://evil.example")])
        #expect(crossSite.status == 403)
        #expect(crossSite.json?["code"]?.string == "origin_not_allowed")
        let sameOrigin = try #require(ClientSession(try instance.refresh(cookie: after.refresh, headers: [("Origin", "http://127.0.0.1:\(instance.port)")])))
        #expect(try instance.refresh(cookie: sameOrigin.refresh, headers: [("Origin", "http://localhost:\(instance.port)")]).status == 200,
                "the local instance allows its localhost origin")
    }

    @Test func malformedBodiesAreFieldErrorsNeverServerErrors() throws {
        let instance = try InProcessInstance()
        try instance.createUser("m@example.com")
        let session = try instance.session("m@example.com")
        let cases: [(String, String, Int, String)] = [
            ("/jwt-allauth/login/", "{}", 400, "email"),
            ("/jwt-allauth/login/", #"{"email":"m@example.com"}"#, 400, "password"),
            ("/jwt-allauth/login/", #"{"email":"  ","password":"x"}"#, 400, "email"),
            ("/jwt-allauth/login/", #"{"email":true,"password":"x"}"#, 400, "email"),
            ("/jwt-allauth/login/", #"{"email":["a"],"password":{"b":1}}"#, 400, "password"),
            ("/jwt-allauth/login/", #"{"email":null,"password":"x"}"#, 400, "email"),
            ("/jwt-allauth/login/", "\"just a string\"", 400, "non_field_errors"),
            ("/jwt-allauth/login/", "{\"email\":", 400, "detail"),
        ]
        for (path, body, status, field) in cases {
            let response = try instance.client.post(path, json: body)
            #expect(response.status == status, "\(body): \(response.status)")
            #expect(response.json?[field] != nil, "\(body): \(response.text)")
        }
        let form = try instance.client.request("POST", "/jwt-allauth/login/", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                               body: Array("email=m%40example.com&password=Val1dPasw0rd%21".utf8))
        #expect(form.status == 200, "form-encoded login works like JSON")
        let xml = try instance.client.request("POST", "/jwt-allauth/login/", headers: [("Content-Type", "application/xml")], body: Array("<a/>".utf8))
        #expect(xml.status == 415)
        let longName = String(repeating: "x", count: 151)
        let patch = try instance.client.request("PATCH", "/jwt-allauth/user/", headers: [session.bearer, ("Content-Type", "application/json")],
                                                body: Array(#"{"first_name":"\#(longName)","last_name":5}"#.utf8))
        #expect(patch.status == 400)
        #expect(patch.json?["first_name"]?[0]?.string == "Ensure this field has no more than 150 characters.")
        #expect(try instance.client.get("/jwt-allauth/health/").status == 200)
    }

    @Test func userDetailsReadAndUpdateNames() throws {
        let instance = try InProcessInstance()
        try instance.createUser("names@example.com", firstName: "Ana")
        let session = try instance.session("names@example.com")
        let get = try instance.client.get("/jwt-allauth/user/", headers: [session.bearer])
        #expect(get.json?.keys == ["email", "first_name", "last_name"])
        #expect(get.json?["first_name"]?.string == "Ana")
        let patch = try instance.client.request("PATCH", "/jwt-allauth/user/", headers: [session.bearer, ("Content-Type", "application/json")],
                                                body: Array(#"{"last_name":"O’Brien-Núñez","email":"hijack@example.com","role":1000}"#.utf8))
        #expect(patch.status == 200)
        #expect(patch.json?["last_name"]?.string == "O’Brien-Núñez")
        #expect(patch.json?["email"]?.string == "names@example.com", "email is read-only")
        let put = try instance.client.request("PUT", "/jwt-allauth/user/", headers: [session.bearer, ("Content-Type", "application/json")],
                                              body: Array(#"{"first_name":"Bea"}"#.utf8))
        #expect(put.status == 400, "PUT needs every writable field")
        #expect(put.json?["last_name"] != nil)
        let head = try instance.client.request("HEAD", "/jwt-allauth/user/", headers: [session.bearer])
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(try instance.client.request("DELETE", "/jwt-allauth/user/", headers: [session.bearer]).status == 405)
    }

    /// What auth_request hands the protected upstream (`TokenAcrossPoolTests` runs it through nginx).
    @Test func verifyAnswersTheIdentityAuthRequestPasses() throws {
        let instance = try InProcessInstance()
        let user = try instance.createUser("staff@example.com", role: 1000)
        let session = try instance.session("staff@example.com")
        let verify = try instance.client.get("/jwt-allauth/verify/", headers: [session.bearer])
        #expect(verify.status == 200)
        #expect(verify.body.isEmpty)
        #expect(verify.header("X-Auth-User-Id") == String(user.id))
        #expect(verify.header("X-Auth-Role") == "1000")
        #expect(verify.header("X-Auth-Email-Verified") == "true")
        #expect(verify.header("X-Auth-Session") == (try JWTParts(session.access).claims["session"]?.string))
        #expect(verify.header("X-Accel-Expires") == nil, "no verify.cache, nothing for nginx to keep")
    }

    /// With `verify.cache`, nginx may keep a 200 for that long, and never past the token's expiry.
    @Test(arguments: [("30m", "5"), ("4s", "2"), ("1s", "0")])
    func withTheCacheVerifyTellsNginxHowLongItMayKeepThe200(lifetime: String, expected: String) throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_VERIFY_CACHE": "5s", "JWT_ALLAUTH_TOKENS_ACCESS_LIFETIME": lifetime])
        try instance.createUser("cached@example.com")
        let session = try instance.session("cached@example.com")
        let exp = try #require(try JWTParts(session.access).claims["exp"]?.int)
        let verify = try instance.client.get("/jwt-allauth/verify/", headers: [session.bearer])
        try #require(verify.status == 200, "\(verify.text)")
        // Whole seconds left before exp, less one; a second boundary passed since the login takes one more.
        let left = exp - Int(Date().timeIntervalSince1970) - 1
        #expect(verify.header("X-Accel-Expires") == expected || verify.header("X-Accel-Expires") == String(max(0, min(5, left))),
                "\(verify.header("X-Accel-Expires") ?? "none")")
    }

    @Test func withTheSessionCheckRevokedSessionsLoseTheirAccessTokens() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_TOKENS_ACCESS_TOKEN_SESSION_CHECK": "true"])
        try instance.createUser("checked@example.com")
        let session = try instance.session("checked@example.com")
        let rotated = try #require(ClientSession(try instance.refresh(cookie: session.refresh)))
        #expect(try instance.client.get("/jwt-allauth/user/", headers: [session.bearer]).status == 200, "survives rotation")
        #expect(try instance.client.post("/jwt-allauth/logout/", headers: [rotated.bearer, rotated.cookie]).status == 200)
        let after = try instance.client.get("/jwt-allauth/user/", headers: [session.bearer])
        #expect(after.status == 401)
        #expect(after.json?["detail"]?.string == "Session is no longer active.")
        #expect(try instance.client.get("/jwt-allauth/verify/", headers: [rotated.bearer]).status == 401)
    }

    @Test func withoutTheSessionCheckAccessTokensLiveUntilExpiry() throws {
        let instance = try InProcessInstance()
        try instance.createUser("stateless@example.com")
        let session = try instance.session("stateless@example.com")
        #expect(try instance.client.post("/jwt-allauth/logout-all/", headers: [session.bearer]).status == 200)
        #expect(try instance.client.get("/jwt-allauth/user/", headers: [session.bearer]).status == 200)
    }

    @Test func rotationRereadsClaimsAndAnInactiveAccountLosesEverySession() throws {
        let instance = try InProcessInstance()
        let user = try instance.createUser("demoted@example.com", role: 1000)
        let a = try instance.session("demoted@example.com")
        let b = try instance.session("demoted@example.com")
        try UserStore(instance.database()).setRole(userID: user.id, 0)
        let rotated = try #require(ClientSession(try instance.refresh(cookie: a.refresh)))
        #expect(try JWTParts(rotated.access).claims["role"]?.int == 0)
        #expect(try JWTParts(rotated.refresh).claims["role"]?.int == 0)
        try UserStore(instance.database()).setActive(userID: user.id, false)
        let refused = try instance.refresh(cookie: rotated.refresh)
        #expect(refused.status == 401)
        #expect(try instance.whitelistRows(userID: user.id) == 0, "every session of the account is gone")
        #expect(try instance.refresh(cookie: b.refresh).status == 401)
        let login = try instance.login("demoted@example.com")
        #expect(login.status == 401)
        #expect(login.json?["code"]?.string == "no_active_account")
    }

    @Test func configuredUserAttributesBecomeClaimsAndFollowTheUserRow() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_TOKENS_USER_ATTRIBUTES": "{given_name: first_name}"])
        try instance.createUser("claims@example.com", firstName: "Ana")
        let session = try instance.session("claims@example.com")
        #expect(try JWTParts(session.access).claims["given_name"]?.string == "Ana")
        #expect(try JWTParts(session.refresh).claims["given_name"]?.string == "Ana")
        let patch = try instance.client.request("PATCH", "/jwt-allauth/user/", headers: [session.bearer, ("Content-Type", "application/json")],
                                                body: Array(#"{"first_name":"Bea"}"#.utf8))
        #expect(patch.status == 200)
        let rotated = try #require(ClientSession(try instance.refresh(cookie: session.refresh)))
        #expect(try JWTParts(rotated.access).claims["given_name"]?.string == "Bea", "re-read at rotation")
    }

    @Test func loginAnswersTheReferenceCodes() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_ACCOUNTS_EMAIL_VERIFICATION": "mandatory"])
        try instance.createUser("Person@Example.com")
        try instance.createUser("unverified@example.com", verified: false)
        let wrong = try instance.login("person@example.com", password: "nope-nope-nope")
        #expect(wrong.status == 401)
        #expect(wrong.json?["code"]?.string == "incorrect_credentials")
        let unknown = try instance.login("nobody@example.com")
        #expect(unknown.status == 401)
        #expect(unknown.text == wrong.text, "unknown and wrong answer alike")
        #expect(try UserStore(instance.database()).find(email: "person@example.com")?.lastLogin == nil)
        #expect(try instance.login("  PERSON@example.COM ").status == 200, "case-insensitive, trimmed")
        let lastLogin = try UserStore(instance.database()).find(email: "person@example.com")?.lastLogin
        #expect(lastLogin != nil && abs(lastLogin! - Int64(Date().timeIntervalSince1970)) < 5, "last_login updated")
        let unverified = try instance.login("unverified@example.com")
        #expect(unverified.status == 401)
        #expect(unverified.json?["code"]?.string == "email_not_verified")
    }

    @Test func failedLoginsAreThrottledPerClientAddress() throws {
        let instance = try InProcessInstance()
        try instance.createUser("victim2@example.com")
        // Ten failures spread over ten addresses: no account limit is reached, the address limit is.
        for attempt in 1...10 {
            #expect(try instance.login("guess\(attempt)@example.com", password: "wrong").status == 401)
        }
        let limited = try instance.login("victim2@example.com")
        #expect(limited.status == 429)
        #expect(Int(limited.header("Retry-After") ?? "") ?? 0 > 0)
    }

    @Test func theThrottleScaleRaisesLimitsForLoadTests() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_THROTTLE_SCALE": "100"])
        try instance.createUser("bench@example.com")
        for attempt in 1...8 {
            #expect(try instance.login("bench@example.com", password: "wrong-\(attempt)").status == 401)
        }
        #expect(try instance.login("bench@example.com").status == 200)
    }
}
