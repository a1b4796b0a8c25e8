import Foundation
import Testing
@testable import AllauthCore

/// Login, rotation, reuse detection, logout, devices and cookies, in process.
struct SessionTests {
    @Test func loginThenThreeRefreshesRotateAndEveryAccessTokenVerifiesAgainstTheJWKS() throws {
        let instance = try InProcessInstance(algorithm: "RS256")
        let user = try instance.createUser("person1@world.com", role: 1000)
        let jwks = try #require(try instance.client.get("/jwt-allauth/jwks/").json)
        #expect(jwks["keys"]?.array?.first?["kty"]?.string == "RSA")

        let login = try instance.login("person1@world.com")
        #expect(login.status == 200)
        #expect(login.json?.keys == ["access"], "the refresh token travels only in the cookie")
        var session = try #require(ClientSession(login))
        var seen: Set<String> = [session.refresh]
        var jtis: Set<String> = []
        for round in 1...3 {
            #expect(try verifiesAgainstJWKS(session.access, jwks: jwks), "access \(round) verifies")
            let claims = try JWTParts(session.access).claims
            #expect(claims["token_type"]?.string == "access")
            #expect(claims["user_id"]?.string == String(user.id))
            #expect(claims["role"]?.int == 1000)
            #expect(try JWTParts(session.access).header["alg"]?.string == "RS256")
            let response = try instance.refresh(cookie: session.refresh)
            #expect(response.status == 200)
            let next = try #require(ClientSession(response))
            #expect(!seen.contains(next.refresh), "round \(round): a new refresh token")
            seen.insert(next.refresh)
            let refreshClaims = try JWTParts(next.refresh).claims
            #expect(refreshClaims["session"]?.string == claims["session"]?.string, "same session across rotations")
            let jti = refreshClaims["jti"]?.string ?? ""
            let isNew = jtis.insert(jti).inserted
            #expect(isNew && jti.count == 32)
            session = next
        }
        #expect(try verifiesAgainstJWKS(session.access, jwks: jwks))
        #expect(try instance.whitelistRows(userID: user.id) == 1, "exactly one live refresh token per session")
    }

    @Test func replayingARotatedTokenRevokesTheWholeSessionButNotOthers() throws {
        let instance = try InProcessInstance()
        let user = try instance.createUser("replay@example.com")
        let first = try instance.session("replay@example.com")
        let other = try instance.session("replay@example.com")
        var latest = first
        for _ in 0..<2 { latest = try #require(ClientSession(try instance.refresh(cookie: latest.refresh))) }

        let replay = try instance.refresh(cookie: first.refresh)
        #expect(replay.status == 401)
        #expect(replay.json?["code"]?.string == "token_not_valid")
        #expect(replay.header("WWW-Authenticate") == "Bearer realm=\"api\"")
        let latestAfter = try instance.refresh(cookie: latest.refresh)
        #expect(latestAfter.status == 401, "the thief's or the owner's successor dies with the session")
        let session = try JWTParts(first.refresh).claims["session"]?.string ?? ""
        #expect(try instance.whitelistRows(session: session) == 0)
        // The user's other device is untouched.
        #expect(try instance.refresh(cookie: other.refresh).status == 200)
        #expect(try instance.whitelistRows(userID: user.id) == 1)
    }

    @Test func logoutRevokesThisDeviceAndClearsTheCookie() throws {
        let instance = try InProcessInstance()
        try instance.createUser("out@example.com")
        try instance.createUser("stranger@example.com")
        let session = try instance.session("out@example.com")
        let stranger = try instance.session("stranger@example.com")

        let noCookie = try instance.client.post("/jwt-allauth/logout/", headers: [session.bearer])
        #expect(noCookie.status == 400)
        #expect(noCookie.json?["detail"]?.string == "Refresh token cookie not found.")
        let noBearer = try instance.client.post("/jwt-allauth/logout/", headers: [session.cookie])
        #expect(noBearer.status == 401)
        let foreign = try instance.client.post("/jwt-allauth/logout/", headers: [session.bearer, stranger.cookie])
        #expect(foreign.status == 400)
        #expect(foreign.json?["detail"]?.string == "Invalid token.")
        #expect(try instance.refresh(cookie: stranger.refresh).status == 200, "someone else's session survives")

        let logout = try instance.client.post("/jwt-allauth/logout/", headers: [session.bearer, session.cookie])
        #expect(logout.status == 200)
        #expect(logout.json?["detail"]?.string == "Successfully logged out.")
        let clearing = try #require(logout.setCookieHeader("refresh_token"))
        #expect(clearing.contains("Max-Age=0"))
        #expect(try instance.refresh(cookie: session.refresh).status == 401)
        let again = try instance.client.post("/jwt-allauth/logout/", headers: [session.bearer, session.cookie])
        #expect(again.status == 200, "a repeated logout is harmless")
    }

    @Test func logoutAllRevokesEveryDevice() throws {
        let instance = try InProcessInstance()
        let user = try instance.createUser("all@example.com")
        let phone = try instance.session("all@example.com")
        let laptop = try instance.session("all@example.com")
        #expect(try instance.whitelistRows(userID: user.id) == 2)
        let response = try instance.client.post("/jwt-allauth/logout-all/", headers: [phone.bearer])
        #expect(response.status == 200)
        #expect(response.json?["detail"]?.string == "Successfully logged out from all devices.")
        #expect(try instance.refresh(cookie: phone.refresh).status == 401)
        #expect(try instance.refresh(cookie: laptop.refresh).status == 401)
        #expect(try instance.whitelistRows(userID: user.id) == 0)
        #expect(try instance.client.get("/jwt-allauth/logout-all/", headers: [phone.bearer]).status == 405)
    }

    @Test func myDevicesListsAndRevokesOnlyOwnSessions() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_ACCOUNTS_COLLECT_USER_AGENT": "true"])
        try instance.createUser("devices@example.com")
        try instance.createUser("other@example.com")
        let chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.114 Safari/537.36"
        let mac = try #require(ClientSession(try instance.login("devices@example.com", headers: [("User-Agent", chrome)])))
        let phone = try instance.session("devices@example.com")
        let other = try instance.session("other@example.com")

        let list = try instance.client.get("/jwt-allauth/sessions/", headers: [mac.bearer])
        #expect(list.status == 200)
        let entries = try #require(list.json?.array)
        #expect(entries.count == 2)
        let current = try #require(entries.first { $0["current"]?.bool == true })
        #expect(current["browser"]?.string == "Chrome")
        #expect(current["browser_version"]?.string == "91.0.4472")
        #expect(current["os"]?.string == "Mac OS X")
        #expect(current["ip"]?.string == "127.0.0.1")
        #expect(current["id"]?.string == (try JWTParts(mac.access).claims["session"]?.string))

        let phoneSession = try JWTParts(phone.access).claims["session"]?.string ?? ""
        let otherSession = try JWTParts(other.access).claims["session"]?.string ?? ""
        let foreign = try instance.client.request("DELETE", "/jwt-allauth/sessions/\(otherSession)/", headers: [mac.bearer])
        #expect(foreign.status == 404)
        #expect(try instance.refresh(cookie: other.refresh).status == 200)
        let revoke = try instance.client.request("DELETE", "/jwt-allauth/sessions/\(phoneSession)/", headers: [mac.bearer])
        #expect(revoke.status == 200)
        #expect(try instance.refresh(cookie: phone.refresh).status == 401)
        #expect(try instance.client.get("/jwt-allauth/sessions/", headers: [mac.bearer]).json?.array?.count == 1)
    }

    @Test func theAbsoluteSessionLifetimeCapsExpiryAndEndsTheSession() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_TOKENS_SESSION_LIFETIME": "3s"])
        try instance.createUser("capped@example.com")
        let session = try instance.session("capped@example.com")
        let claims = try JWTParts(session.refresh).claims
        let deadline = (claims["session_iat"]?.int ?? 0) + 3
        #expect(claims["exp"]?.int == deadline, "refresh exp is capped at the session deadline")
        #expect(try JWTParts(session.access).claims["exp"]?.int == deadline, "so is the access token's")
        let rotated = try #require(ClientSession(try instance.refresh(cookie: session.refresh)))
        #expect(try JWTParts(rotated.refresh).claims["exp"]?.int == deadline)
        #expect(try JWTParts(rotated.refresh).claims["session_iat"]?.int == claims["session_iat"]?.int)
        while Int(Date().timeIntervalSince1970) <= deadline { usleep(100_000) }
        let expired = try instance.refresh(cookie: rotated.refresh)
        #expect(expired.status == 401)
        #expect(expired.json?["code"]?.string == "session_expired")
        #expect(try instance.whitelistRows(session: claims["session"]?.string ?? "") == 0)
    }

    @Test func bodyModeCarriesTheRefreshTokenInJSON() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_COOKIES_REFRESH_AS_COOKIE": "false"])
        try instance.createUser("body@example.com")
        let login = try instance.login("body@example.com")
        #expect(login.status == 200)
        #expect(login.headers("Set-Cookie").isEmpty)
        #expect(login.json?.keys == ["access", "refresh"])
        let refresh = try #require(login.json?["refresh"]?.string)
        let missing = try instance.client.post("/jwt-allauth/refresh/", json: "{}")
        #expect(missing.status == 400)
        #expect(missing.json?["refresh"]?[0]?.string == "This field is required.")
        let ignoredCookie = try instance.client.post("/jwt-allauth/refresh/", json: "{}", headers: [("Cookie", "refresh_token=\(refresh)")])
        #expect(ignoredCookie.status == 400, "body mode ignores cookies")
        let rotated = try instance.client.post("/jwt-allauth/refresh/", json: #"{"refresh":"\#(refresh)"}"#)
        #expect(rotated.status == 200)
        #expect(rotated.json?.keys == ["access", "refresh"])
        let next = try #require(rotated.json?["refresh"]?.string)
        #expect(next != refresh)
        let access = try #require(rotated.json?["access"]?.string)
        let logout = try instance.client.post("/jwt-allauth/logout/", json: #"{"refresh":"\#(next)"}"#, headers: [("Authorization", "Bearer \(access)")])
        #expect(logout.status == 200)
        #expect(try instance.client.post("/jwt-allauth/refresh/", json: #"{"refresh":"\#(next)"}"#).status == 401)
        let wrongType = try instance.client.post("/jwt-allauth/refresh/", json: #"{"refresh": 12}"#)
        #expect(wrongType.status == 401 || wrongType.status == 400)
    }

    @Test func cookieAttributesFollowTheConfiguration() throws {
        let defaults = try InProcessInstance()
        try defaults.createUser("c@example.com")
        let header = try #require(try defaults.login("c@example.com").setCookieHeader("refresh_token"))
        for attribute in ["HttpOnly", "Max-Age=1209600", "Path=/", "SameSite=Lax", "expires="] {
            #expect(header.contains(attribute), "\(attribute) in \(header)")
        }
        #expect(!header.contains("Secure"), "the local instance is plain HTTP")

        let custom = try InProcessInstance(environment: [
            "JWT_ALLAUTH_COOKIES_REFRESH_SECURE": "true", "JWT_ALLAUTH_COOKIES_REFRESH_SAME_SITE": "Strict",
            "JWT_ALLAUTH_COOKIES_REFRESH_PATH": "/jwt-allauth/", "JWT_ALLAUTH_COOKIES_REFRESH_MAX_AGE": "null",
            "JWT_ALLAUTH_COOKIES_REFRESH_HTTP_ONLY": "false", "JWT_ALLAUTH_COOKIES_REFRESH_DOMAIN": "example.com",
        ])
        try custom.createUser("c@example.com")
        let configured = try #require(try custom.login("c@example.com").setCookieHeader("refresh_token"))
        for attribute in ["Secure", "SameSite=Strict", "Path=/jwt-allauth/", "Domain=example.com"] {
            #expect(configured.contains(attribute), "\(attribute) in \(configured)")
        }
        for absent in ["Max-Age", "expires=", "HttpOnly"] {
            #expect(!configured.contains(absent), "no \(absent) in \(configured)")
        }
    }

}
