import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain
@testable import AllauthRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The service as an attacker and a user on a bad network meet it, through real nginx:
/// lost answers, NUL bytes, timing, cross-site posts, nginx's own errors, tossed cookies,
/// expensive bodies.
@Suite(.serialized)
struct HostileClientTests {
    // MARK: a lost refresh answer

    @Test func aRefreshAnswerLostInTransitDoesNotLogTheUserOut() throws {
        let instance = try TestInstance()
        try instance.createUser("tunnel@example.com")
        let session = try instance.session("tunnel@example.com")
        let claims = try JWTParts(session.refresh).claims
        let sessionID = claims["session"]?.string ?? "", original = claims["jti"]?.string ?? ""

        // The phone sends its refresh and enters a tunnel: the server commits, the answer is lost.
        let lost = try RawConnection(port: instance.port)
        lost.send("POST /jwt-allauth/refresh/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: refresh_token=\(session.refresh)\r\nContent-Length: 0\r\n\r\n")
        usleep(20_000)
        lost.close()
        let db = try instance.database()
        var rotatedTo: String?
        let deadline = Date().addingTimeInterval(5)
        while rotatedTo == nil && Date() < deadline {
            let current = try db.first("SELECT jti FROM refresh_tokens WHERE session = ?", [.text(sessionID)]) { $0.string(0) }
            if let current, current != original { rotatedTo = current } else { usleep(10_000) }
        }
        #expect(rotatedTo != nil, "the server committed the rotation nobody heard about")

        // Out of the tunnel, the client retries with the only token it has.
        let retry = try instance.refresh(cookie: session.refresh)
        #expect(retry.status == 200, "\(retry.status) \(retry.text)")
        let successor = try retry.cookie("refresh_token").map { try JWTParts($0).claims["jti"]?.string }
        #expect(successor == rotatedTo, "the successor already issued is handed out again, not a second one")
        #expect(try instance.refresh(cookie: retry.cookie("refresh_token") ?? "").status == 200, "the session lives on")
    }

    @Test func withinTheGraceAnOlderAncestorStillRevokesTheSession() throws {
        let instance = try TestInstance()
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
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_TOKENS_ROTATION_GRACE": "1s"])
        try instance.createUser("window@example.com")
        let first = try instance.session("window@example.com")
        #expect(try instance.refresh(cookie: first.refresh).status == 200)
        usleep(2_100_000)
        #expect(try instance.refresh(cookie: first.refresh).status == 401)
    }

    // MARK: NUL and control characters

    @Test func aNULInTheLoginEmailIsRefusedInsteadOfBypassingTheAccountLock() throws {
        let instance = try TestInstance()
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
        let instance = try TestInstance()
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
        let instance = try TestInstance(environment: [
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
        let instance = try TestInstance()
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

    // MARK: nginx's own answers

    @Test func everyAnswerNginxMakesUnderTheMountIsJSON() throws {
        let instance = try TestInstance()
        let port = instance.port
        let host = "Host: 127.0.0.1\r\nConnection: close\r\n"
        let cookie = String(repeating: "c", count: 20_000)
        let uri = "/jwt-allauth/" + String(repeating: "u", count: 20_000) + "/"
        let cases: [(String, String, Int)] = [
            ("TRACE", "TRACE /jwt-allauth/health/ HTTP/1.1\r\n\(host)\r\n", 405),
            ("a NUL in the path", "GET /jwt-allauth/%00/ HTTP/1.1\r\n\(host)\r\n", 400),
            ("a bad header", "GET /jwt-allauth/health/ HTTP/1.1\r\n\(host)Bad Header: x\r\n\r\n", 400),
            ("no Host", "GET /jwt-allauth/health/ HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
            ("an oversized cookie", "GET /jwt-allauth/health/ HTTP/1.1\r\n\(host)Cookie: a=\(cookie)\r\n\r\n", 400),
            ("an oversized URI", "GET \(uri) HTTP/1.1\r\n\(host)\r\n", 414),
            ("HTTP/3.0 on the wire", "GET /jwt-allauth/health/ HTTP/3.0\r\n\(host)\r\n", 505),
            ("the mount without its slash", "GET /jwt-allauth HTTP/1.1\r\n\(host)\r\n", 301),
            ("a body too large", "POST /jwt-allauth/login/ HTTP/1.1\r\n\(host)Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n", 413),
        ]
        for (what, request, status) in cases {
            let response = try RawConnection.exchange(port: port, request)
            #expect(response.status == status, "\(what): \(response.status)")
            #expect(response.header("Content-Type") == "application/json", "\(what): \(response.header("Content-Type") ?? "-")")
            #expect(response.json?["detail"]?.string != nil, "\(what): \(response.text.prefix(200))")
        }
        let moved = try RawConnection.exchange(port: port, "GET /jwt-allauth HTTP/1.1\r\n\(host)\r\n")
        #expect(moved.header("Location")?.hasSuffix("/jwt-allauth/") == true)
        let connect = try RawConnection.exchange(port: port, "CONNECT 127.0.0.1:443 HTTP/1.1\r\n\(host)\r\n")
        #expect(connect.status >= 400 && connect.status < 500 && connect.json?["detail"] != nil, "CONNECT: \(connect.status) \(connect.text.prefix(100))")

        let options = try instance.client.request("OPTIONS", "/jwt-allauth/login/")
        #expect(options.status == 200)
        #expect(options.header("Allow") == "POST, OPTIONS")
        #expect(options.json?["renders"]?[0]?.string == "application/json", "\(options.text)")
        let verify = try instance.client.get("/jwt-allauth/verify/")
        #expect(verify.status == 401 && verify.json?["detail"] != nil, "verify/ called directly explains itself")
    }

    // MARK: cookie tossing

    @Test func aHostPrefixedCookieCannotBeTossedBySiblingSubdomains() throws {
        let instance = try TestInstance(environment: [
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

    // MARK: cheap parsing

    @Test func aBodyOfThousandsOfKeysIsRefusedCheaply() throws {
        // The parser is what is tried here: nginx's per-address limit (burst 20) would answer some
        // of 32 posts at once itself (429) once the workers answer them fast enough.
        let instance = try TestInstance(credentialRate: "100000r/s")
        var body = "{"
        var index = 0
        while body.utf8.count < 64_000 {
            body += (index == 0 ? "" : ",") + "\"k\(index)\":0"
            index += 1
        }
        body += "}"
        let payload = body
        let client = instance.client
        let start = Date()
        let statuses = simultaneously(32) { _ in (try? client.post("/jwt-allauth/login/", json: payload))?.status ?? -1 }
        let elapsed = Date().timeIntervalSince(start)
        #expect(statuses.allSatisfy { $0 == 400 }, "\(Set(statuses))")
        #expect(elapsed < 2.5, "32 bodies of \(index) keys took \(elapsed) s")
        let duplicate = try client.post("/jwt-allauth/login/", json: #"{"email":"a@example.com","email":"b@example.com","password":"x"}"#)
        #expect(duplicate.status == 401, "a repeated key: the last one wins, as before")
    }
}
