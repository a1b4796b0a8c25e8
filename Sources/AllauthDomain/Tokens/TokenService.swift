import AllauthCore
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a token was refused, with the reference's wording.
public enum TokenError: Error, Equatable, Sendable {
    case invalid
    /// Signature good but past `exp`; the claims are kept so a session deadline can be told apart.
    case expired(TokenClaims?)
    case wrongType
    case noType
    case noID
    /// Verified, but no `user_id`/`session` claim (e.g. some other kind of token).
    case noUserIdentification

    public var message: String {
        switch self {
        case .invalid: return "Token is invalid"
        case .expired: return "Token is expired"
        case .wrongType: return "Token has wrong type"
        case .noType: return "Token has no type"
        case .noID: return "Token has no id"
        case .noUserIdentification: return "Token contained no recognizable user identification"
        }
    }
}

/// Mints and verifies access and refresh JWTs. Access tokens carry the configured (normally
/// asymmetric) signature; refresh tokens an HMAC with a server-only secret, since only this
/// service ever verifies them — so a rotation costs exactly one asymmetric signature.
public final class TokenService: Sendable {
    public let keys: KeySet
    /// Each key's header segment (base64url of `{"alg","typ","kid"}`), by `kid`.
    private let encodedHeaders: [String: [UInt8]]
    /// The headers `mint` writes, recognised in tokens without decoding them.
    private let knownHeaders: [CompactJWS.KnownHeader]
    private let verifiedAccessTokens: BoundedMemo<VerifiedToken, TokenClaims>
    /// Tokens longer than this are not even parsed.
    static let maxTokenLength = 8192

    public init(keys: KeySet, cacheLimit: Int = 4096) {
        self.keys = keys
        self.verifiedAccessTokens = BoundedMemo(limit: cacheLimit)
        var headers: [String: [UInt8]] = [:]
        var known: [CompactJWS.KnownHeader] = []
        for key in Array(keys.accessVerifiers.values) + [keys.refreshKey as any SigningKey] {
            let header = JSON.object([("alg", .string(key.algorithm)), ("typ", "JWT"), ("kid", .string(key.kid))])
            headers[key.kid] = Array(Base64URL.encode(header.encoded()).utf8)
            known.append(CompactJWS.KnownHeader(segment: headers[key.kid]!, header: header))
        }
        self.encodedHeaders = headers
        self.knownHeaders = known
    }

    public func mint(_ claims: TokenClaims) throws -> String {
        let key: any SigningKey = claims.tokenType == .access ? keys.accessSigner : keys.refreshKey
        // Written into one buffer: concatenating Strings and copying the signing input out of
        // one was 1% of a rotation (bench/callgrind.sh).
        var token = encodedHeaders[key.kid]!
        token.reserveCapacity(token.count + 512)
        token.append(UInt8(ascii: "."))
        Base64URL.append(claims.json.encoded(), to: &token)
        let signature = try key.sign(token)
        token.append(UInt8(ascii: "."))
        Base64URL.append(signature, to: &token)
        return String(decoding: token, as: UTF8.self)
    }

    /// Verifies signature (with the key named by `kid`, pinned to its algorithm), type and time claims.
    public func verify(_ token: String, expecting type: TokenClaims.TokenType, now: Int64) -> Result<TokenClaims, TokenError> {
        if type == .access, let cached = verifiedAccessTokens[VerifiedToken(token)] {
            // A signature that verified once verifies forever under the same keys; time still moves.
            return cached.exp > now ? .success(cached) : .failure(.expired(cached))
        }
        let result = verifyUncached(token, expecting: type, now: now)
        if type == .access, case .success(let claims) = result {
            verifiedAccessTokens.remember(claims, for: VerifiedToken(token))
        }
        return result
    }

    private func verifyUncached(_ token: String, expecting type: TokenClaims.TokenType, now: Int64) -> Result<TokenClaims, TokenError> {
        guard let jws = CompactJWS(token, maxLength: Self.maxTokenLength, knownHeaders: knownHeaders),
              let alg = jws.algorithm,
              let kid = jws.kid,
              let key = kid == keys.refreshKey.kid ? keys.refreshKey : keys.accessVerifiers[kid],
              // The key decides the algorithm, never the token: this refuses alg "none" and
              // HS256 forged with a public key.
              alg == key.algorithm,
              key.verify(jws.signature, for: jws.signingInput),
              let payload = jws.payload()
        else { return .failure(.invalid) }

        guard let typeName = payload["token_type"]?.stringValue else { return .failure(.noType) }
        guard typeName == type.rawValue else { return .failure(.wrongType) }
        // The key that signed must be the one for this type: a refresh secret never signs access tokens.
        guard (type == .refresh) == (key.kid == keys.refreshKey.kid) else { return .failure(.invalid) }
        guard let exp = payload["exp"]?.int64Value else { return .failure(.invalid) }
        // A retired key verifies only what it can have signed: tokens that expire by its deadline.
        // So at the deadline it verifies nothing, without a reload, and a verified token in the
        // cache below never outlives it.
        if let deadline = keys.retired[kid]?.verifiesUntil, exp > deadline { return .failure(.invalid) }
        guard payload["jti"]?.stringValue != nil else { return .failure(.noID) }
        if let notBefore = payload["nbf"]?.int64Value, notBefore > now { return .failure(.invalid) }
        // Issued in the future (beyond clock skew): not yet valid.
        if let issuedAt = payload["iat"]?.int64Value, issuedAt > now + 30 { return .failure(.invalid) }
        let claims = TokenClaims(json: payload)
        if exp <= now { return .failure(.expired(claims)) }
        guard let claims else { return .failure(.noUserIdentification) }
        return .success(claims)
    }

    /// A token as the key of the verified-token cache: hashed by its last 32 bytes, compared whole.
    /// The end of a signature is as unpredictable as the whole token, and hashing all of a ~500-byte
    /// token was 6% of a verify/ request (bench/callgrind.sh). Only verified tokens are stored, so
    /// no one can fill a bucket with keys of their choosing.
    private struct VerifiedToken: Hashable {
        let token: String

        init(_ token: String) { self.token = token }

        func hash(into hasher: inout Hasher) {
            var token = token
            token.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: $0.suffix(32)))) }
        }
    }

    /// A random 32-hex-digit identifier (jti, session), from the system CSPRNG.
    /// Hex digits by hand: `String(format:)` goes through Foundation's formatter, and every
    /// rotation makes two of these. The 16 bytes come from one `arc4random_buf` (glibc: one
    /// `getrandom` call); `SystemRandomNumberGenerator` makes one call per 8 bytes.
    public static func newIdentifier() -> String {
        var bytes: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bytes) { arc4random_buf($0.baseAddress!, $0.count) }
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(32)
        for word in [bytes.0, bytes.1] {
            for shift in stride(from: 60, through: 0, by: -4) { hex.append(digits[Int(word >> UInt64(shift) & 0xF)]) }
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
