import Crypto
import _CryptoExtras
import Foundation

/// Hashes and checks passwords in Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`
/// format, so a Django user table can be imported with its passwords.
public struct PasswordHasher: Sendable {
    public var iterations: Int
    /// Django marks accounts without a usable password with a leading "!".
    public static let unusablePrefix = "!"

    public init(iterations: Int) {
        self.iterations = iterations
    }

    public func hash(_ password: String) -> String {
        let salt = Self.randomSalt()
        return "pbkdf2_sha256$\(iterations)$\(salt)$\(Self.derive(password, salt: salt, iterations: iterations))"
    }

    /// An unusable password that still looks like a hash (invited or social-only accounts).
    public static func unusable() -> String { unusablePrefix + randomSalt() + randomSalt() }

    public enum Verdict: Equatable {
        case mismatch
        case match
        /// Correct, but hashed with fewer iterations than configured: store `hash(password)` again.
        case matchNeedsRehash
    }

    public func verify(_ password: String, against encoded: String) -> Verdict {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "pbkdf2_sha256", let rounds = Int(parts[1]), rounds > 0, rounds <= 100_000_000 else {
            // Spend the same time as a real check, so unusable or foreign hashes don't stand out.
            _ = Self.derive(password, salt: "timing-equaliser", iterations: iterations)
            return .mismatch
        }
        let computed = Self.derive(password, salt: String(parts[2]), iterations: rounds)
        guard constantTimeEquals(Array(computed.utf8), Array(parts[3].utf8)) else {
            // An imported hash with fewer rounds must not fail faster than a current one (or an
            // unknown address): the difference would tell which accounts are old imports that
            // have not logged in since. Pad the failure to the configured cost.
            if rounds < iterations { _ = Self.derive(password, salt: "timing-equaliser", iterations: iterations - rounds) }
            return .mismatch
        }
        return rounds < iterations ? .matchNeedsRehash : .match
    }

    /// Burns the time of one verification; used when the account does not exist.
    public func verifyNothing(_ password: String) {
        _ = Self.derive(password, salt: "timing-equaliser", iterations: iterations)
    }

    static func derive(_ password: String, salt: String, iterations: Int) -> String {
        // The checked API refuses fewer than 210,000 rounds; imported Django hashes may have fewer.
        let key = try! KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: Array(salt.utf8), using: .sha256,
            outputByteCount: 32, unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    private static let saltAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    /// 22 characters from [a-zA-Z0-9] (~128 bits), as Django makes them.
    static func randomSalt() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<22).map { _ in saltAlphabet[Int(generator.next(upperBound: UInt64(saltAlphabet.count)))] })
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<a.count { difference |= a[index] ^ b[index] }
    return difference == 0
}
