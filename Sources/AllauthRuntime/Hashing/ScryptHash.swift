import Crypto
import _CryptoExtras

/// Django's `scrypt` hasher: `scrypt$<N>$<salt>$<r>$<p>$<base64 of 64 bytes>` (Django's defaults
/// N=2^14, r=8, p=5).
///
/// Computed with swift-crypto's `KDF.Scrypt` (_CryptoExtras, BoringSSL's `EVP_PBE_scrypt`), which
/// the service already links for PBKDF2: no further C library. Its memory bound is the one the
/// caps below allow.
package struct ScryptHash: DjangoPasswordHash {
    package static let algorithms = ["scrypt"]

    /// The most work one check may do (N·r·p): 2^23, nearly 13 times Django's default; about 3 s of a core in a release build.
    static let maximumWork = 8_388_608
    static let digestLengths = 16...128

    package let algorithm = "scrypt"
    let workFactor: Int
    let blockSize: Int
    let parallelism: Int
    let salt: Substring
    let digest: [UInt8]

    init(_ encoded: String) throws(UncheckableHash) {
        let fields = DjangoPasswordHashes.fields(encoded)
        guard fields.count == 6, !fields[2].isEmpty,
              let n = DjangoPasswordHashes.number(fields[1], upTo: Int(UInt32.max)), n >= 2, n & (n - 1) == 0,
              let r = DjangoPasswordHashes.number(fields[3], upTo: Int(UInt32.max)), r >= 1,
              let p = DjangoPasswordHashes.number(fields[4], upTo: Int(UInt32.max)), p >= 1,
              let digest = DjangoPasswordHashes.base64(fields[5]), Self.digestLengths.contains(digest.count)
        else { throw .malformed(hasher: algorithm) }
        // Each factor is below 2^32 and the memory is checked by division first: no product overflows.
        // scrypt's memory is 128·r·N bytes for its table and 128·r·p for its p blocks: a large p
        // with a small N asks for as much. Python's hashlib.scrypt, with Django's `maxmem = 0`,
        // refuses more than 32 MiB itself.
        guard n + p <= DjangoPasswordHashes.maximumMemory / 128 / r else {
            throw .beyondCaps(hasher: algorithm, reason: "N=\(n), r=\(r), p=\(p): over \(DjangoPasswordHashes.maximumMemory) bytes (128·r·(N+p))")
        }
        guard n * r * p <= Self.maximumWork else {
            throw .beyondCaps(hasher: algorithm, reason: "N·r·p=\(n * r * p), at most \(Self.maximumWork)")
        }
        (workFactor, blockSize, parallelism, salt, self.digest) = (n, r, p, fields[2], digest)
    }

    package var cost: Int { Int((Double(workFactor * blockSize * parallelism) * HashCosts.pbkdf2RoundsPerScryptUnit).rounded(.up)) }

    package func matches(_ password: String) -> Bool {
        guard let key = try? KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: Array(salt.utf8), outputByteCount: digest.count,
            rounds: workFactor, blockSize: blockSize, parallelism: parallelism)
        else { return false }
        return key.withUnsafeBytes { constantTimeEquals(Array($0), digest) }
    }
}
