import Crypto
import Foundation

/// The OpenID provider of the social-login tests: `oidc_provider.py` (stdlib http.server and
/// python3-cryptography) on a free loopback port. It publishes discovery and a JWKS, signs with
/// keys it generates (RS256 and ES256), runs the code flow with PKCE and UserInfo, and through its
/// `/control/` endpoints mints tokens, issues codes, rotates keys, answers slowly, and counts fetches.
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

    /// `social.providers` for an instance, as the YAML flow value in the environment; `secret`:
    /// another client secret than the provider's (a misconfigured instance).
    func environment(id: String = "example", secret: String? = nil, extra: [String: String] = [:]) -> [String: String] {
        ["JWT_ALLAUTH_SOCIAL_PROVIDERS": "{\(id): {name: Example, issuer: \"\(issuer)\", client_id: \(clientID), client_secret: \(secret ?? clientSecret)}}"]
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

    enum ProviderError: Error { case badAnswer(String), unreachable(String, Error, log: String) }

    /// A control request; if it gets no answer, the error carries the provider's log (a Python
    /// traceback says why it hung up).
    private func controlCall(_ path: String, _ call: () throws -> HTTPResponse) throws -> HTTPResponse {
        do { return try call() } catch {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw ProviderError.unreachable(path, error, log: String(log.suffix(4000)))
        }
    }

    /// SIGTERM and wait: the provider is down.
    func stop() {
        PythonHelper.stop(process)
        process = nil
    }

    @discardableResult
    private func post(_ path: String, _ body: [String: Any]) throws -> JSONValue {
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try controlCall(path) { try control.post(path, json: String(decoding: data, as: UTF8.self)) }
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
    /// `userInfoOnly`: its id_token carries only `sub`, the address is at UserInfo (django-oidc-provider's
    /// default); `userInfo`: what UserInfo answers instead; `reply`: the token endpoint's raw answer.
    func code(user: [String: Any]? = nil, redirectURI: String, verifier: String?, nonce: String? = nil, alg: String = "RS256",
              userInfoOnly: Bool = false, userInfo: [String: Any]? = nil, reply: (status: Int, body: String)? = nil) throws -> String {
        var body: [String: Any] = ["redirect_uri": redirectURI, "alg": alg, "userinfo_only": userInfoOnly]
        if let verifier { body["code_challenge"] = Self.challenge(verifier) }
        if let nonce { body["nonce"] = nonce }
        if let user { body["user"] = user }
        if let userInfo { body["userinfo"] = userInfo }
        if let reply { body["reply"] = ["status": reply.status, "body": reply.body] }
        return try post("/control/code", body)["code"]?.string ?? ""
    }

    /// An access token whose UserInfo answer is `claims` (by default the current user's).
    func accessToken(claims: [String: Any]? = nil) throws -> String {
        try post("/control/access-token", claims.map { ["claims": $0] } ?? [:])["access_token"]?.string ?? ""
    }

    /// The same ES256 token with its signature (r, s) rewritten to (r, n − s): as valid, and a
    /// different string (ECDSA's malleability; anyone can do this without the key).
    static func malleated(_ token: String) throws -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        var base64 = parts.count == 3 ? parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") : ""
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let signature = Data(base64Encoded: base64).map(Array.init), signature.count == 64 else {
            throw ProviderError.badAnswer("not an ES256 token")
        }
        // P-256's group order n, big-endian.
        let order: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                              0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51]
        let s = Array(signature[32...])
        var difference = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for index in stride(from: 31, through: 0, by: -1) {
            var value = Int(order[index]) - Int(s[index]) - borrow
            borrow = value < 0 ? 1 : 0
            if value < 0 { value += 256 }
            difference[index] = UInt8(value)
        }
        let rewritten = Array(signature[..<32]) + difference
        let encoded = Data(rewritten).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "\(parts[0]).\(parts[1]).\(encoded)"
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

    /// How often discovery, the JWKS, the token endpoint and UserInfo were fetched.
    func fetches() throws -> (discovery: Int, jwks: Int, token: Int, userInfo: Int) {
        let json = try controlCall("/control/stats") { try control.get("/control/stats") }.json
        return (json?["discovery"]?.int ?? -1, json?["jwks"]?.int ?? -1, json?["token"]?.int ?? -1, json?["userinfo"]?.int ?? -1)
    }
}
