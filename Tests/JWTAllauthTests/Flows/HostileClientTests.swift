import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain
@testable import AllauthRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The service as an attacker meets it, in process: replays around the grace window, NUL bytes,
/// timing, cross-site posts, tossed cookies (`HostileNetworkTests` has what needs nginx and the pool).
struct HostileClientTests {
    // MARK: replays around the grace window

    @Test func withinTheGraceAnOlderAncestorStillRevokesTheSession() throws {
        let instance = try InProcessInstance()
        try instance.createUser("ancestor@example.com")
        let first = try instance.session("ancestor@example.com")
        let second = try #require(ClientSession(try instance.refresh(cookie: first.refresh)))
        let third = try #require(ClientSession(try instance.refresh(cookie: second.refresh)))
        let replay = try instance.refresh(cookie: first.refresh)
        #expect(replay.status == 401, "only the immediate predecessor is forgiven")
        let session = try JWTParts(first.refresh).claims["session"]?.string ?? ""
        #expect(try instance.whitelistRows(session: session) == 0)
        #expect(try instance.refresh(cookie: third.refresh).status == 401)
    }

    @Test func afterTheGraceWindowThePredecessorIsAReplay() throws {
        let instance = try InProcessInstance(environment: ["JWT_ALLAUTH_TOKENS_ROTATION_GRACE": "1s"])
        try instance.createUser("window@example.com")
        let first = try instance.session("window@example.com")
        #expect(try instance.refresh(cookie: first.refresh).status == 200)
        usleep(2_100_000)
        #expect(try instance.refresh(cookie: first.refresh).status == 401)
    }

    // MARK: NUL and control characters

    @Test func aNULInTheLoginEmailIsRefusedInsteadOfBypassingTheAccountLock() throws {
        let instance = try InProcessInstance()
        try instance.createUser("locked@example.com")
        for _ in 0..<5 { _ = try instance.login("locked@example.com", password: "wrong-password") }
        #expect(try instance.login("locked@example.com").status == 429, "the account is locked")
        let sneaky = try instance.client.post(
            "/jwt-allauth/login/", json: #"{"email":"locked@example.com\u0000x","password":"Val1dPasw0rd!"}"#)
        #expect(sneaky.status == 400, "\(sneaky.status) \(sneaky.text)")
        #expect(sneaky.json?["email"]?[0]?.string == "Null characters are not allowed.")
        #expect(sneaky.cookie("refresh_token") == nil)
        let control = try instance.client.post("/jwt-allauth/login/", json: #"{"email":"locked@exam\u0007ple.com","password":"x"}"#)
        #expect(control.status == 400 && control.json?["email"] != nil, "\(control.text)")
    }

    @Test func namesWithNULOrControlCharactersAreRefusedNotCut() throws {
        let instance = try InProcessInstance()
        try instance.createUser("named@example.com", firstName: "Ann")
        let session = try instance.session("named@example.com")
        for name in [#"Eve\u0000Mallory"#, #"Eve\u001bMallory"#, #"Eve\nMallory"#] {
            let patch = try instance.client.request("PATCH", "/jwt-allauth/user/", headers: [session.bearer, ("Content-Type", "application/json")],
                                                    body: Array(#"{"first_name":"\#(name)"}"#.utf8))
            #expect(patch.status == 400, "\(name): \(patch.status) \(patch.text)")
            #expect(patch.json?["first_name"]?[0]?.string != nil)
        }
        #expect(try instance.client.get("/jwt-allauth/user/", headers: [session.bearer]).json?["first_name"]?.string == "Ann", "nothing half-written")
    }

    // MARK: timing

    @Test func aWrongPasswordOnAnImportedAccountTakesAsLongAsOnAnUnknownAddress() throws {
        let instance = try InProcessInstance(environment: [
            "JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS": "400000", "JWT_ALLAUTH_THROTTLE_ENABLED": "false",
        ])
        // An account imported from Django with its old, cheaper hash, never logged in since.
        try UserStore(instance.database()).create(
            email: "imported@example.com", passwordHash: PasswordHasher(iterations: 40_000).hash("Old-Passw0rd"), emailVerified: true)
        try instance.createUser("current@example.com")
        func seconds(_ email: String) throws -> Double {
            let start = Date()
            let response = try instance.login(email, password: "not-the-password")
            #expect(response.status == 401)
            return Date().timeIntervalSince(start)
        }
        var imported: [Double] = [], unknown: [Double] = []
        for _ in 0..<5 {
            imported.append(try seconds("imported@example.com"))
            unknown.append(try seconds("nobody@example.com"))
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        #expect(median(imported) > median(unknown) * 0.7,
                "imported \(median(imported)) s vs unknown \(median(unknown)) s: the imported account is enumerable")
    }

    // MARK: login CSRF

    @Test func aCrossSiteFormCannotLogTheBrowserIntoAnotherAccount() throws {
        let instance = try InProcessInstance()
        try instance.createUser("attacker@example.com")
        let form = Array("email=attacker%40example.com&password=Val1dPasw0rd%21".utf8)
        let crossSite = try instance.client.request("POST", "/jwt-allauth/login/", headers: [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://evil.example"),
        ], body: form)
        #expect(crossSite.status == 403, "\(crossSite.status) \(crossSite.text)")
        #expect(crossSite.json?["code"]?.string == "origin_not_allowed")
        #expect(crossSite.cookie("refresh_token") == nil)

        let textPlain = try instance.client.request("POST", "/jwt-allauth/login/", headers: [("Content-Type", "text/plain")],
                                                    body: Array(#"{"email":"attacker@example.com","password":"Val1dPasw0rd!"}"#.utf8))
        #expect(textPlain.status == 415, "JSON only as application/json: \(textPlain.status)")
        let untyped = try instance.client.request("POST", "/jwt-allauth/login/",
                                                  body: Array(#"{"email":"attacker@example.com","password":"Val1dPasw0rd!"}"#.utf8))
        #expect(untyped.status == 415, "\(untyped.status)")

        let sameSite = try instance.client.request("POST", "/jwt-allauth/login/", headers: [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://127.0.0.1:\(instance.port)"),
        ], body: form)
        #expect(sameSite.status == 200, "our own page may post the form")
        let session = try #require(ClientSession(sameSite))

        let logout = try instance.client.request("POST", "/jwt-allauth/logout/", headers: [
            session.bearer, session.cookie, ("Origin", "https://evil.example"),
        ])
        #expect(logout.status == 403, "logout clears the cookie: same check")
        let refresh = try instance.refresh(cookie: session.refresh, headers: [("Origin", "https://evil.example")])
        #expect(refresh.status == 403)
    }


    // MARK: cookie tossing

    @Test func aHostPrefixedCookieCannotBeTossedBySiblingSubdomains() throws {
        let instance = try InProcessInstance(environment: [
            "JWT_ALLAUTH_COOKIES_REFRESH_NAME": "__Host-refresh_token", "JWT_ALLAUTH_COOKIES_REFRESH_SECURE": "true",
        ])
        try instance.createUser("tossed@example.com")
        let login = try instance.login("tossed@example.com")
        let header = try #require(login.setCookieHeader("__Host-refresh_token"))
        #expect(header.contains("Path=/") && header.contains("Secure") && !header.contains("Domain="), "\(header)")
        let token = try #require(login.cookie("__Host-refresh_token"))
        // evil.example.com set `refresh_token=garbage; Domain=example.com`: the browser sends both.
        let refresh = try instance.client.post("/jwt-allauth/refresh/", headers: [("Cookie", "refresh_token=garbage; __Host-refresh_token=\(token)")])
        #expect(refresh.status == 200, "\(refresh.status) \(refresh.text)")
        #expect(refresh.cookie("__Host-refresh_token") != nil)
    }


}
