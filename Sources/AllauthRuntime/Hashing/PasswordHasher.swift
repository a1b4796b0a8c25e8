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

    /// Only through `BudgetedHasher` (or `offline`), which hashes in a slot with the turn handed over.
    func hash(_ password: String) -> String {
        let salt = Self.randomSalt()
        return "pbkdf2_sha256$\(iterations)$\(salt)$\(Self.derive(password, salt: salt, iterations: iterations))"
    }

    /// An unusable password that still looks like a hash (invited or social-only accounts).
    /// A hash for the command line, which is no request thread and holds no slot of a pool.
    public func offline(_ password: String) -> String { hash(password) }

    public static func unusable() -> String { unusablePrefix + randomSalt() + randomSalt() }

    public enum Verdict: Equatable {
        case mismatch
        case match
        /// Correct, but hashed with another round count than configured (fewer or more): store
        /// `hash(password)` again, as Django's `must_update` does.
        case matchNeedsRehash
    }

    /// Checks `password` against `encoded`. A failure costs at least `failureCost` rounds (and never
    /// fewer than configured): pass the highest round count stored (`StoredRoundsCeiling`), so that
    /// a wrong password on an account whose hash is cheaper or dearer than the others, and an
    /// unknown address (`verifyNothing` with the same cost), all take the same time.
    func verify(_ password: String, against encoded: String, failureCost: Int = 0) -> Verdict {
        let cost = max(iterations, failureCost)
        guard let rounds = Self.rounds(of: encoded) else {
            // Unusable or foreign hashes cost what a real check costs, so they don't stand out.
            burn(password, rounds: cost)
            return .mismatch
        }
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        let computed = Self.derive(password, salt: String(parts[2]), iterations: rounds)
        guard constantTimeEquals(Array(computed.utf8), Array(parts[3].utf8)) else {
            // A hash with fewer rounds (an old import) is padded to the cost of the dearest one:
            // the difference would tell which accounts exist and which have not logged in since.
            burn(password, rounds: cost - rounds)
            return .mismatch
        }
        return rounds == iterations ? .match : .matchNeedsRehash
    }

    /// Burns the time of one failed verification (`verify`'s `failureCost`, at least the configured
    /// rounds); used when the account does not exist.
    func verifyNothing(_ password: String, failureCost: Int = 0) {
        burn(password, rounds: max(iterations, failureCost))
    }

    /// The round count of a `pbkdf2_sha256` hash this hasher checks; nil for anything else
    /// (unusable, foreign, or beyond `maximumRounds`), which never matches.
    public static func rounds(of encoded: String) -> Int? {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "pbkdf2_sha256", let rounds = Int(parts[1]), rounds > 0, rounds <= maximumRounds else {
            return nil
        }
        return rounds
    }

    /// The most rounds a stored hash may have and still be checked (about 20 s of a core).
    public static let maximumRounds = 100_000_000

    private func burn(_ password: String, rounds: Int) {
        if rounds > 0 { _ = Self.derive(password, salt: "timing-equaliser", iterations: rounds) }
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
