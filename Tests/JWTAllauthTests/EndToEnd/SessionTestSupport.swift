import Crypto
import _CryptoExtras
import Foundation
@testable import AllauthDomain

/// What a client holds after a login or a rotation.
struct ClientSession {
    var access: String
    var refresh: String

    init?(_ response: HTTPResponse, cookieName: String = "refresh_token") {
        guard [200, 201].contains(response.status), let access = response.json?["access"]?.string else { return nil }
        guard let refresh = response.cookie(cookieName) ?? response.json?["refresh"]?.string else { return nil }
        self.access = access
        self.refresh = refresh
    }

    var bearer: (String, String) { ("Authorization", "Bearer \(access)") }
    var cookie: (String, String) { ("Cookie", "refresh_token=\(refresh)") }
}

extension ServiceInstance {
    func session(_ email: String, password: String = "Val1dPasw0rd!") throws -> ClientSession {
        let response = try login(email, password: password)
        guard let session = ClientSession(response) else { throw SessionError.loginFailed(response.status, response.text) }
        return session
    }

    func refresh(cookie token: String, headers: [(String, String)] = []) throws -> HTTPResponse {
        try client.post("\(mount)/refresh/", headers: [("Cookie", "refresh_token=\(token)")] + headers)
    }

}

extension TestInstance {
    /// Presents the same refresh token `count` times at once; answers (status, new refresh cookie) each.
    func refreshSimultaneously(_ token: String, count: Int) -> [(status: Int, refresh: String?)] {
        Self.refreshSimultaneously(token, count: count, across: [client], mount: mount)
    }

    /// The same, request `i` sent to `clients[i % clients.count]` (several hosts of one deployment).
    static func refreshSimultaneously(_ token: String, count: Int, across clients: [HTTPClient], mount: String) -> [(status: Int, refresh: String?)] {
        let path = "\(mount)/refresh/"
        return simultaneously(count) { index in
            (try? clients[index % clients.count].post(path, headers: [("Cookie", "refresh_token=\(token)")]))
                .map { ($0.status, $0.cookie("refresh_token")) } ?? (-1, nil)
        }
    }

}

extension ServiceInstance {
    /// The instance's own signing keys, to craft tokens the service must refuse.
    func tokenService() throws -> TokenService {
        let config = try Config.load(path: configPath, environment: [:])
        return TokenService(keys: try KeySet.load(config.tokens))
    }

    func whitelistRows(session: String) throws -> Int {
        try database().first("SELECT COUNT(*) FROM refresh_tokens WHERE session = ?", [.text(session)]) { Int($0.int(0)) } ?? -1
    }

    func whitelistRows(userID: Int64) throws -> Int {
        try database().first("SELECT COUNT(*) FROM refresh_tokens WHERE user_id = ?", [.integer(userID)]) { Int($0.int(0)) } ?? -1
    }
}

enum SessionError: Error { case loginFailed(Int, String) }

/// Verifies a token's signature against a JWKS document, independently of the service's code.
func verifiesAgainstJWKS(_ token: String, jwks: JSONValue) throws -> Bool {
    let parts = try JWTParts(token)
    guard let kid = parts.header["kid"]?.string, let alg = parts.header["alg"]?.string,
          let key = jwks["keys"]?.array?.first(where: { $0["kid"]?.string == kid })
    else { return false }
    switch (alg, key["kty"]?.string) {
    case ("RS256", "RSA"):
        let n = try JWTParts.base64url(key["n"]?.string ?? ""), e = try JWTParts.base64url(key["e"]?.string ?? "")
        let publicKey = try _RSA.Signing.PublicKey(n: n, e: e)
        return publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: parts.signature),
                                          for: SHA256.hash(data: parts.signingInput), padding: .insecurePKCS1v1_5)
    case ("ES256", "EC"):
        let x = try JWTParts.base64url(key["x"]?.string ?? ""), y = try JWTParts.base64url(key["y"]?.string ?? "")
        let publicKey = try P256.Signing.PublicKey(rawRepresentation: x + y)
        return publicKey.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: parts.signature), for: parts.signingInput)
    case ("EdDSA", "OKP"):
        let x = try JWTParts.base64url(key["x"]?.string ?? "")
        return try Curve25519.Signing.PublicKey(rawRepresentation: x).isValidSignature(parts.signature, for: parts.signingInput)
    default:
        return false
    }
}

/// Runs `count` closures at once on separate threads, released together, and collects the results.
func simultaneously<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    let start = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    nonisolated(unsafe) let slots = results
    for index in 0..<count {
        group.enter()
        Thread {
            start.wait()
            slots[index] = body(index)
            group.leave()
        }.start()
    }
    usleep(50_000)
    for _ in 0..<count { start.signal() }
    group.wait()
    return results.map { $0! }
}
