import Crypto
import Foundation

/// The OpenID provider of the social-login tests: `oidc_provider.py` (stdlib http.server and
/// python3-cryptography) on a free loopback port. It publishes discovery and a JWKS, signs with
/// keys it generates (RS256 and ES256), runs the code flow with PKCE, and through its `/control/`
/// endpoints mints tokens, issues codes, rotates keys, answers slowly, and counts fetches.
final class OpenIDProvider {
    let port: Int
    let clientID = "abc"
    let clientSecret = "s3cret"
    let control: HTTPClient
    private let maxAge: Int
    private var process: Process?
    private let logPath: String

    var issuer: String { "http://127.0.0.1:\(port)" }

    init(maxAge: Int = 300) throws {
        port = TestInstance.freePort()
        self.maxAge = maxAge
        control = HTTPClient(port: port)
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("oidc-\(UUID().uuidString.prefix(8)).log").path
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    static var script: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oidc_provider.py") }

    /// `social.providers` for an instance, as the YAML flow value in the environment.
    func environment(id: String = "example", extra: [String: String] = [:]) -> [String: String] {
        ["JWT_ALLAUTH_SOCIAL_PROVIDERS": "{\(id): {name: Example, issuer: \"\(issuer)\", client_id: \(clientID), client_secret: \(clientSecret)}}"]
            .merging(extra) { $1 }
    }

    /// Starts (again) on `port`; waits at most 15 s until its control endpoint answers.
    func start() throws {
        let control = self.control
        process = try PythonHelper.start(Self.script, ["--port", String(port), "--client-id", clientID, "--client-secret", clientSecret,
                                                       "--max-age", String(maxAge)], logPath: logPath) {
            (try? control.get("/control/stats"))?.status == 200
        }
    }

    enum ProviderError: Error { case badAnswer(String) }

    /// SIGTERM and wait: the provider is down.
    func stop() {
        PythonHelper.stop(process)
        process = nil
    }

    @discardableResult
    private func post(_ path: String, _ body: [String: Any]) throws -> JSONValue {
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try control.post(path, json: String(decoding: data, as: UTF8.self))
        guard response.status == 200, let json = response.json else { throw ProviderError.badAnswer("\(path): \(response.status) \(response.text)") }
        return json
    }

    /// An id_token as the provider would issue it for `user`, with `claims` overriding and `omit`
    /// removing claims; `key: "unpublished"` signs with a key the JWKS never showed, `alg: "none"`
    /// leaves it unsigned.
    func idToken(user: [String: Any]? = nil, alg: String = "RS256", key: String = "current", claims: [String: Any] = [:],
                 omit: [String] = [], header: [String: Any] = [:]) throws -> String {
        var body: [String: Any] = ["alg": alg, "key": key, "claims": claims, "omit": omit, "header": header]
        if let user { body["user"] = user }
        return try post("/control/token", body)["id_token"]?.string ?? ""
    }

    /// A one-time code for `user`, bound to `redirectURI` and the S256 challenge of `verifier`.
    func code(user: [String: Any]? = nil, redirectURI: String, verifier: String?, nonce: String? = nil, alg: String = "RS256") throws -> String {
        var body: [String: Any] = ["redirect_uri": redirectURI, "alg": alg]
        if let verifier { body["code_challenge"] = Self.challenge(verifier) }
        if let nonce { body["nonce"] = nonce }
        if let user { body["user"] = user }
        return try post("/control/code", body)["code"]?.string ?? ""
    }

    static func challenge(_ verifier: String) -> String {
        // Foundation's base64, not the service's encoder: the test must not check it against itself.
        let digest = Array(SHA256.hash(data: Array(verifier.utf8)))
        return Data(digest).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func setUser(_ user: [String: Any]) throws { try post("/control/user", user) }

    /// New keys with new kids; the JWKS publishes only them from now on.
    func rotateKeys() throws { try post("/control/rotate", [:]) }

    /// Every OIDC endpoint (not /control/) waits this long before answering.
    func setDelay(_ seconds: Double) throws { try post("/control/delay", ["seconds": seconds]) }

    /// How often discovery, the JWKS and the token endpoint were fetched.
    func fetches() throws -> (discovery: Int, jwks: Int, token: Int) {
        let json = try control.get("/control/stats").json
        return (json?["discovery"]?.int ?? -1, json?["jwks"]?.int ?? -1, json?["token"]?.int ?? -1)
    }
}
