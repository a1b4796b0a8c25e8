import AllauthCore
import Crypto
import _CryptoExtras
import Foundation

/// The keys of a deployment: the one that signs access tokens, every key that may still verify
/// them (after a rotation), and the server-only secret for refresh tokens.
public struct KeySet: Sendable {
    public let accessSigner: any SigningKey
    /// Verification keys by `kid`, the signer's own included.
    public let accessVerifiers: [String: any SigningKey]
    /// The verifiers `rotate-key` retired, by `kid`: each verifies only tokens that expire by its deadline.
    public let retired: [String: RetiredKey]
    public let refreshKey: HS256Key

    /// `extraVerifiers` (`tokens.verification_keys`) verify without a deadline; a `retired` key
    /// whose kid is the signer's or one of those is theirs.
    public init(accessSigner: any SigningKey, extraVerifiers: [any SigningKey], retired: [RetiredKey] = [], refreshKey: HS256Key) {
        self.accessSigner = accessSigner
        var verifiers: [String: any SigningKey] = [accessSigner.kid: accessSigner]
        for key in extraVerifiers where verifiers[key.kid] == nil { verifiers[key.kid] = key }
        var retiredByKid: [String: RetiredKey] = [:]
        for key in retired where verifiers[key.key.kid] == nil {
            // Retired twice (a rotation interrupted and run again): the later deadline.
            if let known = retiredByKid[key.key.kid], known.verifiesUntil >= key.verifiesUntil { continue }
            retiredByKid[key.key.kid] = key
        }
        for (kid, key) in retiredByKid { verifiers[kid] = key.key }
        self.accessVerifiers = verifiers
        self.retired = retiredByKid
        self.refreshKey = refreshKey
    }

    /// Loads the key files named by the configuration, and the retired keys (`RetiredKeys`) that
    /// still verify at `now`.
    /// A file that cannot be read or is no key stops the start naming the configuration key, the
    /// path, and how to get one. `files`: the disk by default, or what the master read (`KeyFiles`).
    public static func load(_ tokens: TokenSettings, now: Int64 = Int64(Date().timeIntervalSince1970), files: KeyFiles = KeyFiles()) throws -> KeySet {
        let signer = try naming("tokens.signing_key") { try loadPrivate(algorithm: tokens.algorithm, path: tokens.signingKey, files: files) }
        let extra = try naming("tokens.verification_keys") {
            try tokens.verificationKeys.map { try loadPublic(algorithm: tokens.algorithm, path: $0, files: files) }
        }
        let retired = try RetiredKeys.load(tokens, now: now, files: files)
        let refresh = HS256Key(secret: try naming("tokens.refresh_secret") { try loadSecret(path: tokens.refreshSecret, files: files) }, label: "refresh")
        return KeySet(accessSigner: signer, extraVerifiers: extra, retired: retired, refreshKey: refresh)
    }

    static func naming<T>(_ key: String, _ load: () throws -> T) throws -> T {
        do {
            return try load()
        } catch SigningKeyError.unreadableKey(let path, let reason) {
            throw SigningKeyError.unreadableKey(path: path, reason: """
                \(reason) (\(key); `jwt-allauth init` writes a new set of keys with a configuration that names them, \
                `make run` a local one)
                """)
        }
    }

    /// The JWKS document at `now`: every public key that still verifies (none for HS256); a
    /// retired key leaves it at its deadline.
    public func jwks(at now: Int64) -> JSON {
        let keys = accessVerifiers.values.filter { (retired[$0.kid]?.verifiesUntil ?? .max) > now }
            .sorted { $0.kid < $1.kid }.compactMap(\.publicJWK)
        return .object([("keys", .array(keys))])
    }

    static func loadPrivate(algorithm: TokenAlgorithm, path: String, files: KeyFiles = KeyFiles()) throws -> any SigningKey {
        try loadSigningPair(algorithm: algorithm, path: path, files: files).key
    }

    /// The signing key in `path` and, as text, what verifies its tokens: its public key in PEM
    /// form, or the secret itself for HS256 (what `rotate-key` keeps of a key it retires).
    static func loadSigningPair(algorithm: TokenAlgorithm, path: String, files: KeyFiles = KeyFiles()) throws -> (key: any SigningKey, verifier: String) {
        if algorithm == .hs256 {
            let secret = try loadSecret(path: path, files: files)
            return (HS256Key(secret: secret, label: "hs"), Data(secret).base64EncodedString() + "\n")
        }
        let pem = try read(path, files)
        do {
            switch algorithm {
            case .rs256:
                let key = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
                guard key.keySizeInBits >= 2048 else { throw SigningKeyError.unreadableKey(path: path, reason: "RSA keys must have at least 2048 bits") }
                return (try RS256Key(privateKey: key), key.publicKey.pemRepresentation)
            case .es256:
                let key = try P256.Signing.PrivateKey(pemRepresentation: pem)
                return (ES256Key(privateKey: key), key.publicKey.pemRepresentation)
            case .edDSA:
                let key = try Curve25519.Signing.PrivateKey(pemRepresentation: pem)
                return (EdDSAKey(privateKey: key), key.publicKey.pemRepresentation)
            case .hs256: fatalError("handled above")
            }
        } catch let error as SigningKeyError {
            throw error
        } catch {
            throw SigningKeyError.unreadableKey(path: path, reason: "not a \(algorithm.rawValue) private key in PEM form")
        }
    }

    static func loadPublic(algorithm: TokenAlgorithm, path: String, files: KeyFiles = KeyFiles()) throws -> any SigningKey {
        if algorithm == .hs256 { return HS256Key(secret: try loadSecret(path: path, files: files), label: "hs") }
        let pem = try read(path, files)
        do {
            switch algorithm {
            case .rs256: return try RS256Key(publicKey: _RSA.Signing.PublicKey(pemRepresentation: pem))
            case .es256: return ES256Key(publicKey: try P256.Signing.PublicKey(pemRepresentation: pem))
            case .edDSA: return EdDSAKey(publicKey: try Curve25519.Signing.PublicKey(pemRepresentation: pem))
            case .hs256: fatalError("handled above")
            }
        } catch {
            throw SigningKeyError.unreadableKey(path: path, reason: "not a \(algorithm.rawValue) public key in PEM form")
        }
    }

    /// A secret file holds base64 text of at least 32 random bytes.
    static func loadSecret(path: String, files: KeyFiles = KeyFiles()) throws -> [UInt8] {
        let text = try read(path, files).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: text), bytes.count >= 32 else {
            throw SigningKeyError.unreadableKey(path: path, reason: "expected base64 of at least 32 random bytes")
        }
        return Array(bytes)
    }

    private static func read(_ path: String, _ files: KeyFiles) throws -> String {
        guard let text = files.text(path) else { throw SigningKeyError.unreadableKey(path: path, reason: "cannot read the file") }
        return text
    }

    // MARK: generation (used by `init`)

    /// A new private key in PEM form (or base64 secret for HS256) and, for asymmetric algorithms, its public PEM.
    public static func generate(_ algorithm: TokenAlgorithm) throws -> (privatePEM: String, publicPEM: String?) {
        switch algorithm {
        case .rs256:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits4096)
            return (key.pkcs8PEMRepresentation, key.publicKey.pemRepresentation)
        case .es256:
            let key = P256.Signing.PrivateKey()
            return (key.pemRepresentation, key.publicKey.pemRepresentation)
        case .edDSA:
            let key = Curve25519.Signing.PrivateKey()
            return (key.pemRepresentation, key.publicKey.pemRepresentation)
        case .hs256:
            return (generateSecret(), nil)
        }
    }

    public static func generateSecret() -> String {
        Data(SymmetricKey(size: SymmetricKeySize(bitCount: 512)).withUnsafeBytes { Array($0) }).base64EncodedString() + "\n"
    }
}
