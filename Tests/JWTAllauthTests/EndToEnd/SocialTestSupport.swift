import Foundation
@testable import JWTAllauth

/// A social-login test's world: the test's own OpenID provider and an instance configured for it
/// through `JWT_ALLAUTH_SOCIAL_PROVIDERS` (a YAML flow value in the environment).
struct SocialWorld {
    let provider: OpenIDProvider
    let instance: TestInstance

    init(maxAge: Int = 300, environment: [String: String] = [:]) throws {
        provider = try OpenIDProvider(maxAge: maxAge)
        instance = try TestInstance(environment: provider.environment(extra: environment))
    }

    var callbackURL: String { "http://127.0.0.1:\(instance.port)/app/callback" }

    func post(_ path: String, _ body: [String: Any], headers: [(String, String)] = []) throws -> HTTPResponse {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try instance.client.post("\(instance.mount)/social/\(path)", json: String(decoding: data, as: UTF8.self), headers: headers)
    }

    func tokenLogin(_ idToken: String, extra: [String: Any] = [:]) throws -> HTTPResponse {
        try post("example/token/", ["id_token": idToken].merging(extra) { $1 })
    }

    /// A code flow as a client would run it: a code bound to the verifier's challenge, then the exchange.
    func codeLogin(user: [String: Any]? = nil, verifier: String = String(repeating: "v", count: 43)) throws -> HTTPResponse {
        let code = try provider.code(user: user, redirectURI: callbackURL, verifier: verifier)
        return try post("example/code/", ["code": code, "callback_url": callbackURL, "code_verifier": verifier])
    }

    static func user(_ sub: String, _ email: String, verified: Bool = true) -> [String: Any] {
        ["sub": sub, "email": email, "email_verified": verified]
    }

    func count(_ sql: String, _ bindings: [SQLValue] = []) throws -> Int {
        try instance.database().first(sql, bindings) { Int($0.int(0)) } ?? -1
    }

    func userCount() throws -> Int { try count("SELECT COUNT(*) FROM users") }
}
