import CXCrypt
import Crypto
import Foundation

/// Django's `bcrypt_sha256` (`bcrypt_sha256$$2b$12$<22 salt><31 hash>`: bcrypt of the hex digest of
/// the password's SHA-256, so long passwords are not cut at bcrypt's 72 bytes) and `bcrypt` (of
/// the password itself, of which bcrypt reads the first 72 bytes).
///
/// Checked with libxcrypt's `crypt_rn` (Debian libcrypt-dev; its runtime, libcrypt1, is part of
/// every Debian system): a kept C bcrypt (Openwall's crypt_blowfish) that reads `$2a$`, `$2b$` and
/// `$2y$`. swift-crypto has no bcrypt, and Blowfish's key schedule is not something to write by
/// hand; `crypt_rn` is the re-entrant call that takes its work area from the caller (no static
/// buffer, no lock) and returns NULL rather than a failure token.
package struct BCryptHash: DjangoPasswordHash {
    package static let algorithms = ["bcrypt_sha256", "bcrypt"]

    /// The highest work factor checked: 2^16 rounds, 16 times Django's default (12); 3.3 s of a core where measured.
    static let maximumWorkFactor = 16
    /// bcrypt's own lower bound.
    static let minimumWorkFactor = 4
    private static let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    package let algorithm: String
    /// `$2b$12$…`: the setting and the hash `crypt` writes, compared whole.
    let crypted: String
    let workFactor: Int

    init(_ encoded: String) throws(UncheckableHash) {
        // bcrypt_sha256 $ $ 2b $ 12 $ <53 characters>
        let fields = DjangoPasswordHashes.fields(encoded)
        algorithm = String(fields[0])
        guard fields.count == 5, fields[1].isEmpty, ["2a", "2b", "2y"].contains(fields[2]), fields[3].count == 2,
              let workFactor = DjangoPasswordHashes.number(fields[3], upTo: 99), workFactor >= Self.minimumWorkFactor,
              fields[4].utf8.count == 53, fields[4].utf8.allSatisfy(Self.alphabet.contains)
        else { throw .malformed(hasher: algorithm) }
        guard workFactor <= Self.maximumWorkFactor else {
            throw .beyondCaps(hasher: algorithm, reason: "work factor \(workFactor), at most \(Self.maximumWorkFactor)")
        }
        self.workFactor = workFactor
        crypted = String(encoded.dropFirst(algorithm.utf8.count + 1))
    }

    package var cost: Int { Int((Double(1 << workFactor) * HashCosts.pbkdf2RoundsPerBCryptRound).rounded(.up)) }

    package func matches(_ password: String) -> Bool {
        var phrase = Array(password.utf8)
        if algorithm == "bcrypt_sha256" {
            phrase = Array(SHA256.hash(data: phrase).map { String(format: "%02x", $0) }.joined().utf8)
        } else {
            // bcrypt reads 72 bytes; a C string ends at the first NUL, which would cut the password
            // shorter than it was hashed (the Python bcrypt refuses such passwords).
            guard !phrase.contains(0) else { return false }
            phrase = Array(phrase.prefix(72))
        }
        let size = MemoryLayout<crypt_data>.size
        let area = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        defer { area.deallocate() }
        area.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        phrase.append(0)
        let computed = phrase.withUnsafeBufferPointer { phrase in
            crypt_rn(UnsafeRawPointer(phrase.baseAddress!).assumingMemoryBound(to: CChar.self), crypted, area, Int32(size))
                .map { Array(String(cString: $0).utf8) }
        }
        return computed.map { constantTimeEquals($0, Array(crypted.utf8)) } ?? false
    }
}
