import AllauthCore
import Crypto
import _CryptoExtras
import Foundation

/// One JWS algorithm bound to one key: the shape of jwt-kit's `JWTAlgorithm`. A key that can only
/// verify (a retired public key) throws on `sign`.
public protocol SigningKey: Sendable {
    /// The JWS `alg` this key is pinned to; a token naming another `alg` is never verified with it.
    var algorithm: String { get }
    /// Key id, published in the JWKS and written in every token header.
    var kid: String { get }
    func sign(_ message: [UInt8]) throws -> [UInt8]
    func verify(_ signature: [UInt8], for message: [UInt8]) -> Bool
    /// The public JWK, or nil for a secret (HMAC) key, which is never published.
    var publicJWK: JSON? { get }
}

public enum SigningKeyError: Error, CustomStringConvertible {
    case cannotSign(kid: String)
    case unreadableKey(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotSign(let kid): return "key \(kid) has no private part"
        case .unreadableKey(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// RFC 7638 thumbprint of the required JWK members, used as `kid` so that a key's id follows from
/// the key itself and never collides across rotations.
func jwkThumbprint(_ members: [(String, JSON)]) -> String {
    let canonical = JSON.object(members.sorted { $0.0 < $1.0 }).encoded()
    return Base64URL.encode(Array(SHA256.hash(data: canonical)))
}

/// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
public struct RS256Key: SigningKey {
    public let algorithm = "RS256"
    public let kid: String
    private let privateKey: _RSA.Signing.PrivateKey?
    private let publicKey: _RSA.Signing.PublicKey
    public let publicJWK: JSON?

    public init(privateKey: _RSA.Signing.PrivateKey) throws {
        self.privateKey = privateKey
        (self.publicKey, self.kid, self.publicJWK) = try Self.describe(privateKey.publicKey)
    }

    public init(publicKey: _RSA.Signing.PublicKey) throws {
        self.privateKey = nil
        (self.publicKey, self.kid, self.publicJWK) = try Self.describe(publicKey)
    }

    private static func describe(_ key: _RSA.Signing.PublicKey) throws -> (_RSA.Signing.PublicKey, String, JSON) {
        let primitives = try key.getKeyPrimitives()
        let members: [(String, JSON)] = [
            ("e", .string(Base64URL.encode(primitives.publicExponent))),
            ("kty", "RSA"),
            ("n", .string(Base64URL.encode(primitives.modulus))),
        ]
        let kid = jwkThumbprint(members)
        return (key, kid, .object([("kty", "RSA"), ("kid", .string(kid)), ("use", "sig"), ("alg", "RS256")] + members.filter { $0.0 != "kty" }))
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let privateKey else { throw SigningKeyError.cannotSign(kid: kid) }
        return Array(try privateKey.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
    }

    public func verify(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
    }
}

/// ES256: ECDSA on P-256 with SHA-256, signatures in the JWS raw r‖s form.
public struct ES256Key: SigningKey {
    public let algorithm = "ES256"
    public let kid: String
    private let privateKey: P256.Signing.PrivateKey?
    private let publicKey: P256.Signing.PublicKey
    public let publicJWK: JSON?

    public init(privateKey: P256.Signing.PrivateKey) {
        self.privateKey = privateKey
        (self.publicKey, self.kid, self.publicJWK) = Self.describe(privateKey.publicKey)
    }

    public init(publicKey: P256.Signing.PublicKey) {
        self.privateKey = nil
        (self.publicKey, self.kid, self.publicJWK) = Self.describe(publicKey)
    }

    private static func describe(_ key: P256.Signing.PublicKey) -> (P256.Signing.PublicKey, String, JSON) {
        let raw = Array(key.rawRepresentation)  // x ‖ y
        let members: [(String, JSON)] = [
            ("crv", "P-256"),
            ("kty", "EC"),
            ("x", .string(Base64URL.encode(raw[0..<32]))),
            ("y", .string(Base64URL.encode(raw[32..<64]))),
        ]
        let kid = jwkThumbprint(members)
        return (key, kid, .object([("kty", "EC"), ("kid", .string(kid)), ("use", "sig"), ("alg", "ES256")] + members.filter { $0.0 != "kty" }))
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let privateKey else { throw SigningKeyError.cannotSign(kid: kid) }
        return Array(try privateKey.signature(for: Self.digest(message)).rawRepresentation)
    }

    public func verify(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64, let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return publicKey.isValidSignature(parsed, for: Self.digest(message))
    }

    /// SHA-256 of the contiguous bytes: what `signature(for:)` hashes, without the generic
    /// `DataProtocol` walk it takes to get there (2–3% of a rotation, bench/callgrind.sh).
    private static func digest(_ message: [UInt8]) -> SHA256.Digest {
        var hasher = SHA256()
        message.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }
}

/// EdDSA with Ed25519 (RFC 8037).
public struct EdDSAKey: SigningKey {
    public let algorithm = "EdDSA"
    public let kid: String
    private let privateKey: Curve25519.Signing.PrivateKey?
    private let publicKey: Curve25519.Signing.PublicKey
    public let publicJWK: JSON?

    public init(privateKey: Curve25519.Signing.PrivateKey) {
        self.privateKey = privateKey
        (self.publicKey, self.kid, self.publicJWK) = Self.describe(privateKey.publicKey)
    }

    public init(publicKey: Curve25519.Signing.PublicKey) {
        self.privateKey = nil
        (self.publicKey, self.kid, self.publicJWK) = Self.describe(publicKey)
    }

    private static func describe(_ key: Curve25519.Signing.PublicKey) -> (Curve25519.Signing.PublicKey, String, JSON) {
        let members: [(String, JSON)] = [("crv", "Ed25519"), ("kty", "OKP"), ("x", .string(Base64URL.encode(key.rawRepresentation)))]
        let kid = jwkThumbprint(members)
        return (key, kid, .object([("kty", "OKP"), ("kid", .string(kid)), ("use", "sig"), ("alg", "EdDSA")] + members.filter { $0.0 != "kty" }))
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let privateKey else { throw SigningKeyError.cannotSign(kid: kid) }
        return Array(try privateKey.signature(for: message))
    }

    public func verify(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        publicKey.isValidSignature(signature, for: message)
    }
}

/// HS256: HMAC-SHA256 with a server-only secret. Never published in the JWKS.
public struct HS256Key: SigningKey {
    public let algorithm = "HS256"
    public let kid: String
    /// HMAC with the key already absorbed (its inner and outer pads hashed), copied for each
    /// token: keying it anew was half the cost of an HMAC of a refresh token (bench/callgrind.sh).
    private let keyed: HMAC<SHA256>
    public var publicJWK: JSON? { nil }

    /// - Parameter label: distinguishes the ids of secrets with different roles (access vs refresh).
    public init(secret: [UInt8], label: String) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: secret))
        // An id that identifies the secret without revealing anything usable about it.
        var digest = keyed
        digest.update(data: Array("kid".utf8))
        self.kid = label + "-" + String(Base64URL.encode(Array(digest.finalize())).prefix(16))
    }

    private func mac(_ message: [UInt8]) -> HMAC<SHA256>.MAC {
        var mac = keyed
        mac.update(data: message)
        return mac.finalize()
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        Array(mac(message))
    }

    public func verify(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        // Constant time: CryptoKit compares MACs without early exit.
        mac(message) == signature
    }
}
