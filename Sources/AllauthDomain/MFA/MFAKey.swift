import Crypto
import Foundation

/// The key that seals TOTP secrets at rest (`mfa.secret_key`, its own file: never the JWT key, so
/// a leaked signing key opens no authenticator and the two can be rotated apart). AES-GCM from
/// swift-crypto; the user id is bound as associated data, so a sealed secret copied onto another
/// account's row does not open.
public struct MFAKey: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    public enum KeyError: Error, CustomStringConvertible {
        case unreadable(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path):
                return "mfa.secret_key: \(path) must hold base64 of 32 random bytes (jwt-allauth init writes one)"
            }
        }
    }

    /// Reads the key file written by `generateFile`.
    public static func load(path: String, files: KeyFiles = KeyFiles()) throws -> MFAKey {
        guard let text = files.text(path),
              let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32
        else { throw KeyError.unreadable(path: path) }
        return MFAKey(key: SymmetricKey(data: bytes))
    }

    /// The configured key, or nil while the MFA mode is disabled (then no key file is needed).
    public static func load(_ mfa: MFASettings, files: KeyFiles = KeyFiles()) throws -> MFAKey? {
        mfa.mode == .disabled ? nil : try load(path: mfa.secretKey, files: files)
    }

    /// The file contents of a new key: 32 random bytes, base64.
    public static func generate() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
    }

    func seal(_ secret: [UInt8], userID: Int64) throws -> [UInt8] {
        Array(try AES.GCM.seal(secret, using: key, authenticating: Self.binding(userID)).combined!)
    }

    func open(_ sealed: [UInt8], userID: Int64) throws -> [UInt8] {
        Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key, authenticating: Self.binding(userID)))
    }

    /// Recovery codes are only 8 digits: a plain hash of one is brute-forced in seconds from a
    /// copy of the database. Keyed with a key derived from this one, the copy alone is useless.
    func recoveryCodeDigest(_ code: String) -> String {
        let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array("jwt-allauth recovery codes".utf8), outputByteCount: 32)
        return HMAC<SHA256>.authenticationCode(for: Array(code.utf8), using: derived).map { String(format: "%02x", $0) }.joined()
    }

    private static func binding(_ userID: Int64) -> [UInt8] { Array("jwt-allauth totp user \(userID)".utf8) }
}
