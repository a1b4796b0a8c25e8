import AllauthCore
import Crypto
import _CryptoExtras
import Foundation
import Synchronization

/// Who a provider says the user is, from a verified id_token (and its UserInfo when the id_token
/// names no address).
package struct ProviderIdentity: Sendable, Equatable {
    /// `sub`: the provider's stable id for the user.
    var uid: String
    var email: String?
    /// Whether the provider vouches for the address (`email_verified`; Apple sends it as a string).
    var emailVerified: Bool
    /// The verified claims, kept as the connection's `extra_data`.
    var claims: JSON
    /// The id_token it came from, which is accepted once.
    var token: IDTokenUse
}

/// Why a provider interaction failed; the handler maps these to HTTP.
package enum OpenIDError: Error, Equatable {
    /// The provider could not be reached within the timeout, or answered with something that is
    /// not a discovery document or key set: 503, try later.
    case unavailable(String)
    /// Our check of the id_token refused the credential: 401 `invalid_social_token`.
    case rejected(String)
    /// The provider refused the exchange or answered what no provider should: the user gets the
    /// answer of `rejected`, the operator a log line (a wrong client secret shows up here).
    case providerFault(ProviderFault)
}

/// A provider's refusal or malformed answer, as the operator's log shows it: never a secret, a
/// code or a token, only the endpoint, the HTTP status and the provider's own `error` code.
package struct ProviderFault: Sendable, Equatable {
    /// "token endpoint" or "UserInfo".
    package var endpoint: String
    package var status: Int
    /// The provider's `error` (RFC 6749 §5.2, RFC 6750 §3), when it gave a readable one.
    package var error: String?
    package var problem: String

    /// Refusals a user's own request causes (a spent or expired code, a stale access token): not the
    /// operator's to fix, so logged below warning.
    package var isTheClients: Bool { error == "invalid_grant" || error == "invalid_token" }

    /// An `error` code as the log may show it: RFC 6749's characters, short; else nil.
    static func errorCode(_ raw: String?) -> String? {
        guard let raw, (1...64).contains(raw.utf8.count),
              raw.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D })
        else { return nil }
        return raw
    }
}

/// The OpenID Connect relying party for one configured provider: discovery, key set, id_token
/// verification, the code exchange and UserInfo. Transport-free (HTTP through the injected `HTTPFetcher`).
/// Discovery and keys are cached per worker for their HTTP cache lifetime (`Cache-Control:
/// max-age`) and the keys fetched again once when a token names a `kid` we do not know (the
/// provider rotated). This is the one per-process cache of the service: it holds only what the
/// provider publishes, so workers that disagree for a moment disagree harmlessly.
package final class OpenIDClient: Sendable {
    package let provider: SocialProvider
    private let fetcher: any HTTPFetcher
    private let cache = Mutex(Cache())
    /// Leeway for `exp`/`iat` against clock differences with the provider.
    static let leeway: Int64 = 60
    /// When a provider sends no `Cache-Control: max-age`.
    static let defaultLifetime: Int64 = 300
    /// A token naming an unknown `kid` refetches the keys at most this often, so garbage tokens
    /// cannot turn every request into a request to the provider.
    static let minimumRefetchInterval: Int64 = 1
    package static let maxTokenLength = 16 * 1024

    package struct Discovery: Sendable {
        var issuer: String
        package var authorizationEndpoint: String?
        var tokenEndpoint: String?
        var userInfoEndpoint: String?
        var jwksURI: String
    }

    /// What the token endpoint answers a code exchange.
    struct TokenResponse: Sendable, Equatable {
        var idToken: String
        var accessToken: String?
    }

    private struct Cache {
        var discovery: (value: Discovery, expires: Int64)?
        var keys: (value: [String: any SigningKey], fetched: Int64, expires: Int64)?
    }

    init(provider: SocialProvider, fetcher: any HTTPFetcher) {
        self.provider = provider
        self.fetcher = fetcher
    }

    // MARK: discovery and keys

    package func discovery(now: Int64) throws(OpenIDError) -> Discovery {
        if let cached = cache.withLock({ $0.discovery }), cached.expires > now { return cached.value }
        let (document, lifetime) = try fetchJSON(provider.discoveryURL)
        guard let issuer = document["issuer"]?.stringValue, let jwksURI = document["jwks_uri"]?.stringValue else {
            throw .unavailable("the discovery document has no issuer or jwks_uri")
        }
        // OpenID Discovery §4.3: the document must be the issuer's own.
        guard issuer == provider.issuer else { throw .unavailable("the discovery document names issuer \(issuer)") }
        let discovery = Discovery(issuer: issuer, authorizationEndpoint: document["authorization_endpoint"]?.stringValue,
                                  tokenEndpoint: document["token_endpoint"]?.stringValue,
                                  userInfoEndpoint: document["userinfo_endpoint"]?.stringValue, jwksURI: jwksURI)
        cache.withLock { $0.discovery = (discovery, now + lifetime) }
        return discovery
    }

    /// The key for `kid`: from the cache, else from a fresh key set (once per request).
    private func key(kid: String?, algorithm: String, now: Int64) throws(OpenIDError) -> (any SigningKey)? {
        let cached = cache.withLock { $0.keys }
        if let cached, cached.expires > now, let key = Self.pick(cached.value, kid: kid, algorithm: algorithm) { return key }
        if let cached, cached.expires > now, now - cached.fetched < Self.minimumRefetchInterval { return nil }
        let keys = try fetchKeys(now: now)
        return Self.pick(keys, kid: kid, algorithm: algorithm)
    }

    private static func pick(_ keys: [String: any SigningKey], kid: String?, algorithm: String) -> (any SigningKey)? {
        let key: (any SigningKey)?
        if let kid { key = keys[kid] } else {
            // No kid: only unambiguous when the provider publishes one key for the algorithm.
            let candidates = keys.values.filter { $0.algorithm == algorithm }
            key = candidates.count == 1 ? candidates.first : nil
        }
        return key?.algorithm == algorithm ? key : nil
    }

    private func fetchKeys(now: Int64) throws(OpenIDError) -> [String: any SigningKey] {
        let (document, lifetime) = try fetchJSON(try discovery(now: now).jwksURI)
        guard case .array(let entries)? = document["keys"] else { throw .unavailable("the key set has no keys") }
        var keys: [String: any SigningKey] = [:]
        for (index, jwk) in entries.enumerated() {
            // Keys for other uses or algorithms are skipped, not fatal: a provider may publish them.
            guard jwk["use"]?.stringValue ?? "sig" == "sig", let key = Self.signingKey(jwk) else { continue }
            keys[jwk["kid"]?.stringValue ?? "#\(index)"] = key
        }
        cache.withLock { $0.keys = (keys, now, now + lifetime) }
        return keys
    }

    /// RS256 and ES256 public keys from their JWK; nil for anything else.
    static func signingKey(_ jwk: JSON) -> (any SigningKey)? {
        let alg = jwk["alg"]?.stringValue
        switch jwk["kty"]?.stringValue {
        case "RSA" where alg == nil || alg == "RS256":
            guard let n = jwk["n"]?.stringValue.flatMap(Base64URL.decode), let e = jwk["e"]?.stringValue.flatMap(Base64URL.decode),
                  let key = try? _RSA.Signing.PublicKey(n: n, e: e), key.keySizeInBits >= 2048
            else { return nil }
            return try? RS256Key(publicKey: key)
        case "EC" where (alg == nil || alg == "ES256") && jwk["crv"]?.stringValue == "P-256":
            guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode), let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode),
                  x.count == 32, y.count == 32, let key = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
            else { return nil }
            return ES256Key(publicKey: key)
        default:
            return nil
        }
    }

    private func fetchJSON(_ url: String) throws(OpenIDError) -> (JSON, lifetime: Int64) {
        let response: FetchedResponse
        do {
            response = try fetcher.fetch(url, form: nil)
        } catch {
            throw .unavailable("\(url): \(error)")
        }
        guard response.status == 200, let json = try? JSON.parse(response.body, maxDepth: 16), case .object = json else {
            throw .unavailable("\(url) answered \(response.status) without a JSON object")
        }
        return (json, Self.cacheLifetime(response.header("cache-control")))
    }

    /// Seconds from `Cache-Control`: `max-age`, 0 for `no-store`/`no-cache`, the default when absent;
    /// at most a day, so a rotation is never missed for long.
    static func cacheLifetime(_ header: String?) -> Int64 {
        guard let header else { return defaultLifetime }
        var lifetime = defaultLifetime
        for directive in header.lowercased().split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if directive == "no-store" || directive == "no-cache" { return 0 }
            if directive.hasPrefix("max-age="), let seconds = Int64(directive.dropFirst(8)), seconds >= 0 { lifetime = seconds }
        }
        return min(lifetime, 86400)
    }

    // MARK: id_token

    /// The identity behind an id_token the client sent (token flow): verified, then completed from
    /// UserInfo with the client's access token when the id_token names no address.
    package func identity(idToken: String, accessToken: String?, nonce: String?, now: Int64) throws(OpenIDError) -> ProviderIdentity {
        let identity = try verify(idToken: idToken, nonce: nonce, now: now)
        guard identity.email == nil, let accessToken else { return identity }
        return try completedFromUserInfo(identity, accessToken: accessToken, now: now)
    }

    /// The identity behind an authorization code (code flow): exchanged, verified, and completed
    /// from UserInfo with the exchange's access token when the id_token names no address (as
    /// django-oidc-provider's by default).
    package func identity(code: String, callbackURL: String, codeVerifier: String?, nonce: String?, now: Int64) throws(OpenIDError) -> ProviderIdentity {
        let tokens = try exchange(code: code, callbackURL: callbackURL, codeVerifier: codeVerifier, now: now)
        return try identity(idToken: tokens.idToken, accessToken: tokens.accessToken, nonce: nonce, now: now)
    }

    /// Verifies an id_token: no critical header extension, signature with a key the provider
    /// publishes (RS256 or ES256, the key's own algorithm), `iss`, `aud`/`azp`, `exp`/`iat` with a
    /// small leeway, and `nonce`: when either the token or the client has one, both must, equal.
    func verify(idToken: String, nonce: String?, now: Int64) throws(OpenIDError) -> ProviderIdentity {
        guard let jws = CompactJWS(idToken, maxLength: Self.maxTokenLength), let alg = jws.algorithm else {
            throw .rejected("not a signed JWT")
        }
        // RFC 7515 §4.1.11: we understand no extension, so a token that names any is refused.
        guard jws.header["crit"] == nil else { throw .rejected("critical header extension") }
        // Never "none", never HS256 (which a public key could be abused to forge).
        guard alg == "RS256" || alg == "ES256" else { throw .rejected("algorithm not accepted") }
        guard let key = try key(kid: jws.kid, algorithm: alg, now: now) else { throw .rejected("signed by a key the provider does not publish") }
        guard key.verify(jws.signature, for: jws.signingInput), let claims = jws.payload() else { throw .rejected("bad signature") }

        guard let issuer = claims["iss"]?.stringValue, issuer == expectedIssuer(claims) else { throw .rejected("wrong issuer") }
        let audiences: [String]
        switch claims["aud"] {
        case .string(let audience)?: audiences = [audience]
        case .array(let items)?: audiences = items.compactMap(\.stringValue)
        default: audiences = []
        }
        guard audiences.contains(provider.clientID) else { throw .rejected("issued for another client") }
        if audiences.count > 1 || claims["azp"] != nil {
            guard claims["azp"]?.stringValue == provider.clientID else { throw .rejected("authorized party is another client") }
        }
        guard let exp = claims["exp"]?.int64Value, exp + Self.leeway > now else { throw .rejected("expired") }
        guard let iat = claims["iat"]?.int64Value, iat <= now + Self.leeway else { throw .rejected("issued in the future") }
        // A token minted for a request with a nonce is only good with that nonce: without this, a
        // token lifted from one sign-in could be replayed by a client that simply sends none.
        if nonce != nil || claims["nonce"] != nil {
            guard let nonce, let claimed = claims["nonce"]?.stringValue,
                  Array(SHA256.hash(data: Array(claimed.utf8))) == Array(SHA256.hash(data: Array(nonce.utf8)))
            else { throw .rejected("nonce mismatch") }
        }
        guard let uid = claims["sub"]?.stringValue, !uid.isEmpty, uid.utf8.count <= 255 else { throw .rejected("no subject") }
        let (email, verified) = Self.address(claims)
        let fingerprint = claims["jti"]?.stringValue.map { Array("\(provider.id)\n\(issuer)\n\($0)".utf8) } ?? jws.signingInput
        let use = IDTokenUse(digest: SHA256.hash(data: fingerprint).map { String(format: "%02x", $0) }.joined(), expires: exp + Self.leeway)
        return ProviderIdentity(uid: uid, email: email, emailVerified: verified, claims: claims, token: use)
    }

    /// The issuer, with a multi-tenant template filled from the token's own `tid`.
    private func expectedIssuer(_ claims: JSON) -> String? {
        guard provider.issuer.contains("{tenantid}") else { return provider.issuer }
        guard let tenant = claims["tid"]?.stringValue, !tenant.isEmpty, !tenant.contains("/") else { return nil }
        return provider.issuer.replacingOccurrences(of: "{tenantid}", with: tenant)
    }

    // MARK: UserInfo

    /// The identity with UserInfo's claims beside the id_token's (which win where both have one).
    /// OpenID Connect Core §5.3.2: an answer about another `sub` must not be used. The access token
    /// must be the one the id_token's `at_hash` names, when it names one.
    func completedFromUserInfo(_ identity: ProviderIdentity, accessToken: String, now: Int64) throws(OpenIDError) -> ProviderIdentity {
        guard let endpoint = try discovery(now: now).userInfoEndpoint else { return identity }
        guard BearerToken.isValid(accessToken) else { throw .rejected("malformed access token") }
        if let atHash = identity.claims["at_hash"] {
            // §3.1.3.6: the left half of the SHA-256 of the access token (RS256 and ES256 alike).
            let half = Array(SHA256.hash(data: Array(accessToken.utf8))).prefix(16)
            guard atHash.stringValue == Base64URL.encode(Array(half)) else { throw .rejected("at_hash does not match the access token") }
        }
        let response: FetchedResponse
        do {
            response = try fetcher.fetch(endpoint, form: nil, bearer: accessToken)
        } catch {
            throw .unavailable("\(endpoint): \(error)")
        }
        if response.status >= 500 { throw .unavailable("userinfo endpoint answered \(response.status)") }
        let json = try? JSON.parse(response.body, maxDepth: 16)
        guard response.status == 200 else {
            let challenge = response.header("www-authenticate").flatMap(Self.bearerError)
            throw .providerFault(ProviderFault(endpoint: "UserInfo", status: response.status,
                                               error: ProviderFault.errorCode(challenge ?? json?["error"]?.stringValue),
                                               problem: "refused the access token"))
        }
        guard let json, case .object(let members) = json else {
            // A signed UserInfo answer (application/jwt) is one we never asked for.
            throw .providerFault(ProviderFault(endpoint: "UserInfo", status: 200, error: nil, problem: "answered without a JSON object"))
        }
        guard json["sub"]?.stringValue == identity.uid else {
            throw .providerFault(ProviderFault(endpoint: "UserInfo", status: 200, error: nil, problem: "answered for another subject than the id_token's"))
        }
        guard case .object(var claims) = identity.claims else { return identity }
        for (name, value) in members where !claims.contains(where: { $0.0 == name }) { claims.append((name, value)) }
        var completed = identity
        completed.claims = .object(claims)
        (completed.email, completed.emailVerified) = Self.address(completed.claims)
        return completed
    }

    /// `email` when it is a valid address, and whether the provider vouches for it
    /// (`email_verified`; Apple sends it as a string).
    private static func address(_ claims: JSON) -> (email: String?, verified: Bool) {
        let email = claims["email"]?.stringValue.flatMap { EmailAddressFormat.isValid($0) ? $0 : nil }
        return (email, claims["email_verified"]?.boolValue ?? (claims["email_verified"]?.stringValue == "true"))
    }

    /// `error="…"` of a `WWW-Authenticate: Bearer …` challenge.
    static func bearerError(_ challenge: String) -> String? {
        guard let start = challenge.range(of: "error=\"") else { return nil }
        let rest = challenge[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    // MARK: code flow

    /// Exchanges an authorization code at the token endpoint (with the PKCE verifier when given)
    /// and answers the id_token it returns, not yet verified, and the access token.
    func exchange(code: String, callbackURL: String, codeVerifier: String?, now: Int64) throws(OpenIDError) -> TokenResponse {
        guard let endpoint = try discovery(now: now).tokenEndpoint else { throw .unavailable("the provider has no token endpoint") }
        var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", callbackURL), ("client_id", provider.clientID)]
        let secret: String?
        do {
            secret = try SocialClientSecret.value(for: provider, now: now)
        } catch {
            throw .unavailable("cannot sign the client secret")
        }
        if let secret { form.append(("client_secret", secret)) }
        if let codeVerifier { form.append(("code_verifier", codeVerifier)) }
        let response: FetchedResponse
        do {
            response = try fetcher.fetch(endpoint, form: form)
        } catch {
            throw .unavailable("\(endpoint): \(error)")
        }
        // 4xx: the provider refused this code (used, expired, wrong verifier) or us (a wrong
        // secret: `invalid_client`); 5xx: it is unwell.
        if response.status >= 500 { throw .unavailable("token endpoint answered \(response.status)") }
        let json = try? JSON.parse(response.body, maxDepth: 16)
        guard response.status == 200 else {
            throw .providerFault(ProviderFault(endpoint: "token endpoint", status: response.status, error: ProviderFault.errorCode(json?["error"]?.stringValue),
                                               problem: "refused the code exchange"))
        }
        guard let json, case .object = json, let idToken = json["id_token"]?.stringValue else {
            throw .providerFault(ProviderFault(endpoint: "token endpoint", status: 200, error: ProviderFault.errorCode(json?["error"]?.stringValue),
                                               problem: "answered without an id_token"))
        }
        return TokenResponse(idToken: idToken, accessToken: json["access_token"]?.stringValue)
    }
}
