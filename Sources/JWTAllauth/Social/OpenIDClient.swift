import Crypto
import _CryptoExtras
import Foundation
import Synchronization

/// Who a provider says the user is, from a verified id_token.
struct ProviderIdentity: Sendable, Equatable {
    /// `sub`: the provider's stable id for the user.
    var uid: String
    var email: String?
    /// Whether the provider vouches for the address (`email_verified`; Apple sends it as a string).
    var emailVerified: Bool
    /// The verified claims, kept as the connection's `extra_data`.
    var claims: JSON
}

/// Why a provider interaction failed; the handler maps these to HTTP.
enum OpenIDError: Error, Equatable {
    /// The provider could not be reached within the timeout, or answered with something that is
    /// not a discovery document or key set: 503, try later.
    case unavailable(String)
    /// The provider, or our check of its id_token, refused the credential: 401 `invalid_social_token`.
    case rejected(String)
}

/// The OpenID Connect relying party for one configured provider: discovery, key set, id_token
/// verification and the code exchange. Transport-free (HTTP through the injected `HTTPFetcher`).
/// Discovery and keys are cached per worker for their HTTP cache lifetime (`Cache-Control:
/// max-age`) and the keys fetched again once when a token names a `kid` we do not know (the
/// provider rotated). This is the one per-process cache of the service: it holds only what the
/// provider publishes, so workers that disagree for a moment disagree harmlessly.
final class OpenIDClient: Sendable {
    let provider: Config.SocialProvider
    private let fetcher: any HTTPFetcher
    private let cache = Mutex(Cache())
    /// Leeway for `exp`/`iat` against clock differences with the provider.
    static let leeway: Int64 = 60
    /// When a provider sends no `Cache-Control: max-age`.
    static let defaultLifetime: Int64 = 300
    /// A token naming an unknown `kid` refetches the keys at most this often, so garbage tokens
    /// cannot turn every request into a request to the provider.
    static let minimumRefetchInterval: Int64 = 1
    static let maxTokenLength = 16 * 1024

    struct Discovery: Sendable {
        var issuer: String
        var authorizationEndpoint: String?
        var tokenEndpoint: String?
        var jwksURI: String
    }

    private struct Cache {
        var discovery: (value: Discovery, expires: Int64)?
        var keys: (value: [String: any SigningKey], fetched: Int64, expires: Int64)?
    }

    init(provider: Config.SocialProvider, fetcher: any HTTPFetcher) {
        self.provider = provider
        self.fetcher = fetcher
    }

    // MARK: discovery and keys

    func discovery(now: Int64) throws(OpenIDError) -> Discovery {
        if let cached = cache.withLock({ $0.discovery }), cached.expires > now { return cached.value }
        let (document, lifetime) = try fetchJSON(provider.discoveryURL)
        guard let issuer = document["issuer"]?.stringValue, let jwksURI = document["jwks_uri"]?.stringValue else {
            throw .unavailable("the discovery document has no issuer or jwks_uri")
        }
        // OpenID Discovery §4.3: the document must be the issuer's own.
        guard issuer == provider.issuer else { throw .unavailable("the discovery document names issuer \(issuer)") }
        let discovery = Discovery(issuer: issuer, authorizationEndpoint: document["authorization_endpoint"]?.stringValue,
                                  tokenEndpoint: document["token_endpoint"]?.stringValue, jwksURI: jwksURI)
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

    /// Verifies an id_token: signature with a key the provider publishes (RS256 or ES256, the
    /// key's own algorithm), `iss`, `aud`/`azp`, `exp`/`iat` with a small leeway, and `nonce`
    /// when the client sent one.
    func verify(idToken: String, nonce: String?, now: Int64) throws(OpenIDError) -> ProviderIdentity {
        guard let jws = CompactJWS(idToken, maxLength: Self.maxTokenLength), let alg = jws.algorithm else {
            throw .rejected("not a signed JWT")
        }
        // Never "none", never HS256 (which a public key could be abused to forge).
        guard alg == "RS256" || alg == "ES256" else { throw .rejected("algorithm \(alg) is not accepted") }
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
        if let nonce {
            guard let claimed = claims["nonce"]?.stringValue,
                  Array(SHA256.hash(data: Array(claimed.utf8))) == Array(SHA256.hash(data: Array(nonce.utf8)))
            else { throw .rejected("nonce mismatch") }
        }
        guard let uid = claims["sub"]?.stringValue, !uid.isEmpty, uid.utf8.count <= 255 else { throw .rejected("no subject") }
        let email = claims["email"]?.stringValue.flatMap { EmailAddressFormat.isValid($0) ? $0 : nil }
        let verified = claims["email_verified"]?.boolValue ?? (claims["email_verified"]?.stringValue == "true")
        return ProviderIdentity(uid: uid, email: email, emailVerified: verified, claims: claims)
    }

    /// The issuer, with a multi-tenant template filled from the token's own `tid`.
    private func expectedIssuer(_ claims: JSON) -> String? {
        guard provider.issuer.contains("{tenantid}") else { return provider.issuer }
        guard let tenant = claims["tid"]?.stringValue, !tenant.isEmpty, !tenant.contains("/") else { return nil }
        return provider.issuer.replacingOccurrences(of: "{tenantid}", with: tenant)
    }

    // MARK: code flow

    /// Exchanges an authorization code at the token endpoint (with the PKCE verifier when given)
    /// and answers the id_token it returns, not yet verified.
    func exchange(code: String, callbackURL: String, codeVerifier: String?, now: Int64) throws(OpenIDError) -> String {
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
        // 4xx: the provider refused this code (used, expired, wrong verifier); 5xx: it is unwell.
        if response.status >= 500 { throw .unavailable("token endpoint answered \(response.status)") }
        guard response.status == 200, let json = try? JSON.parse(response.body, maxDepth: 16), let idToken = json["id_token"]?.stringValue else {
            throw .rejected("the provider refused the code")
        }
        return idToken
    }
}
