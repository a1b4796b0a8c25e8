import Foundation
@testable import AllauthStore

/// A social-login test's world: the test's own OpenID provider and an instance configured for it
/// through `JWT_ALLAUTH_SOCIAL_PROVIDERS` (a YAML flow value in the environment), with the app's
/// callback and the demo page as its `social.callback_urls`. `environment` overrides any of it;
/// `secret`: a client secret the provider does not know. The instance is a real one behind nginx
/// (`SocialWorld`) or the service in process (`InProcessSocialWorld`); the provider is a real
/// process either way.
struct SocialTestWorld<Instance: SocialWorldInstance> {
    let provider: OpenIDProvider
    let instance: Instance

    init(maxAge: Int = 300, secret: String? = nil, environment: [String: String] = [:]) throws {
        provider = try OpenIDProvider(maxAge: maxAge)
        let port = Instance.portForLinks()
        let callbacks = ["JWT_ALLAUTH_SOCIAL_CALLBACK_URLS": "\(SocialWorld.callbackURL(port)),http://127.0.0.1:\(port)/jwt-allauth/social/demo/"]
        instance = try Instance.make(environment: provider.environment(secret: secret, extra: callbacks.merging(environment) { $1 }), port: port)
    }

    var callbackURL: String { SocialWorld.callbackURL(instance.port) }

    func post(_ path: String, _ body: [String: Any], headers: [(String, String)] = []) throws -> HTTPResponse {
        let data = try JSONSerialization.data(withJSONObject: body)
        return try instance.client.post("\(instance.mount)/social/\(path)", json: String(decoding: data, as: UTF8.self), headers: headers)
    }

    func tokenLogin(_ idToken: String, extra: [String: Any] = [:]) throws -> HTTPResponse {
        try post("example/token/", ["id_token": idToken].merging(extra) { $1 })
    }

    /// A code flow as a client would run it: a code bound to the verifier's challenge, then the exchange.
    func codeLogin(user: [String: Any]? = nil, verifier: String = String(repeating: "v", count: 43), userInfoOnly: Bool = false,
                   userInfo: [String: Any]? = nil, reply: (status: Int, body: String)? = nil) throws -> HTTPResponse {
        let code = try provider.code(user: user, redirectURI: callbackURL, verifier: verifier, userInfoOnly: userInfoOnly, userInfo: userInfo, reply: reply)
        return try post("example/code/", ["code": code, "callback_url": callbackURL, "code_verifier": verifier])
    }


    func count(_ sql: String, _ bindings: [SQLValue] = []) throws -> Int {
        try instance.database().first(sql, bindings) { Int($0.int(0)) } ?? -1
    }

    func userCount() throws -> Int { try count("SELECT COUNT(*) FROM users") }
}

typealias SocialWorld = SocialTestWorld<TestInstance>
typealias InProcessSocialWorld = SocialTestWorld<InProcessInstance>

extension SocialTestWorld {
    static func callbackURL(_ port: Int) -> String { "http://127.0.0.1:\(port)/app/callback" }

    static func user(_ sub: String, _ email: String, verified: Bool = true) -> [String: Any] {
        ["sub": sub, "email": email, "email_verified": verified]
    }
}

/// An instance a social-login world can be made of, on a port chosen before its configuration.
protocol SocialWorldInstance: ServiceInstance {
    static func portForLinks() -> Int
    static func make(environment: [String: String], port: Int) throws -> Self
}

extension TestInstance: SocialWorldInstance {
    static func portForLinks() -> Int { freePort() }
    static func make(environment: [String: String], port: Int) throws -> TestInstance { try TestInstance(environment: environment, port: port) }
}

extension InProcessInstance: SocialWorldInstance {
    static func portForLinks() -> Int { 8080 }
    /// The in-process suites run in parallel on two cores beside hashing-heavy suites, where the
    /// provider (a Python process) once took longer than the production 5 s to answer a JWKS fetch
    /// (503 provider_unavailable on a fresh clone's CI): a test-sized bound, unless the test sets its own.
    static func make(environment: [String: String], port: Int) throws -> InProcessInstance {
        try InProcessInstance(environment: ["JWT_ALLAUTH_SOCIAL_HTTP_TIMEOUT": "20s"].merging(environment) { $1 }, port: port)
    }
}
