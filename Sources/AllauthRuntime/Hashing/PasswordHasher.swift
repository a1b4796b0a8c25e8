import Foundation

/// Hashes passwords in Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` format, and
/// checks them in that one and the other formats of Django's hashers (`DjangoPasswordHashes`),
/// so a Django user table can be imported with its passwords.
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
        return "pbkdf2_sha256$\(iterations)$\(salt)$\(PBKDF2Hash.derive(password, salt: Substring(salt), rounds: iterations))"
    }

    /// An unusable password that still looks like a hash (invited or social-only accounts).
    /// A hash for the command line, which is no request thread and holds no slot of a pool.
    public func offline(_ password: String) -> String { hash(password) }

    public static func unusable() -> String { unusablePrefix + randomSalt() + randomSalt() }

    public enum Verdict: Equatable {
        case mismatch
        case match
        /// Correct, but hashed with another round count than configured (fewer or more), or by
        /// another of Django's hashers: store `hash(password)` again, as Django's `must_update` does.
        case matchNeedsRehash
    }

    /// Checks `password` against `encoded`, a hash in any of the formats `DjangoPasswordHashes`
    /// decodes. A failure costs at least `failureCost` rounds (and never fewer than configured):
    /// pass the dearest stored hash's cost (`StoredRoundsCeiling`), so that a wrong password on an
    /// account whose hash is cheaper or dearer than the others, or in another format, and an
    /// unknown address (`verifyNothing` with the same cost), all take the same time.
    func verify(_ password: String, against encoded: String, failureCost: Int = 0) -> Verdict {
        let cost = max(iterations, failureCost)
        guard let stored = try? DjangoPasswordHashes.decode(encoded) else {
            // Unusable, unknown or malformed hashes cost what a real check costs, so they don't stand out.
            burn(password, rounds: cost)
            return .mismatch
        }
        if let pbkdf2 = stored as? PBKDF2Hash, pbkdf2.isSHA256 {
            guard pbkdf2.matches(password) else {
                // A hash with fewer rounds (an old import) is padded to the cost of the dearest one:
                // the difference would tell which accounts exist and which have not logged in since.
                burn(password, rounds: cost - pbkdf2.rounds)
                return .mismatch
            }
            return pbkdf2.rounds == iterations ? .match : .matchNeedsRehash
        }
        // Another hasher (an import): right, it is replaced by the configured one, as Django does
        // when the preferred hasher changed; wrong, it is padded to the same cost in time.
        let started = ContinuousClock.now
        guard stored.matches(password) else {
            pad(password, after: started.duration(to: .now), upTo: cost)
            return .mismatch
        }
        return .matchNeedsRehash
    }

    /// Burns the time of one failed verification (`verify`'s `failureCost`, at least the configured
    /// rounds); used when the account does not exist.
    func verifyNothing(_ password: String, failureCost: Int = 0) {
        burn(password, rounds: max(iterations, failureCost))
    }

    /// The round count of a `pbkdf2_sha256` hash this hasher checks; nil for anything else
    /// (unusable, another format, malformed, or beyond `maximumRounds`).
    public static func rounds(of encoded: String) -> Int? {
        guard let stored = (try? DjangoPasswordHashes.decode(encoded)) as? PBKDF2Hash, stored.isSHA256 else { return nil }
        return stored.rounds
    }

    /// What checking `encoded` costs, in rounds of PBKDF2-SHA256 (`DjangoPasswordHash.cost`); nil
    /// for a hash that is never checked (unusable, unknown, malformed, beyond the caps).
    public static func cost(of encoded: String) -> Int? {
        (try? DjangoPasswordHashes.decode(encoded))?.cost
    }

    /// The most rounds a stored hash may have and still be checked (about 20 s of a core).
    public static let maximumRounds = 100_000_000

    private func burn(_ password: String, rounds: Int) {
        if rounds > 0 { _ = PBKDF2Hash.derive(password, salt: "timing-equaliser", rounds: rounds) }
    }

    /// After a failed check in another algorithm that took `elapsed`, burns PBKDF2 for what is left
    /// of the time `cost` rounds take now. PBKDF2's speed is measured on the padding itself, an
    /// eighth at a time, so that a machine under load slows this side as it slows an unknown
    /// address's `verifyNothing`; a check that took longer than `cost` rounds gets one eighth (the
    /// ceiling covers such hashes: `StoredRoundsCeiling`).
    private func pad(_ password: String, after elapsed: Duration, upTo cost: Int) {
        let eighth = max(cost / 8, 1)
        var burnt = 0, burning = Duration.zero, remaining = cost
        while remaining > 0 {
            let rounds = min(eighth, remaining), started = ContinuousClock.now
            burn(password, rounds: rounds)
            burnt += rounds
            burning += started.duration(to: .now)
            // What the other algorithm's check was worth in rounds, at the speed measured so far.
            let worth = Self.seconds(elapsed) * Double(burnt) / max(Self.seconds(burning), 1e-9)
            remaining = cost - burnt - Int(min(worth, Double(cost)))
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
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
