import Crypto
import _CryptoExtras
import Foundation

/// Django's `pbkdf2_sha256` (the hasher this service writes, `PasswordHasher`) and `pbkdf2_sha1`:
/// `<name>$<iterations>$<salt>$<base64 of the digest>`, the digest as long as the hash function's.
/// swift-crypto's PBKDF2 (BoringSSL) computes both.
package struct PBKDF2Hash: DjangoPasswordHash {
    package static let algorithms = ["pbkdf2_sha256", "pbkdf2_sha1"]

    package let algorithm: String
    package let rounds: Int
    let salt: Substring
    let digest: Substring

    /// The configured format's hash (`PasswordHasher.hash`), whose round count the hasher compares.
    var isSHA256: Bool { algorithm == "pbkdf2_sha256" }
    private var function: KDF.Insecure.PBKDF2.HashFunction { isSHA256 ? .sha256 : .insecureSHA1 }
    private var digestBytes: Int { isSHA256 ? 32 : 20 }

    init(_ encoded: String) throws(UncheckableHash) {
        let fields = DjangoPasswordHashes.fields(encoded)
        guard fields.count == 4, Self.algorithms.contains(String(fields[0])) else { throw .malformed(hasher: String(fields[0])) }
        algorithm = String(fields[0])
        guard let rounds = DjangoPasswordHashes.number(fields[1], upTo: Int.max), rounds > 0 else { throw .malformed(hasher: algorithm) }
        guard rounds <= PasswordHasher.maximumRounds else {
            throw .beyondCaps(hasher: algorithm, reason: "\(rounds) iterations, at most \(PasswordHasher.maximumRounds)")
        }
        self.rounds = rounds
        salt = fields[2]
        digest = fields[3]
        guard !salt.isEmpty, DjangoPasswordHashes.base64(digest)?.count == digestBytes else { throw .malformed(hasher: algorithm) }
    }

    /// SHA-1's compression is cheaper than SHA-256's; counting it as one SHA-256 round keeps the
    /// estimate on the high side.
    package var cost: Int { rounds }

    package func matches(_ password: String) -> Bool {
        let computed = Self.derive(password, salt: salt, rounds: rounds, function: function, bytes: digestBytes)
        return constantTimeEquals(Array(computed.utf8), Array(digest.utf8))
    }

    /// The base64 digest, as Django writes it.
    static func derive(_ password: String, salt: Substring, rounds: Int, function: KDF.Insecure.PBKDF2.HashFunction = .sha256,
                       bytes: Int = 32) -> String {
        // The checked API refuses fewer than 210,000 rounds; imported Django hashes may have fewer.
        let key = try! KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: Array(salt.utf8), using: function,
            outputByteCount: bytes, unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Data($0).base64EncodedString() }
    }
}
