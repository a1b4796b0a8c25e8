import Foundation
import Testing

/// Frontends on other origins (`cookies.allowed_origins`), in process: the preflight and the answer
/// name an allowed origin and let its page send the cookie; any other origin gets no
/// `Access-Control-*` header at all. (`CrossOriginBrowserTests` runs the same through nginx from a
/// page in Chromium.)
struct CORSTests {
    static let frontend = "http://127.0.0.1:18097"
    static let stranger = "http://127.0.0.1:18098"

    func instance() throws -> InProcessInstance {
        try InProcessInstance(environment: ["JWT_ALLAUTH_COOKIES_ALLOWED_ORIGINS": "[\(Self.frontend)]"])
    }

    func preflight(_ instance: InProcessInstance, _ path: String, from origin: String, method: String = "POST") throws -> HTTPResponse {
        try instance.client.request("OPTIONS", "\(instance.mount)/\(path)", headers: [
            ("Origin", origin), ("Access-Control-Request-Method", method),
            ("Access-Control-Request-Headers", "content-type,x-csrftoken"),
        ])
    }

    @Test func anAllowedOriginsPreflightNamesItTheRoutesMethodsAndTheHeadersTheAPIReads() throws {
        let instance = try instance()
        let answer = try preflight(instance, "login/", from: Self.frontend)
        #expect(answer.status == 200, "\(answer.status) \(answer.text)")
        #expect(answer.header("Access-Control-Allow-Origin") == Self.frontend)
        #expect(answer.header("Access-Control-Allow-Credentials") == "true")
        #expect(answer.header("Access-Control-Allow-Methods") == "POST, OPTIONS")
        #expect(answer.header("Access-Control-Allow-Headers") == "Authorization, Content-Type, X-CSRFToken, Accept-Language")
        #expect(answer.header("Access-Control-Max-Age") == "600")
        #expect(answer.headers("Vary").contains { $0.contains("Origin") })
        let user = try preflight(instance, "user/", from: Self.frontend, method: "PATCH")
        #expect(user.header("Access-Control-Allow-Methods") == "GET, PUT, PATCH, HEAD, OPTIONS", "\(user.headers)")
    }

    @Test func anAllowedOriginLogsInRefreshesAndLogsOutWithTheCookie() throws {
        let instance = try instance()
        try instance.createUser("spa@example.com")
        let origin = [("Origin", Self.frontend)]
        let login = try instance.client.post("\(instance.mount)/login/", json: #"{"email":"spa@example.com","password":"Val1dPasw0rd!"}"#,
                                             headers: origin)
        #expect(login.status == 200, "\(login.status) \(login.text)")
        #expect(login.header("Access-Control-Allow-Origin") == Self.frontend)
        #expect(login.header("Access-Control-Allow-Credentials") == "true")
        #expect(login.header("Access-Control-Expose-Headers") == "Retry-After, Content-Language")
        #expect(login.headers("Vary").contains { $0.contains("Origin") })
        let refresh = try #require(login.cookie("refresh_token"))
        let access = try #require(login.json?["access"]?.string)
        let rotated = try instance.client.post("\(instance.mount)/refresh/", json: "{}",
                                               headers: origin + [("Cookie", "refresh_token=\(refresh)")])
        #expect(rotated.status == 200 && rotated.header("Access-Control-Allow-Origin") == Self.frontend, "\(rotated.text)")
        let next = try #require(rotated.cookie("refresh_token"))
        let out = try instance.client.post("\(instance.mount)/logout/", json: "{}",
                                           headers: origin + [("Cookie", "refresh_token=\(next)"), ("Authorization", "Bearer \(access)")])
        #expect(out.status == 200 && out.header("Access-Control-Allow-Origin") == Self.frontend, "\(out.status) \(out.text)")
    }

    @Test func anyOtherOriginGetsNoAccessControlHeaderAndItsCookieCallsAreRefused() throws {
        let instance = try instance()
        try instance.createUser("spa@example.com")
        let answer = try preflight(instance, "login/", from: Self.stranger)
        #expect(!answer.headers.contains { $0.0.lowercased().hasPrefix("access-control-") }, "\(answer.headers)")
        #expect(answer.headers("Vary").contains { $0.contains("Origin") }, "a cache keeps the answers per origin")
        let login = try instance.client.post("\(instance.mount)/login/", json: #"{"email":"spa@example.com","password":"Val1dPasw0rd!"}"#,
                                             headers: [("Origin", Self.stranger)])
        #expect(login.status == 403 && login.json?["code"]?.string == "origin_not_allowed", "\(login.status) \(login.text)")
        #expect(!login.headers.contains { $0.0.lowercased().hasPrefix("access-control-") })
        // The service's own pages need no CORS, and a request without Origin gets none either.
        let same = try instance.client.post("\(instance.mount)/login/", json: #"{"email":"spa@example.com","password":"Val1dPasw0rd!"}"#,
                                            headers: [("Origin", "http://127.0.0.1:\(instance.port)")])
        #expect(same.status == 200 && same.header("Access-Control-Allow-Origin") == nil, "\(same.status) \(same.text)")
        let none = try instance.client.get("\(instance.mount)/health/")
        #expect(none.header("Access-Control-Allow-Origin") == nil && none.header("Vary") == nil)
    }
}
