import Foundation

#if canImport(Glibc)
import Glibc
#endif

public enum KeyRotationError: Error, CustomStringConvertible {
    case busy(directory: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .busy(let directory): return "\(directory): another rotate-key is running on these keys"
        case .cannotWrite(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// `rotate-key`: a new access-token signing key, of the same algorithm, in place of the current
/// one, whose public key (HS256: its secret) goes to `retired/` so the tokens it signed verify
/// until they expire (`RetiredKeys`); retired keys past their deadline are deleted. Workers read
/// key files when they start, so the new key signs once the master is reloaded (SIGHUP). The
/// refresh-token secret and the MFA key are not touched.
public enum KeyRotation {
    public struct Outcome: Sendable {
        public var newKid: String
        public var retiredKid: String
        /// Where the retired key is kept; nil when it was not kept (`keepRetired: false`).
        public var retiredFile: String?
        public var verifiesUntil: Int64?
        /// The `public.pem` beside the signing key, rewritten with the new public key.
        public var publicKey: String?
        /// Retired keys past their deadline, deleted.
        public var removed: [String]
        /// The old key's file was readable by other users (not only its owner and group): it may have been copied.
        public var oldKeyWasShared = false
    }

    /// `keepRetired: false` when the current key leaked: nothing it signed verifies after the reload.
    public static func rotate(_ tokens: TokenSettings, keepRetired: Bool = true,
                              now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> Outcome {
        let directory = URL(fileURLWithPath: tokens.signingKey).deletingLastPathComponent().path
        // Two rotations at once would each retire the same key and one new key would be lost.
        let lock = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0 else { throw KeyRotationError.cannotWrite(path: directory, reason: String(cString: strerror(errno))) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { throw KeyRotationError.busy(directory: directory) }

        // What the service would load now must load: a rotation does not repair a broken set, and
        // the reload after it would be refused.
        _ = try KeySet.load(tokens, now: now)
        // A symbolic link stays one: the file it names gets the new key.
        let signingKey = URL(fileURLWithPath: tokens.signingKey).resolvingSymlinksInPath().path
        let (current, verifier) = try KeySet.naming("tokens.signing_key") {
            try KeySet.loadSigningPair(algorithm: tokens.algorithm, path: signingKey)
        }
        // Whoever owns the key (the service's user, or root with the service's group reading it, as
        // `init` makes a site) keeps it, and its group keeps reading it if it did; others never read it.
        var keyFile = try KeyFile(like: signingKey)
        let shared = keyFile.mode & 0o007 != 0
        keyFile.mode = (keyFile.mode & 0o040) | 0o600
        let expired = try RetiredKeys.entries(tokens).filter { RetiredKeys.deadline(retiredAt: $0.retiredAt, tokens) <= now }

        // The old key's verifier first: from then on a worker that starts verifies what it signed.
        var outcome = Outcome(newKid: "", retiredKid: current.kid, removed: [], oldKeyWasShared: shared)
        if keepRetired {
            let retired = RetiredKeys.directory(beside: tokens.signingKey)
            try makeDirectory(retired, for: keyFile)
            let file = retired + "/" + RetiredKeys.fileName(kid: current.kid, retiredAt: now, algorithm: tokens.algorithm)
            try keyFile.write(verifier, to: file) { path in
                guard try KeySet.loadPublic(algorithm: tokens.algorithm, path: path).kid == current.kid else {
                    throw KeyRotationError.cannotWrite(path: path, reason: "does not hold the key it retires")
                }
            }
            KeyFile.flush(directory: retired)
            outcome.retiredFile = file
            outcome.verifiesUntil = RetiredKeys.deadline(retiredAt: now, tokens)
        }

        let (privatePEM, publicPEM) = try KeySet.generate(tokens.algorithm)
        try keyFile.write(privatePEM, to: signingKey) { path in
            outcome.newKid = try KeySet.loadPrivate(algorithm: tokens.algorithm, path: path).kid
        }
        // init's public.pem, for whoever distributes it, when it is the old key's.
        let companion = directory + "/public.pem"
        if let publicPEM, tokens.algorithm != .hs256,
           let text = try? String(contentsOfFile: companion, encoding: .utf8),
           text.trimmingCharacters(in: .whitespacesAndNewlines) == verifier.trimmingCharacters(in: .whitespacesAndNewlines) {
            try KeyFile(like: companion).write(publicPEM, to: companion)
            outcome.publicKey = companion
        }
        KeyFile.flush(directory: URL(fileURLWithPath: signingKey).deletingLastPathComponent().path)
        KeyFile.flush(directory: directory)

        for entry in expired where unlink(entry.path) == 0 { outcome.removed.append(entry.path) }
        return outcome
    }

    /// `retired/`, owned as the signing key is and open to its group when the key is: whoever reads
    /// that key lists this (0700, or 0750).
    private static func makeDirectory(_ path: String, for keyFile: KeyFile) throws {
        var info = stat()
        if stat(path, &info) == 0 { return }
        let mode: mode_t = keyFile.mode & 0o040 != 0 ? 0o750 : 0o700
        guard mkdir(path, 0o700) == 0 || errno == EEXIST, chown(path, keyFile.owner, keyFile.group) == 0, chmod(path, mode) == 0
        else { throw KeyRotationError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }
}
